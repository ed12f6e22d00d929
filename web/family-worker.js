// The Web Worker that trains an adversarial autoencoder or a hierarchical VAE for a widget's
// `aae` and `hvae` views, in its own instance of the widget's wasm module, so the page never waits
// on a step. Every message names its `type`; the protocol, both ways:
//
// page → worker
//   { type: "start", module: WebAssembly.Module, glue: string (the glue's URL), digits: Uint8Array
//     (decompressed digits.bin), kind: "aae" | "hvae", model: AaeOptions | HvaeOptions,
//     train: FamilyStepOptions }                     builds a fresh model and starts training
//   { type: "pause" } | { type: "resume", train?: FamilyStepOptions }   (resume may change lr)
//   { type: "save" }                                 asks for the weights as safetensors
//
// worker → page
//   { type: "started", trainDigits, stepsPerEpoch }
//   { type: "progress", steps, epoch, stats }        every ~250 ms: the mean of each figure of
//                                                     trainBatch's result over the steps since the
//                                                     last message (discriminatorWins: the share
//                                                     of those steps it held)
//   { type: "snapshot", steps, epoch, codes: Float32Array, scores, weights: Uint8Array }
//                                                     every ~2 s and at each epoch's end: the 1,000
//                                                     test digits' codes (the AAE's z; the HVAE's μ₂
//                                                     at μ₁), testScores() and the weights
//                                                     (safetensors), so the page shows this model
//   { type: "paused", reason: "asked" | "diverged", message? }   a diverging step was rolled back
//                                                     by the module and training waits for the
//                                                     person (a lower learning rate, then resume)
//   { type: "weights", bytes: Uint8Array }
//   { type: "failed", message, crashed: boolean }    crashed: the module panicked or trapped; this
//                                                     worker is done and the page starts another

const PROGRESS_MS = 250;
const SNAPSHOT_MS = 2000;

let wasm = null;
let model = null;
let train = {};
let test = null; // { pixels, count }
let running = false;
let loop = null;

const post = (message, transfer = []) => self.postMessage(message, transfer);

function fail(e) {
  const crashed = e instanceof WebAssembly.RuntimeError || Boolean(wasm?.panicked?.());
  const message = crashed && wasm?.panicked?.() ? wasm.panicMessage() : String(e?.message ?? e);
  running = false;
  post({ type: "failed", message, crashed });
}

/** Means of the numeric (and boolean: a share) fields of `results`. */
function means(results) {
  const out = {};
  for (const key of Object.keys(results[0])) {
    const values = results.map((r) => Number(r[key]));
    out[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

async function snapshot(last) {
  const codes = await (model.kind === "adversarial" ? model.codes(test.pixels, test.count) : model.topCodes(test.pixels, test.count));
  const scores = await model.testScores();
  const weights = await model.toSafetensors();
  post({ type: "snapshot", steps: model.steps, epoch: last.epoch + last.stepInEpoch / last.stepsPerEpoch, codes, scores, weights }, [codes.buffer, weights.buffer]);
}

async function run() {
  let pending = [];
  let lastProgress = performance.now();
  let lastSnapshot = lastProgress;
  while (running) {
    let result;
    try {
      result = await model.trainBatch(train);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || wasm.panicked()) return fail(e);
      // A rejected step was rolled back inside the module: the weights are the last sound ones.
      running = false;
      post({ type: "paused", reason: "diverged", message: String(e?.message ?? e) });
      return;
    }
    pending.push(result);
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_MS || !running) {
      post({ type: "progress", steps: model.steps, epoch: result.epoch + result.stepInEpoch / result.stepsPerEpoch, stats: means(pending) });
      pending = [];
      lastProgress = now;
    }
    if (now - lastSnapshot >= SNAPSHOT_MS || result.endsEpoch) {
      await snapshot(result);
      lastSnapshot = performance.now();
    }
    // Yield to the message queue so pause is heard between steps.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  if (pending.length) post({ type: "progress", steps: model.steps, epoch: null, stats: means(pending) });
}

function go() {
  if (running) return;
  running = true;
  loop = run().catch(fail);
}

async function start(message) {
  wasm = await import(message.glue);
  await wasm.default({ module_or_path: message.module });
  const cls = message.kind === "aae" ? wasm.Aae : wasm.Hvae;
  model = cls.create(message.model);
  const trainDigits = model.setTrainingDigits(message.digits, message.model?.seed ?? 1);
  const digits = wasm.testDigits(message.digits);
  test = { pixels: digits.pixels, count: digits.count };
  train = message.train ?? {};
  post({ type: "started", trainDigits, stepsPerEpoch: Math.ceil(trainDigits / (train.batchSize ?? 128)) });
  // The starting point, so the chart and the map begin at initialisation.
  await snapshot({ epoch: 0, stepInEpoch: 0, stepsPerEpoch: 1 });
  go();
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "start") await start(data);
    else if (data.type === "pause") {
      running = false;
      await loop;
      post({ type: "paused", reason: "asked" });
    } else if (data.type === "resume") {
      if (data.train) train = { ...train, ...data.train };
      go();
    } else if (data.type === "save") {
      const bytes = await model.toSafetensors();
      post({ type: "weights", bytes }, [bytes.buffer]);
    }
  } catch (e) {
    fail(e);
  }
};
