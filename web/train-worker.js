// Trains a VAE off the main thread, so drawing and walks stay smooth while it learns.
// It makes its own instance of the wasm module (from the WebAssembly.Module the page compiled, sent
// in the start message) and loads the digits, runs trainBatch in a loop that yields to
// its message queue after every step (so pause arrives at once), and posts progress, per-epoch
// test −ELBO and periodic snapshots: the weights plus what the page's map and bars need (test μ, the
// KL per dimension), computed here rather than on the page's thread.
//
// Backend: "cpu" loads the page's CPU build. "auto" and "webgpu" first ask navigator.gpu for an
// adapter (with a timeout); only if one answers is the much larger WebGPU build downloaded (with
// progress) and asked for a WebGPU model, which runs a self-check against the CPU. "auto" falls back
// to the CPU, saying why, and passes over a software adapter (SwiftShader). The GPUDevice is watched: if it is lost, the page is told at once and
// moves training to the CPU with the last weights it holds.
//
// Its protocol (training.js is its only user) is written in worker-protocol.js: requests carry an
// `id` that their answer ("ready", "created" or "failed") repeats.

import { probeWebGpu, withTimeout } from "./webgpu-probe.js";
import { alive, deadReason, isTrap, moduleDied, onDeath, trapText } from "./worker-traps.js";

const SNAPSHOT_MS = 2000; // how often the page's views refresh while training
const PROGRESS_MS = 250; // how often loss points are sent to the charts

let wasm = null;
let backendChoice = "auto";
let moduleReason = null; // why the CPU build was loaded although WebGPU was allowed
let gpuDevice = null;
let vae = null;
let digitsBytes = null;
let test = null;
let settings = null;
let running = false;
let stopRequested = false;
let generation = 0; // bumps when the model is replaced, so an old loop stops quietly

const post = (message, transfer = []) => postMessage(message, transfer);
const errorText = (e) => String(e?.message ?? e);

// A trap can leave a call's promise unsettled: every call the loop awaits is raced against the
// module's death (worker-traps.js), so the loop always ends and the page hears "crashed".
onDeath(() => (stopRequested = true));
let crashNext = null; // test hook: the next step crashes the module this way

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

const GPU_START_TIMEOUT_MS = 30000;

/** Keeps hold of the GPUDevice wgpu asks for, to hear when it is lost (and, for tests, to lose it). */
function watchDevices() {
  if (!self.GPUAdapter || GPUAdapter.prototype.requestDevice.watched) return;
  const original = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await original.apply(this, args);
    gpuDevice = device;
    device.lost.then((info) => {
      stopRequested = true;
      post({ type: "device-lost", message: info.message || "the GPU device was lost", reason: info.reason });
    });
    return device;
  };
  GPUAdapter.prototype.requestDevice.watched = true;
}

/** Fetches a wasm file, posting download progress, and returns it as a Response for streaming compile. */
async function fetchWasm(url, what) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    post({ type: "loading", what, loaded, total });
  }
  return new Response(new Blob(chunks), { headers: { "content-type": "application/wasm" } });
}

let cpuModule = null; // the page's compiled CPU build (a WebAssembly.Module), from the start message

/** The CPU build: the same glue and wasm file as the page's (so nothing is fetched twice), from the
 * module the page compiled when it sent one. */
async function loadCpuBuild() {
  const module = await import("./vae_playground.js");
  await module.default({ module_or_path: cpuModule ?? new URL("./vae_playground_bg.wasm", import.meta.url) });
  return module;
}

/** The module for `choice`, and why it is the CPU one if WebGPU was possible to ask for. */
async function loadBuild(choice) {
  if (choice === "cpu") return { module: await loadCpuBuild(), reason: null };
  let reason = await probeWebGpu(choice);
  if (!reason) {
    try {
      watchDevices();
      const module = await import("./gpu/vae-gpu.js");
      const bytes = await fetchWasm(new URL("./gpu/vae-gpu_bg.wasm", import.meta.url), "the WebGPU build");
      await module.default({ module_or_path: bytes });
      return { module, reason: null };
    } catch (e) {
      reason = `the WebGPU build could not be loaded (${errorText(e)})`;
    }
  }
  if (choice === "webgpu") throw new Error(`WebGPU is not available: ${reason}`);
  return { module: await loadCpuBuild(), reason };
}

async function start(choice) {
  backendChoice = choice;
  const loaded = await loadBuild(choice);
  wasm = loaded.module;
  moduleReason = loaded.reason;
  digitsBytes = await fetchDigits();
  test = wasm.testDigits(digitsBytes);
}

/** A model on the chosen backend; a WebGPU start that hangs falls back like one that fails. */
async function placed(make) {
  const model = await withTimeout(alive(make(backendChoice)), GPU_START_TIMEOUT_MS, `WebGPU did not start within ${GPU_START_TIMEOUT_MS / 1000} s`).catch(async (e) => {
    if (backendChoice !== "auto") throw e;
    const cpu = await alive(make("cpu"));
    cpu.timeoutReason = errorText(e);
    return cpu;
  });
  const reason = model.backend === "cpu" && backendChoice !== "cpu" ? (moduleReason ?? model.timeoutReason ?? model.fallbackReason) : null;
  post({ type: "backend", backend: model.backend, reason });
  return model;
}

function adopt(model) {
  generation++;
  vae?.free(); // safe with a call still pending: the module keeps the model until it settles
  vae = model;
  vae.setTrainingDigits(digitsBytes, settings.seed);
}

function modelOptions(s, backend) {
  return { latentDim: s.latent, hidden: s.hidden, kind: s.kind, likelihood: s.likelihood, sigmaX: s.sigmaX, seed: s.seed, backend };
}

/** What the page redraws from: the weights (its elements decode with them, place the test digits
 * on the map and score a drawing). */
async function snapshot(step, epoch) {
  const latent = vae.latentDim;
  const weights = await alive(vae.toSafetensors());
  if (vae.backend === "webgpu") await spotCheck(weights, step);
  const message = { type: "snapshot", step, epoch, latent, kind: vae.kind, likelihood: vae.likelihood, weights };
  post(message, [weights.buffer]);
}

const SPOT_CHECK_DIGITS = 100;
const SPOT_CHECK_TOLERANCE = 1e-3;

/** A GPU can compute wrong answers without an error (a kernel skipped, stale data read). Before a
 * snapshot leaves the worker, the z = μ scores of its first 100 test digits are recomputed on the CPU from
 * the snapshot's own weights; a disagreement stops GPU training, and the page goes on on the CPU
 * from the last snapshot that agreed. */
async function spotCheck(weights, step) {
  const n = Math.min(SPOT_CHECK_DIGITS, test.count);
  const labels = vae.kind === "conditional" ? test.labels.subarray(0, n) : undefined;
  const gpuScores = await alive(vae.scoreAtMean(test.pixels.subarray(0, n * 784), n, labels));
  const cpu = await alive(wasm.Vae.fromSafetensors(weights.slice(), { backend: "cpu" }));
  try {
    const scores = await alive(cpu.scoreAtMean(test.pixels.subarray(0, n * 784), n, labels));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(gpuScores[i] - scores[i]) / Math.max(Math.abs(scores[i]), 1e-3));
    if (!(worst <= SPOT_CHECK_TOLERANCE)) {
      throw new Error(`the GPU's answers disagreed with the CPU's at step ${step} (z = μ scores of ${n} test digits off by up to ${(100 * worst).toFixed(2)}%)`);
    }
  } finally {
    cpu.free();
  }
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
      if (crashNext) await alive(wasm.debugCrashLater(crashNext, 0));
      const r = await alive(vae.trainBatch({ lr: settings.lr, beta: settings.beta, batchSize: settings.batchSize, likelihood: settings.likelihood, learnSigmaX: settings.sigmaRule === "learned" }));
      stepsDone++;
      const step = vae.steps + (settings.stepOffset ?? 0);
      points.push([step, r.loss, r.recon, r.kl]);
      const now = performance.now();
      const stepsPerSecond = stepsDone / ((now - started) / 1000);
      if (r.endsEpoch) {
        epoch++;
        settings.epochsDone = epoch;
        const scores = await alive(vae.testScores());
        post({ type: "epoch", epoch, step, scores });
      }
      if (now - lastProgress > PROGRESS_MS || r.endsEpoch) {
        post({ type: "progress", points, epoch, stepInEpoch: r.endsEpoch ? 0 : r.stepInEpoch, stepsPerEpoch: r.stepsPerEpoch, stepsPerSecond, step, memory: wasm.memoryBytes(), sigmaX: r.sigmaX });
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
    if (isTrap(e)) moduleDied(trapText(e));
    if (deadReason() || wasm.panicked()) {
      reason = "crashed";
      message = (wasm.panicked() && wasm.panicMessage()) || deadReason() || message;
    } else if (vae?.backend === "webgpu" && reason !== "diverged") reason = "gpu-failed";
  }
  if (reason === "crashed") {
    // Nothing from a crashed module can be trusted: the page restarts on a fresh worker from the
    // last snapshot it holds.
    running = false;
    post({ type: "stopped", reason, message, epoch });
    return;
  }
  try {
    if (points.length) post({ type: "progress", points, epoch, step: vae.steps + (settings.stepOffset ?? 0), sigmaX: vae.likelihood === "gaussian" ? vae.sigmaX : null });
  } catch {
    // A crashed module cannot say its step count; the page keeps the points it has.
  }
  running = false;
  if (generation !== mine) return;
  if (reason !== "crashed" && reason !== "gpu-failed") {
    try {
      await snapshot(vae.steps + (settings.stepOffset ?? 0), epoch);
    } catch (e) {
      message ||= errorText(e);
    }
  }
  post({ type: "stopped", reason, message, epoch });
}

const handlers = {
  async create({ id, settings: s }) {
    settings = { ...s };
    adopt(await placed((backend) => wasm.Vae.create(modelOptions(s, backend))));
    post({ type: "created", id });
  },
  async load({ id, settings: s, weights }) {
    settings = { ...s };
    const bytes = new Uint8Array(weights);
    adopt(await placed((backend) => wasm.Vae.fromSafetensors(bytes, modelOptions(s, backend))));
    post({ type: "created", id });
  },
  /** Test hook: loses the GPU device as a driver reset would. */
  debugLoseDevice() {
    gpuDevice?.destroy();
  },
  /** Test hook: a fault in the WebGPU path (every GPU read 1% off) from now on. */
  debugGpuFault() {
    wasm.debugWebGpuFault?.(true);
  },
  /** Test hook: the next step crashes the module, by a panic or by a failed allocation. */
  debugCrash({ how }) {
    crashNext = how === "alloc" ? "alloc" : "panic";
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
    vae?.free();
    vae = null;
  },
};

let ready = null;
let startFailed = null; // why the start failed: every later request fails with it

onmessage = async ({ data }) => {
  if (data.type === "start") {
    cpuModule = data.module ?? null;
    ready = start(data.backend).then(
      () => post({ type: "ready", id: data.id }),
      (e) => {
        startFailed = errorText(e);
        post({ type: "failed", message: startFailed, id: data.id });
      },
    );
    return;
  }
  await ready;
  try {
    // After a failed start a request fails with its reason; a notice has nothing to act on.
    if (startFailed && data.id === undefined) return;
    if (startFailed) throw new Error(`the trainer did not start (${startFailed})`);
    if (!handlers[data.type]) throw new Error(`no such request or notice: ${data.type}`);
    await handlers[data.type](data);
  } catch (e) {
    post({ type: "failed", message: errorText(e), during: data.type, id: data.id });
  }
};
