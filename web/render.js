// Drawing 28×28 grey images onto canvases: dark ink on white, like the pad.

const SIDE = 28;
const scratch = document.createElement("canvas");
scratch.width = scratch.height = SIDE;
const scratchCtx = scratch.getContext("2d");

function toImageData(values, offset = 0) {
  const image = scratchCtx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const shade = 255 - Math.round(Math.min(1, Math.max(0, values[offset + i])) * 255);
    image.data.set([shade, shade, shade, 255], i * 4);
  }
  return image;
}

/** Draws one digit (784 values) to fill `canvas`, or into the cell (x, y, size) if given. */
export function drawDigit(canvas, values, offset = 0, cell = null) {
  const ctx = canvas.getContext("2d");
  scratchCtx.putImageData(toImageData(values, offset), 0, 0);
  ctx.imageSmoothingEnabled = false;
  const [x, y, w, h] = cell ?? [0, 0, canvas.width, canvas.height];
  ctx.drawImage(scratch, x, y, w, h);
}

/** Draws `count` digits (count × 784 values) as a square grid. */
export function drawGrid(canvas, values, count) {
  const perRow = Math.ceil(Math.sqrt(count));
  const size = canvas.width / perRow;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let k = 0; k < count; k++) {
    drawDigit(canvas, values, k * SIDE * SIDE, [(k % perRow) * size, Math.floor(k / perRow) * size, size, size]);
  }
}

/** Draws `count` digits side by side in one row. */
export function drawRow(canvas, values, count) {
  const size = canvas.width / count;
  clearCanvas(canvas);
  for (let k = 0; k < count; k++) drawDigit(canvas, values, k * SIDE * SIDE, [k * size, 0, size, canvas.height]);
}

export function clearCanvas(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}
