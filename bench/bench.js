// The benchmark page's harness (bench/index.html): runs one engine on one backend and hands the raw
// timings back to the driver (bench/run.mjs), which prints medians and ratios. Both engines get the
// same work: the 784-400-20 VAE at batch 128 on the shipped training digits, encode+decode of one
// test digit, and a 16-point decode (one walk frame); every figure includes reading the result back.
import { createTfjsVae } from "./tfjs-vae.js";

const LATENT = 20;
const HIDDEN = 400;
const BATCH = 128;

/** The shipped digits file ("VAED", u32 count, count×784 grey bytes, count labels). */
async function loadDigits() {
  const response = await fetch("../web/assets/digits.bin.gz");
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const count = new DataView(bytes.buffer).getUint32(4, true);
  const grey = (index) => Float32Array.from(bytes.subarray(8 + index * 784, 8 + (index + 1) * 784), (v) => v / 255);
  return { bytes, count, grey };
}

/** Times `calls` runs of `once` after `warm` untimed ones; milliseconds per call. */
async function time(once, calls, warm) {
  for (let i = 0; i < warm; i++) await once(i);
  const out = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await once(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Training throughput: samples/s of each of `steps` steps after `warm` (shader compilation, JIT). */
async function trainRates(step, steps, warm) {
  return (await time(step, steps, warm)).map((ms) => (BATCH * 1000) / ms);
}

/** Sixteen points from N(0, I), the size of one walk frame. */
function walkPoints() {
  const z = new Float32Array(16 * LATENT);
  for (let i = 0; i < z.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - Math.random()));
    z[i] = r * Math.cos(2 * Math.PI * Math.random());
    z[i + 1] = r * Math.sin(2 * Math.PI * Math.random());
  }
  return z;
}

async function runOurs(backend, { steps, calls }) {
  const wasm = backend === "webgpu" ? await import("../web/gpu/vae-gpu.js") : await import("../web/vae_playground.js");
  await wasm.default({ module_or_path: new URL(backend === "webgpu" ? "../web/gpu/vae-gpu_bg.wasm" : "../web/vae_playground_bg.wasm", import.meta.url) });
  const digits = await loadDigits();
  const vae = await wasm.Vae.create({ latentDim: LATENT, hidden: HIDDEN, seed: 1, backend });
  if (vae.backend !== backend) throw new Error(`asked for ${backend}, got ${vae.backend}: ${vae.fallbackReason}`);
  vae.setTrainingDigits(digits.bytes, 1); // the digits stay in wasm memory; each step picks a batch
  const options = { lr: 1e-3, batchSize: BATCH };
  const losses = [];
  const rates = await trainRates(async () => losses.push((await vae.trainBatch(options)).loss), steps, 3);
  const x = digits.grey(0); // index 0 is a test digit
  const codec = await time(async () => vae.decode((await vae.encode(x, 1)).mu, 1), calls, 20);
  const z = walkPoints();
  const walk = await time(() => vae.decode(z, 16), calls, 20);
  vae.free();
  const family = backend === "cpu" ? await familyRates(wasm, digits, steps) : null;
  return { engine: "ours", backend, rates, codec, walk, firstLoss: losses[0], lastLoss: losses.at(-1), family };
}

/** The VAE's relatives as the widgets train them (always on the CPU), with the shipped recipes'
 * sizes: steps/s of the adversarial autoencoder (784-400-2, ring prior, three updates a step) and
 * the hierarchical VAE (784-400-16-128-2), batch 128; and of the recurrent VAE (GRU 32, 8-D z) on
 * batches of 64 windows of 64 samples. */
async function familyRates(wasm, digits, steps) {
  const out = {};
  for (const [name, model] of [["aae", await wasm.Aae.create({ prior: "ring", seed: 1, backend: "cpu" })], ["hvae", await wasm.Hvae.create({ seed: 1, backend: "cpu" })]]) {
    model.setTrainingDigits(digits.bytes, 1);
    const ms = await time(() => model.trainBatch({ batchSize: BATCH }), steps, 3);
    out[name] = ms.map((t) => 1000 / t);
    model.free();
  }
  const series = new Uint8Array(await (await fetch("../web/assets/series.bin")).arrayBuffer());
  const vrae = await wasm.Vrae.create({ seed: 1, backend: "cpu" });
  vrae.setSeries(series, 1);
  out.vrae = (await time(() => vrae.trainBatch({ batchSize: 64 }), steps, 3)).map((t) => 1000 / t);
  vrae.free();
  return out;
}

async function runTfjs(backend, { steps, calls }) {
  const tf = window.tf;
  if (backend === "wasm") {
    // One thread, like our CPU build (and like tfjs-wasm on a page without cross-origin isolation).
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tf.wasm.setWasmPaths(new URL("../tfjs/tfjs-backend-wasm/dist/", import.meta.url).href);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs could not start its ${backend} backend`);
  await tf.ready();
  const flags = backend === "wasm" ? { simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), threads: false } : {};
  const digits = await loadDigits();
  const train = [];
  for (let i = 0; i < digits.count; i++) if (i % 10 !== 0) train.push(i);
  const pixels = new Float32Array(train.length * 784);
  train.forEach((index, row) => pixels.set(digits.grey(index), row * 784));
  const data = tf.tensor2d(pixels, [train.length, 784]); // the training set lives in the backend too
  const vae = createTfjsVae(tf, { hidden: HIDDEN, latent: LATENT, seed: 1 });

  // Shuffled batches without replacement, a new order each epoch, as vae-core's Batches does.
  let order = [];
  const nextBatch = () => {
    if (order.length < BATCH) {
      order = [...train.keys()];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return Int32Array.from(order.splice(0, BATCH));
  };
  const losses = [];
  const rates = await trainRates(async () => {
    const indices = tf.tensor1d(nextBatch(), "int32");
    losses.push(await vae.trainStep(data, indices));
    indices.dispose();
  }, steps, 3);
  const x = digits.grey(0);
  const codec = await time(async () => {
    const input = tf.tensor2d(x, [1, 784]);
    await vae.encodeDecode(input);
    input.dispose();
  }, calls, 20);
  const zValues = walkPoints();
  const walk = await time(async () => {
    const z = tf.tensor2d(zValues, [16, LATENT]);
    await vae.decode(z);
    z.dispose();
  }, calls, 20);
  data.dispose();
  return { engine: "tfjs", backend, rates, codec, walk, firstLoss: losses[0], lastLoss: losses.at(-1), flags };
}

window.bench = {
  crossOriginIsolated: window.crossOriginIsolated,
  /** engine "ours" (backend "cpu" | "webgpu") or "tfjs" (backend "wasm" | "webgpu"). */
  run(engine, backend, options) {
    return engine === "ours" ? runOurs(backend, options) : runTfjs(backend, options);
  },
};
document.body.dataset.ready = "true";
