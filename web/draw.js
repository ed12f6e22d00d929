// The drawing pad: pointer events (mouse, touch, pen) draw round strokes; the ink is read back as
// grey values (the canvas alpha) for the model. Knows nothing about the model.

export class DrawingPad {
  constructor(canvas, { lineWidth = 26, onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.lineWidth = lineWidth;
    this.onChange = onChange;
    this.drawing = false;
    this.last = null;
    this.inked = false;
    this.readSize = Math.round(canvas.width / 2);
    canvas.addEventListener("pointerdown", (e) => this.#down(e));
    canvas.addEventListener("pointermove", (e) => this.#move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, () => this.#up());
    }
  }

  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  #down(e) {
    if (e.button !== undefined && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.drawing = true;
    this.last = this.#point(e);
    this.#segment(this.last, this.last);
  }

  #move(e) {
    if (!this.drawing) return;
    e.preventDefault();
    const events = e.getCoalescedEvents?.() ?? [e];
    for (const ev of events.length ? events : [e]) {
      const p = this.#point(ev);
      this.#segment(this.last, p);
      this.last = p;
    }
  }

  #up() {
    this.drawing = false;
    this.last = null;
  }

  #segment(a, b) {
    const { ctx } = this;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    this.inked = true;
    this.onChange();
  }

  /** Replaces the ink with a 28×28 grey digit (784 values in [0, 1], offset `offset`), scaled up. */
  setImage(values, offset = 0) {
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const sctx = small.getContext("2d");
    const image = sctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) image.data.set([0, 0, 0, Math.round(255 * Math.min(1, Math.max(0, values[offset + i])))], i * 4);
    sctx.putImageData(image, 0, 0);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.imageSmoothingEnabled = true;
    this.ctx.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
    this.inked = true;
    this.onChange();
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.onChange();
  }

  isEmpty() {
    return !this.inked;
  }

  /**
   * The ink as RGBA bytes (alpha = ink) of a `readSize`² copy of the pad: halving the side first
   * quarters what is read back and preprocessed, and the digit ends up 20 pixels tall anyway.
   */
  rgba() {
    if (!this.small) {
      this.small = document.createElement("canvas");
      this.small.width = this.small.height = this.readSize;
      this.smallCtx = this.small.getContext("2d", { willReadFrequently: true });
    }
    const ctx = this.smallCtx;
    ctx.clearRect(0, 0, this.readSize, this.readSize);
    ctx.drawImage(this.canvas, 0, 0, this.readSize, this.readSize);
    return ctx.getImageData(0, 0, this.readSize, this.readSize).data;
  }
}
