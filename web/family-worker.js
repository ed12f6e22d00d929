// The Web Worker that trains a VAE (or a plain autoencoder, or a conditional VAE), an adversarial
// autoencoder, a hierarchical VAE or a recurrent VAE for a widget's `train`, `aae`, `hvae` and
// `vrae` views, in its own instance of the widget's wasm module, so the page never waits on a step.
// Its protocol is written in worker-protocol.js: the start, pause and save requests carry an `id`
// that their answer repeats, and a request that fails is answered with a "failed" of that `id`.

import { alive, deadReason, isTrap, moduleDied, trapText } from "./worker-traps.js";

const PROGRESS_MS = 250;
const SNAPSHOT_MS = 2000;

let wasm = null;
let model = null;
let train = {};
let test = null; // { pixels, count }
let running = false;
let loop = null;
let last = null; // the newest trainBatch result (its epoch and place in it)
let base = 0; // steps taken before this worker (a run gone on from a snapshot)…
let epochBase = 0; // …and epochs
let started = false;
let epochs = null; // the run pauses, finished, once this many epochs are done (null: never)
let crashNext = null; // test hook: the next step crashes the module this way ("panic" | "alloc")
const steps = () => base + model.steps;
/** Epochs done after the step `r` (fractional): its epoch's finished share counts. */
const epochsAfter = (r) => epochBase + r.epoch + (r.endsEpoch ? 0 : r.stepInEpoch / r.stepsPerEpoch);
const finished = () => epochs !== null && last !== null && epochsAfter(last) >= epochs - 1e-9;

const post = (message, transfer = []) => self.postMessage(message, transfer);

/** Whether `e` (or what came before it) is the module's crash: a trap, a panic. */
function crashedBy(e) {
  if (isTrap(e)) moduleDied(trapText(e));
  return Boolean(deadReason()) || Boolean(wasm?.panicked?.());
}

/** Ends the run: the module crashed, the start failed, or a step failed other than by diverging.
 * `id`: the request this answers, if a request failed. */
function fail(e, id) {
  const crashed = crashedBy(e);
  const message = crashed ? (wasm?.panicked?.() && wasm.panicMessage()) || deadReason() : String(e?.message ?? e);
  running = false;
  post({ type: "failed", message, crashed, started, id });
}

/** Means of the numeric (and boolean: a share) fields of `results`. */
function means(results) {
  const out = {};
  for (const key of Object.keys(results[0])) {
    if (NEWEST.has(key)) {
      out[key] = results.at(-1)[key];
      continue;
    }
    const values = results.map((r) => Number(r[key]));
    out[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}
/** Figures that are a state, not a step's measurement: the newest is sent (σₓ after the step; null
 * for a Bernoulli model). */
const NEWEST = new Set(["sigmaX"]);

/** Held-out windows of the series are scored this many samples apart while training. */
const SERIES_STRIDE = 16;

async function seriesSnapshot(last) {
  const a = await model.analyse(SERIES_STRIDE);
  const { starts, scores: windowScores, anomalous, reconstruction, ...scores } = a;
  const weights = await model.toSafetensors();
  const analysis = { starts, scores: windowScores, anomalous, reconstruction };
  post({ type: "snapshot", steps: steps(), epoch: epochsAfter(last), codes: null, scores, analysis, weights },
    [starts.buffer, windowScores.buffer, anomalous.buffer, reconstruction.buffer, weights.buffer]);
}

/** The test digits' codes of the model being trained, as its view maps them. */
async function testCodes() {
  if (model.kind === "adversarial") return model.codes(test.pixels, test.count);
  if (model.kind === "hierarchical") return model.topCodes(test.pixels, test.count);
  const labels = model.kind === "conditional" ? test.labels : undefined;
  return (await model.reconstruct(test.pixels, test.count, labels)).mu;
}

/** `epochEnd`: taken because the step `last` ended an epoch (the per-epoch test figures). */
async function snapshot(last, epochEnd = false) {
  if (model.kind === "recurrent") return seriesSnapshot(last);
  const codes = await testCodes();
  const scores = await model.testScores();
  const weights = await model.toSafetensors();
  if (model.backend === "webgpu" && model.scoreAtMean) await spotCheck(weights);
  post({ type: "snapshot", steps: steps(), epoch: epochsAfter(last), epochEnd, codes, scores, weights }, [codes.buffer, weights.buffer]);
}

const SPOT_CHECK_DIGITS = 100;
const SPOT_CHECK_TOLERANCE = 1e-3;

/** A GPU can answer wrongly without an error (a kernel skipped, stale data read). Before a VAE's
 * snapshot leaves the worker, the z = μ scores of the first 100 test digits are recomputed on the
 * CPU from the snapshot's own weights; a disagreement ends this worker's run (the panel goes on on
 * the CPU from the last snapshot, which agreed). */
async function spotCheck(weights) {
  const n = Math.min(SPOT_CHECK_DIGITS, test.count);
  const pixels = test.pixels.subarray(0, n * 784);
  const labels = model.kind === "conditional" ? test.labels.subarray(0, n) : undefined;
  const gpu = await model.scoreAtMean(pixels, n, labels);
  const cpu = await wasm.Vae.fromSafetensors(weights.slice(), { backend: "cpu" });
  try {
    const scores = await cpu.scoreAtMean(pixels, n, labels);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(gpu[i] - scores[i]) / Math.max(Math.abs(scores[i]), 1e-3));
    if (!(worst <= SPOT_CHECK_TOLERANCE)) {
      throw new Error(`the GPU's answers disagreed with the CPU's at step ${steps()} (z = μ scores of ${n} test digits off by up to ${(100 * worst).toFixed(2)}%)`);
    }
  } finally {
    cpu.free();
  }
}

async function run() {
  let pending = [];
  let lastProgress = performance.now();
  let lastSnapshot = lastProgress;
  // The pace since this run (or its resume) began, snapshots included: what the time left is.
  const began = lastProgress;
  const stepsBefore = model.steps;
  const pace = (r) => ({ stepsPerSecond: (model.steps - stepsBefore) / Math.max((performance.now() - began) / 1000, 1e-3), stepsPerEpoch: r.stepsPerEpoch });
  while (running) {
    if (finished()) {
      // The epochs asked for are done. The epoch's last step, the start, or the pause before a
      // resume has just sent the weights where it stops.
      running = false;
      if (pending.length) post({ type: "progress", steps: steps(), epoch: epochsAfter(last), stats: means(pending), ...pace(last) });
      post({ type: "paused", reason: "finished", epochs });
      return;
    }
    let result;
    try {
      if (crashNext) await alive(wasm.debugCrashLater(crashNext, 0));
      result = await alive(model.trainBatch(train));
    } catch (e) {
      if (crashedBy(e)) return fail(e);
      // Anything but a refused step (a lost GPU device, say) ends this worker's run.
      if (!/training diverged/.test(String(e?.message ?? e))) return fail(e);
      // A rejected step was rolled back inside the module: the weights are the last sound ones.
      running = false;
      post({ type: "paused", reason: "diverged", message: String(e?.message ?? e) });
      return;
    }
    pending.push(result);
    last = result;
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_MS || !running) {
      post({ type: "progress", steps: steps(), epoch: epochsAfter(result), stats: means(pending), ...pace(result) });
      pending = [];
      lastProgress = now;
    }
    if (now - lastSnapshot >= SNAPSHOT_MS || result.endsEpoch) {
      await alive(snapshot(result, Boolean(result.endsEpoch)));
      lastSnapshot = performance.now();
    }
    // Yield to the message queue so pause is heard between steps.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  if (pending.length) post({ type: "progress", steps: steps(), epoch: null, stats: means(pending) });
}

function go() {
  if (running) return;
  running = true;
  loop = run().catch(fail);
}

/** The module: the page's compiled CPU build, or the WebGPU build fetched here. */
async function instantiate(message) {
  if (message.backend !== "webgpu") {
    wasm = await import(message.glue);
    await wasm.default({ module_or_path: message.module });
    return;
  }
  try {
    wasm = await import(message.gpu.glue);
    await wasm.default({ module_or_path: message.gpu.wasm });
  } catch (e) {
    throw new Error(`the WebGPU build could not be loaded from this folder (${e?.message ?? e})`);
  }
}

/** Answers the start request `message` once the model trains. */
async function start(message) {
  const id = message.id;
  await instantiate(message);
  const cls = { vae: wasm.Vae, aae: wasm.Aae, hvae: wasm.Hvae, vrae: wasm.Vrae }[message.kind];
  const options = { ...message.model, backend: message.backend === "webgpu" ? "webgpu" : "cpu" };
  model = await (message.weights ? cls.fromSafetensors(message.weights, options) : cls.create(options));
  base = message.steps ?? 0;
  epochBase = message.epoch ?? 0;
  train = message.train ?? {};
  epochs = message.epochs ?? null;
  // Where the run starts: epochs done so far (a snapshot's, going on), for the limit.
  last = { epoch: 0, stepInEpoch: 0, stepsPerEpoch: 1, endsEpoch: true };
  const seed = message.model?.seed ?? 1;
  if (message.kind === "vrae") {
    const { trainWindows, window } = model.setSeries(message.data, seed);
    post({ type: "started", id, examples: trainWindows, what: `windows of ${window} samples`, stepsPerEpoch: Math.ceil(trainWindows / (train.batchSize ?? 64)), backend: model.backend });
  } else {
    const trainDigits = model.setTrainingDigits(message.data, seed);
    const digits = wasm.testDigits(message.data);
    test = { pixels: digits.pixels, count: digits.count, labels: digits.labels };
    post({ type: "started", id, examples: trainDigits, what: "digits", stepsPerEpoch: Math.ceil(trainDigits / (train.batchSize ?? 128)), backend: model.backend });
  }
  // The starting point (initialisation, or the snapshot gone on from), so the chart and the map
  // begin there.
  await snapshot(last);
  started = true;
  go();
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "start") await start(data);
    else if (data.type === "pause") {
      running = false;
      await loop;
      // The weights where it stopped, so the view (and a kept run) shows every step taken.
      if (last && model) await alive(snapshot(last));
      post({ type: "paused", reason: "asked", id: data.id });
    } else if (data.type === "settings") {
      train = { ...train, ...data.train };
      if (data.epochs !== undefined) epochs = data.epochs;
    } else if (data.type === "resume") {
      if (data.train) train = { ...train, ...data.train };
      if (data.epochs !== undefined) epochs = data.epochs;
      go();
    } else if (data.type === "debugCrash") {
      crashNext = data.how === "alloc" ? "alloc" : "panic";
    } else if (data.type === "debugGpuFault") {
      wasm.debugWebGpuFault?.(true);
    } else if (data.type === "save") {
      if (!model) throw new Error("no model to save yet: the run has not started");
      const bytes = await model.toSafetensors();
      post({ type: "weights", bytes, id: data.id }, [bytes.buffer]);
    } else throw new Error(`no such request or notice: ${data.type}`);
  } catch (e) {
    // A save that fails says so and leaves the run going; anything else that fails ends it.
    if (data.type === "save" && !crashedBy(e)) post({ type: "failed", message: String(e?.message ?? e), crashed: false, started, id: data.id });
    else fail(e, data.id);
  }
};
