// Trains a VAE off the main thread, so drawing and walks stay smooth while it learns.
// It loads its own copy of the wasm module and the digits, runs trainBatch in a loop that yields to
// its message queue after every step (so pause arrives at once), and posts progress, per-epoch
// test −ELBO and periodic snapshots: the weights plus everything the page needs to redraw its views
// (test μ, manifold, prior samples), computed here rather than on the page's thread.

import init, * as wasm from "../vae-wasm.js";

const SNAPSHOT_MS = 2000; // how often the page's views refresh while training
const PROGRESS_MS = 250; // how often loss points are sent to the charts
const SAMPLE_COUNT = 16;
const SAMPLE_SEED = 99; // the same prior points every snapshot, so the change is the model's
const MANIFOLD_SIDE = 15;

let vae = null;
let digitsBytes = null;
let test = null;
let settings = null;
let running = false;
let stopRequested = false;
let generation = 0; // bumps when the model is replaced, so an old loop stops quietly

const post = (message, transfer = []) => postMessage(message, transfer);
const errorText = (e) => String(e?.message ?? e);

/** Lets queued messages (pause, new settings) in between steps. */
const yieldToMessages = () => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = resolve;
  channel.port2.postMessage(null);
});

async function fetchDigits() {
  const response = await fetch(new URL("./assets/digits.bin.gz", import.meta.url));
  if (!response.ok) throw new Error(`digits: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function start() {
  await init({ module_or_path: new URL("../vae-wasm_bg.wasm", import.meta.url) });
  digitsBytes = await fetchDigits();
  test = wasm.testDigits(digitsBytes);
  post({ type: "ready" });
}

function adopt(model) {
  generation++;
  vae = model;
  vae.setTrainingDigits(digitsBytes, settings.seed);
}

function modelOptions(s) {
  return { latentDim: s.latent, hidden: s.hidden, kind: s.kind, likelihood: s.likelihood, seed: s.seed, backend: "cpu" };
}

/** Everything the page redraws from: weights, test μ / log σ² / −ELBO, manifold, prior samples. */
async function snapshot(step, epoch) {
  const labels = vae.kind === "conditional" ? test.labels : undefined;
  const stats = await vae.reconstruct(test.pixels, test.count, labels);
  const latent = vae.latentDim;
  const z = wasm.standardNormal(SAMPLE_COUNT * latent, SAMPLE_SEED);
  const sampleLabels = vae.kind === "conditional" ? Uint8Array.from({ length: SAMPLE_COUNT }, (_, k) => k % 10) : undefined;
  const samples = await vae.decode(z, SAMPLE_COUNT, sampleLabels);
  const manifold = latent === 2 && vae.kind !== "conditional" ? await vae.manifold(MANIFOLD_SIDE) : null;
  const kl = stats.logvar ? wasm.klPerDimension(stats.mu, stats.logvar, test.count, latent) : null;
  const weights = await vae.toSafetensors();
  const message = {
    type: "snapshot", step, epoch, latent, kind: vae.kind, likelihood: vae.likelihood,
    weights, mu: stats.mu, logvar: stats.logvar, negElbo: stats.negElbo, labels: test.labels,
    samples, manifold, kl,
  };
  post(message, [weights.buffer]);
}

async function run() {
  if (running || !vae) return;
  running = true;
  stopRequested = false;
  const mine = generation;
  const started = performance.now();
  let stepsDone = 0;
  let points = [];
  let lastProgress = 0;
  let lastSnapshot = performance.now();
  let epoch = settings.epochsDone ?? 0;
  let reason = "paused";
  let message = "";
  post({ type: "running" });
  try {
    while (!stopRequested && generation === mine) {
      if (epoch >= settings.epochs) {
        reason = "finished";
        break;
      }
      const r = await vae.trainBatch({ lr: settings.lr, beta: settings.beta, batchSize: settings.batchSize, likelihood: settings.likelihood });
      stepsDone++;
      const step = vae.steps + (settings.stepOffset ?? 0);
      points.push([step, r.loss, r.recon, r.kl]);
      const now = performance.now();
      const stepsPerSecond = stepsDone / ((now - started) / 1000);
      if (r.endsEpoch) {
        epoch++;
        settings.epochsDone = epoch;
        const elbo = await vae.testElbo();
        post({ type: "epoch", epoch, step, elbo });
      }
      if (now - lastProgress > PROGRESS_MS || r.endsEpoch) {
        post({ type: "progress", points, epoch, stepInEpoch: r.endsEpoch ? 0 : r.stepInEpoch, stepsPerEpoch: r.stepsPerEpoch, stepsPerSecond, step });
        points = [];
        lastProgress = now;
      }
      if (now - lastSnapshot > SNAPSHOT_MS || r.endsEpoch) {
        await snapshot(step, epoch);
        lastSnapshot = performance.now();
      }
      await yieldToMessages();
    }
  } catch (e) {
    reason = /diverged/.test(errorText(e)) ? "diverged" : "error";
    message = errorText(e);
    if (wasm.panicked()) reason = "crashed";
  }
  if (points.length) post({ type: "progress", points, epoch, step: vae.steps + (settings.stepOffset ?? 0) });
  running = false;
  if (generation !== mine) return;
  if (reason !== "crashed") {
    try {
      await snapshot(vae.steps + (settings.stepOffset ?? 0), epoch);
    } catch (e) {
      message ||= errorText(e);
    }
  }
  post({ type: "stopped", reason, message, epoch });
}

const handlers = {
  async create({ settings: s }) {
    settings = { ...s };
    adopt(await wasm.Vae.create(modelOptions(s)));
    post({ type: "created" });
  },
  async load({ settings: s, weights }) {
    settings = { ...s };
    adopt(await wasm.Vae.fromSafetensors(new Uint8Array(weights), modelOptions(s)));
    post({ type: "created" });
  },
  settings({ settings: s }) {
    if (settings) Object.assign(settings, s);
  },
  run,
  pause() {
    stopRequested = true;
  },
  reset() {
    stopRequested = true;
    generation++;
    vae = null;
  },
};

const ready = start().catch((e) => post({ type: "failed", message: errorText(e) }));

onmessage = async ({ data }) => {
  await ready;
  try {
    await handlers[data.type]?.(data);
  } catch (e) {
    post({ type: "failed", message: errorText(e), during: data.type });
  }
};
