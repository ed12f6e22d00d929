// The playground page: loads the wasm module and the shipped weights, then wires the drawing pad,
// the reconstruction, the latent map and the sampler. All math happens in the wasm module.

import { DrawingPad } from "./draw.js";
import { clearCanvas, drawDigit, drawGrid, drawRow } from "./render.js";
import { LatentMap, PALETTE } from "./latent-map.js";

const $ = (id) => document.getElementById(id);
const SAMPLE_COUNT = 16;
const DRAW_COUNT = 8;
const MANIFOLD_SIDE = 15;
const DRAW_SEED = 7; // the same drawing always shows the same draws

// What tests and benchmarks read; also handy in the console.
const playground = (window.vaePlayground = { readyMs: null, error: null, updates: 0 });

// ---- errors: one clear panel, never a silent dead page ----------------------------------------

let wasm = null;

function showError(message) {
  let text = String(message ?? "Unknown error");
  if (wasm?.panicked?.()) text = `The model crashed and must be reloaded: ${wasm.panicMessage() ?? text}`;
  playground.error = text;
  $("error-message").textContent = text;
  $("error-panel").hidden = false;
  $("status").textContent = "Stopped by an error (see above).";
  document.body.dataset.state = "error";
}

addEventListener("error", (e) => showError(e.error?.message ?? e.message));
addEventListener("unhandledrejection", (e) => showError(e.reason?.message ?? e.reason));
$("reload").addEventListener("click", () => location.reload());

/** Runs `work`; if the module has panicked (now or before) the panel shows, since nothing it
 * returns can be trusted after that; any other failure becomes a status message. */
async function guard(work, what) {
  try {
    if (wasm?.panicked?.()) throw new Error("the module crashed earlier");
    const result = await work();
    if (wasm?.panicked?.()) throw new Error("the module crashed");
    return result;
  } catch (e) {
    if (wasm?.panicked?.()) showError(e?.message ?? e);
    else $("status").textContent = `Could not ${what}: ${e?.message ?? e}`;
    return undefined;
  }
}

// ---- loading ----------------------------------------------------------------------------------

/** The wasm-bindgen module, once Trunk's loader has initialised it. */
function loadBindings(timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const failed = (reason) => reject(new Error(`the WebAssembly module failed to load: ${reason?.message ?? reason}`));
    if (window.vaeLoadError) return failed(window.vaeLoadError);
    addEventListener("vae-load-failed", (e) => failed(e.detail), { once: true });
    if (window.wasmBindings) return resolve(window.wasmBindings);
    addEventListener(
      "TrunkApplicationStarted",
      () => (window.vaeLoadError ? failed(window.vaeLoadError) : resolve(window.wasmBindings)),
      { once: true },
    );
    setTimeout(() => reject(new Error(`the WebAssembly module did not load within ${timeoutMs / 1000} s`)), timeoutMs);
  });
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The packed digits; gunzipped here unless the server already did. */
async function fetchDigits() {
  const bytes = await fetchBytes("web/assets/digits.bin.gz");
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const models = new Map(); // latent size → Vae
async function model(latent) {
  if (!models.has(latent)) {
    const bytes = await fetchBytes(`web/assets/vae-latent${latent}.safetensors`);
    models.set(latent, await wasm.Vae.fromSafetensors(bytes, { backend: "cpu" }));
  }
  return models.get(latent);
}

// ---- state and views --------------------------------------------------------------------------

const state = { vae: null, latent: 2, testDigits: null, stats: new Map(), sampleSeed: 1 };
const map = new LatentMap($("map"), { onPick: (z) => decodePicked(z) });
const pad = new DrawingPad($("pad"), { onChange: scheduleUpdate });
playground.pad = pad;

for (const [digit, colour] of PALETTE.entries()) {
  const item = document.createElement("li");
  item.textContent = digit;
  item.style.setProperty("--swatch", colour);
  $("legend").append(item);
}

const fmt = (values) => `(${Array.from(values.slice(0, 4), (v) => v.toFixed(2)).join(", ")}${values.length > 4 ? ", …" : ""})`;

let busy = false;
let pending = false;
function scheduleUpdate() {
  pending = true;
  if (!busy) requestAnimationFrame(update);
}

/** Drawing → 28×28 input → encode → decode, at most once per frame; the newest stroke wins. */
async function update() {
  if (busy || !pending || !state.vae) return;
  busy = true;
  pending = false;
  await guard(async () => {
    const x = wasm.rgbaToMnist(pad.rgba(), pad.readSize, pad.readSize);
    drawDigit($("input28"), x);
    if (pad.isEmpty()) {
      clearCanvas($("recon"));
      clearCanvas($("draws"));
      for (const id of ["mu-text", "sigma-text", "elbo-text"]) $(id).textContent = "—";
      map.setProbe(null);
      return;
    }
    const vae = state.vae;
    const { mu, logvar, sigma, recon, negElbo } = await vae.reconstruct(x, 1);
    const elbo = negElbo[0];
    drawDigit($("recon"), recon);
    $("mu-text").textContent = fmt(mu);
    $("sigma-text").textContent = sigma ? fmt(sigma) : "— (no variance)";
    const stats = state.stats.get(vae);
    $("elbo-text").textContent = stats
      ? `${elbo.toFixed(1)} nats — more unusual than ${unusualness(elbo, stats.sortedElbo)}% of the test digits`
      : `${elbo.toFixed(1)} nats`;
    playground.updates++;
    // After the reconstruction is on screen: a few draws from q(z|x).
    const draws = await vae.posteriorDraws(mu, logvar, DRAW_COUNT, DRAW_SEED);
    drawRow($("draws"), draws.images, DRAW_COUNT);
    if (vae.latentDim === 2) map.setProbe(mu, sigma, draws.z);
  }, "reconstruct the drawing");
  busy = false;
  if (pending) requestAnimationFrame(update);
}

async function sample() {
  await guard(async () => {
    const vae = state.vae;
    const z = wasm.standardNormal(SAMPLE_COUNT * vae.latentDim, state.sampleSeed++);
    state.samples = z;
    drawGrid($("samples"), await vae.decode(z, SAMPLE_COUNT), SAMPLE_COUNT);
  }, "sample");
}

async function loadTestDigits() {
  state.testDigits ??= wasm.testDigits(await fetchDigits());
  return state.testDigits;
}

/** Once per model: the test digits' μ (for the map) and their sorted −ELBO (for the anomaly score). */
async function testStats(vae) {
  if (!state.stats.has(vae)) {
    const { pixels, count, labels } = await loadTestDigits();
    const { mu, negElbo } = await vae.reconstruct(pixels, count);
    state.stats.set(vae, { mu, labels, sortedElbo: Float32Array.from(negElbo).sort() });
  }
  return state.stats.get(vae);
}

/** "More unusual than p% of the test digits": the share of test digits with a lower −ELBO. */
function unusualness(elbo, sortedElbo) {
  let [lo, hi] = [0, sortedElbo.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedElbo[mid] < elbo) lo = mid + 1;
    else hi = mid;
  }
  return Math.round((100 * lo) / sortedElbo.length);
}

async function refreshMap() {
  const vae = state.vae;
  const flat = vae.latentDim === 2;
  map.setMessage(flat ? (state.testDigits ? null : "Loading the test digits…") : "The map needs a 2-D latent space.\nSwitch to the latent-2 model to see it.");
  $("map-note").textContent = flat
    ? "The 1,000 test digits, each at its μ. Your drawing is the ring, with its 2σ ellipse. Click or drag on the map to decode any point."
    : "Latent 20 cannot be drawn flat; the latent-2 model can.";
  const { mu, labels } = await testStats(vae);
  if (state.vae !== vae) return;
  if (flat) {
    map.setMessage(null);
    map.setPoints(mu, labels);
    document.body.dataset.map = "ready";
  }
  document.body.dataset.stats = "ready";
  scheduleUpdate(); // the anomaly score can now be ranked
}

/** Decodes the latent point picked on the map into the reconstruction view. */
async function decodePicked(z) {
  await guard(async () => {
    const vae = state.vae;
    if (vae.latentDim !== 2) return;
    const image = await vae.decode(Float32Array.from(z), 1);
    drawDigit($("recon"), image);
    clearCanvas($("draws"));
    map.setProbe(z, null);
    $("mu-text").textContent = `${fmt(z)} picked on the map`;
    $("sigma-text").textContent = "—";
    $("elbo-text").textContent = "—";
    document.body.dataset.picked = z.map((v) => v.toFixed(2)).join(",");
  }, "decode the picked point");
}

/** The decoded grid over a 2-D latent plane; latent 20 has no plane to show. */
async function refreshManifold() {
  await guard(async () => {
    const vae = state.vae;
    const flat = vae.latentDim === 2;
    $("manifold-note").textContent = flat
      ? "A grid over the latent plane, spaced by the prior's quantiles, decoded (Kingma & Welling's figure)."
      : "Only a 2-D latent space can be laid out as a grid: switch to the latent-2 model.";
    if (!flat) return clearCanvas($("manifold"));
    drawGrid($("manifold"), await vae.manifold(MANIFOLD_SIDE), MANIFOLD_SIDE * MANIFOLD_SIDE);
  }, "draw the manifold");
}

// ---- the latent walk ----------------------------------------------------------------------------

const walk = { playing: false, path: null, last: 0, speed: 1, busy: false };
playground.walkFrames = []; // ms per frame: advance + decode + draw

/** A fresh walk of the chosen path for the current model, its first frame drawn. */
async function newWalk() {
  const latent = state.vae.latentDim;
  const kind = $("walk-path").value;
  walk.path?.free();
  const from = state.samples?.slice(0, latent);
  const to = state.samples?.slice(latent, 2 * latent);
  walk.path = new wasm.LatentWalk(kind, latent, state.sampleSeed, from, to);
  drawDigit($("walk"), await state.vae.decode(walk.path.z, 1));
}

async function walkFrame(now) {
  if (!walk.playing) return;
  if (!walk.busy) {
    walk.busy = true;
    const seconds = walk.last ? Math.min(0.25, (now - walk.last) / 1000) : 0;
    walk.last = now;
    await guard(async () => {
      const start = performance.now();
      const z = walk.path.advance(seconds, walk.speed);
      drawDigit($("walk"), await state.vae.decode(z, 1));
      playground.walkFrames.push(performance.now() - start);
      if (state.vae.latentDim === 2) map.setWalker(z);
    }, "walk");
    walk.busy = false;
  }
  requestAnimationFrame(walkFrame);
}

function setPlaying(playing) {
  walk.playing = playing;
  $("walk-play").textContent = playing ? "Pause" : "Play";
  $("walk-play").setAttribute("aria-pressed", String(playing));
  if (playing) {
    walk.last = 0;
    requestAnimationFrame(walkFrame);
  }
}

async function switchModel(latent) {
  $("status").textContent = `Loading the latent-${latent} model…`;
  await guard(async () => {
    state.vae = await model(latent);
    state.latent = latent;
    map.setWalker(null);
    $("status").textContent = readyText();
    map.setProbe(null);
    scheduleUpdate();
    await sample();
    await newWalk();
    await refreshManifold();
    await refreshMap();
  }, `load the latent-${latent} model`);
}

function readyText() {
  return `Ready — latent-${state.vae.latentDim} VAE running on the ${state.vae.backend.toUpperCase()} (WebAssembly). Draw a digit.`;
}

async function main() {
  wasm = await loadBindings();
  playground.wasm = wasm;
  state.vae = await model(2);
  $("status").textContent = readyText();
  document.body.dataset.ready = "true";
  playground.readyMs = performance.now();
  playground.state = state;

  $("clear").addEventListener("click", () => pad.clear());
  $("sample").addEventListener("click", sample);
  $("model-select").addEventListener("change", (e) => switchModel(Number(e.target.value)));
  $("walk-play").addEventListener("click", () => setPlaying(!walk.playing));
  $("walk-path").addEventListener("change", () => guard(newWalk, "change the walk"));
  $("walk-speed").addEventListener("input", (e) => {
    walk.speed = Number(e.target.value);
    $("walk-speed-value").textContent = `${walk.speed}×`;
  });
  clearCanvas($("recon"));
  await sample();
  await guard(newWalk, "start the walk");
  await refreshManifold();
  await refreshMap();
}

main().catch((e) => showError(e?.message ?? e));
