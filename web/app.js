// The playground page: loads the wasm module and the shipped weights, then wires the drawing pad,
// the reconstruction and the training panel; the latent map, sampling, the manifold, the walk, the
// sliders of every dimension, latent arithmetic and the sections after the training panel are
// <vae-playground> elements (widget.js), shown the page's model. All math happens in the wasm
// module (here, in the elements' runtime or in a training worker).

import { DrawingPad } from "./draw.js";
import { clearCanvas, drawDigit, drawRow } from "./render.js";
import { accepts, readUrl, watchUrl } from "./url-state.js";
import { PAGE_SETTINGS, TRAINING_SETTINGS, VIEW_SETTINGS } from "./page-settings.js";
import { fmt, kindName } from "./labels.js";
import { drawingScores, testScores } from "./scores.js";
import { assetUrl, fetchBytes, runtime } from "./widget-runtime.js";

const $ = (id) => document.getElementById(id);
const DRAW_COUNT = 8;
const DRAW_SEED = 7; // the same drawing always shows the same draws
const SHIPPED = { 2: "vae-latent2", 20: "vae-latent20", ae: "ae-latent2", cvae: "cvae-latent2" };

// What tests and benchmarks read; also handy in the console.
const playground = (window.vaePlayground = { readyMs: null, error: null, updates: 0 });

// ---- errors: one clear panel, never a silent dead page ----------------------------------------

let wasm = null;
let rt = null; // the module's runtime, shared with the page's elements

// A trap inside the module (a panic, or an allocation failure that skips the panic hook) may leave
// a call's promise unsettled. Every guarded call is raced against `death`, which rejects as soon as
// the page sees a trap, so no view waits forever; the panel then offers a restart.
let dead = null;
let die;
const death = new Promise((_, reject) => (die = reject));
death.catch(() => {});
const isTrap = (e) => e instanceof WebAssembly.RuntimeError || /^RuntimeError/.test(String(e));
const trapText = (e) => `a WebAssembly trap: ${String(e?.message ?? e).replace(/^RuntimeError:\s*/, "")}`;
function moduleDied(reason) {
  if (dead) return;
  dead = reason;
  die(new Error(`the module crashed (${reason})`));
  rt?.crashed(reason); // the elements share the instance: each shows its crash panel too
}
const crashed = () => Boolean(dead || rt?.dead || wasm?.panicked?.());
/** A module call's promise, rejected as soon as the module dies (here or in an element) instead of
 * waiting forever. */
const live = (promise) => Promise.race([promise, death, ...(rt ? [rt.death] : [])]);

function showError(message) {
  let text = String(message ?? "Unknown error");
  if (crashed()) {
    const kept = playground.training?.weights ? " Your trained model is saved in this browser and comes back after the restart." : "";
    text = `The model crashed and must be restarted: ${wasm?.panicMessage?.() ?? dead ?? rt?.dead ?? text}.${kept}`;
  }
  playground.error = text;
  $("error-message").textContent = text;
  $("error-panel").hidden = false;
  $("status").textContent = "Stopped by an error (see above).";
  document.body.dataset.state = "error";
}

addEventListener("error", (e) => {
  if (isTrap(e.error)) moduleDied(trapText(e.error));
  showError(e.error?.message ?? e.message);
});
addEventListener("unhandledrejection", (e) => {
  if (isTrap(e.reason)) moduleDied(trapText(e.reason));
  showError(e.reason?.message ?? e.reason);
});
$("reload").addEventListener("click", () => location.reload());

/** Runs `work`; if the module has crashed (now or before) the panel shows, since nothing it
 * returns can be trusted after that; any other failure becomes a status message. Never hangs on
 * a crashed module: the work is raced against its death. */
async function guard(work, what) {
  inFlight++;
  try {
    if (crashed()) throw new Error("the module crashed earlier");
    const result = await live(work());
    if (crashed()) throw new Error("the module crashed");
    return result;
  } catch (e) {
    if (isTrap(e)) moduleDied(trapText(e));
    if (crashed()) showError(e?.message ?? e);
    else $("status").textContent = `Could not ${what}: ${e?.message ?? e}`;
    return undefined;
  } finally {
    inFlight--;
    if (inFlight === 0) freeRetired();
  }
}
playground.guard = guard;

// Wasm objects the page no longer needs (a replaced version of your model) are
// freed once no guarded work is running, since such work may still hold them between awaits.
let inFlight = 0;
const retired = [];
function retire(...objects) {
  retired.push(...objects.filter(Boolean));
  if (inFlight === 0) freeRetired();
}
function freeRetired() {
  for (const object of retired.splice(0)) object.free();
}

// ---- loading ----------------------------------------------------------------------------------

/** The wasm-bindgen module: the instance the page's <vae-playground> elements share
 * (widget-runtime.js), so the page downloads and compiles it once. */
async function loadBindings() {
  try {
    rt = await runtime();
  } catch (e) {
    throw new Error(`the WebAssembly module failed to load: ${e?.message ?? e}`);
  }
  return rt.wasm;
}

const models = new Map(); // "2" | "20" | "ae" | "cvae" | "yours" → Vae
async function model(key) {
  if (!models.has(key)) {
    if (!SHIPPED[key]) throw new Error(`there is no model "${key}"`);
    const bytes = await fetchBytes(assetUrl(`assets/${SHIPPED[key]}.safetensors`), `The model ${SHIPPED[key]}`);
    models.set(key, await live(wasm.Vae.fromSafetensors(bytes, { backend: "cpu" })));
  }
  return models.get(key);
}

// ---- state and views --------------------------------------------------------------------------

const state = {
  vae: null, key: "2", stats: new Map(), yoursBytes: null,
  current: null, // the latent point the other tools use: the drawing's μ, a picked point, or sliders
};
playground.state = state;
playground.models = models;
const pad = new DrawingPad($("pad"), { onChange: scheduleUpdate });
playground.pad = pad;

const conditional = (vae = state.vae) => vae?.kind === "conditional";
/** Labels for `n` digits when the model is conditional: the digit the person says they drew. */
const labelsFor = (n, vae = state.vae) => (conditional(vae) ? new Uint8Array(n).fill(Number($("draw-label").value)) : undefined);

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
      for (const id of ["mu-text", "sigma-text", ...SCORE_FIELDS]) $(id).textContent = "—";
      mapElement.setDrawing(null);
      return;
    }
    // The page's group hears the drawing: the map places it, and the walk, the sliders and the
    // arithmetic take its μ as their current point.
    mapElement.setDrawing(x);
    const vae = state.vae;
    const labels = labelsFor(1, vae);
    const { mu, logvar, sigma, recon, scoreAtMean } = await vae.reconstruct(x, 1, labels);
    if (vae !== state.vae) return;
    drawDigit($("recon"), recon);
    $("mu-text").textContent = fmt(mu);
    $("sigma-text").textContent = sigma ? fmt(sigma) : "— (no variance: a plain autoencoder)";
    await showScores(vae, x, labels, scoreAtMean[0]);
    setCurrent(mu, "drawing");
    playground.updates++;
    // After the reconstruction is on screen: a few draws from q(z|x).
    const draws = await vae.posteriorDraws(mu, logvar, DRAW_COUNT, DRAW_SEED, labels);
    drawRow($("draws"), draws.images, DRAW_COUNT);
  }, "reconstruct the drawing");
  busy = false;
  if (pending) requestAnimationFrame(update);
}

const SCORE_FIELDS = ["elbo-text", "logp-text", "gap-text", "floor-text"];

/** The drawing's scores (scores.js), ranked among the test digits' scores once they are known: the
 * autoencoder's among the 1,000 reconstruction scores of the map's statistics, a VAE's among
 * RANK_DIGITS importance-weighted estimates, computed in the background after the first drawing.
 * `atMean` is the reconstruction pass's score. */
async function showScores(vae, x, labels, atMean) {
  const stats = state.stats.get(vae);
  if (stats && vae.kind !== "autoencoder" && !stats.nllScores) rankTestDigits(vae, stats);
  const s = await drawingScores(wasm, vae, x, labels, atMean, vae.kind === "autoencoder" ? stats?.atMeanScores : stats?.nllScores);
  $("elbo-label").textContent = s.elboLabel;
  $("elbo-text").textContent = s.elbo;
  $("logp-text").textContent = s.logp;
  $("gap-text").textContent = s.gap;
  $("floor-text").textContent = s.floor;
  $("score-note").textContent = s.note;
}

/** The test digits' −log p(x) estimates for the anomaly rank (scores.js); stops if the model is
 * replaced. */
async function rankTestDigits(vae, stats) {
  if (stats.ranking) return;
  stats.ranking = true;
  const started = performance.now();
  const digits = await loadTestDigits();
  const scores = await testScores(vae, digits, (work) =>
    guard(async () => (state.stats.get(vae) === stats ? work() : undefined), "rank the drawing among the test digits")); // replaced (and maybe freed): stop
  if (!scores) return;
  stats.nllScores = scores; // the test digits' −log p(x) estimates
  playground.rankSeconds = (performance.now() - started) / 1000;
  scheduleUpdate();
}

// ---- sections 3 to 8: <vae-playground> elements shown the page's model ------------------------

const modelElements = [...document.querySelectorAll("#map-card vae-playground, #sample-card vae-playground, #manifold-card vae-playground, #walk-card vae-playground, #dims-card vae-playground, #arith-card vae-playground")];
let elementsShow = "2"; // the page's key of the model they show (their own default is the shipped vae-2)

/** Hands the model the page shows to sections 3 to 8, which redraw in place (a snapshot of a model
 * in training every ~2 s among them). */
async function showInElements(key) {
  if (key === elementsShow && key !== "yours") return;
  elementsShow = key;
  await guard(async () => {
    const bytes = key === "yours" ? state.yoursBytes : await fetchBytes(assetUrl(`assets/${SHIPPED[key]}.safetensors`), `The model ${SHIPPED[key]}`);
    // No one writes into the bytes, so every element takes the same array.
    await Promise.all(modelElements.map((element) => element.loadSafetensors(bytes)));
    if (elementsShow === key) document.body.dataset.elementsShow = key;
  }, "show the model in sections 3 to 8");
}

/** The 1,000 test digits ({ pixels, count, labels }), shared with the page's elements. */
function loadTestDigits() {
  return rt.testDigits();
}
playground.testDigits = loadTestDigits;

/** What the page needs of a model's test digits: for the autoencoder's anomaly rank, their scores of
 * the reconstruction pass (a VAE's rank is computed on demand, rankTestDigits). From the training
 * worker's snapshot, or computed here. */
function makeStats(vae, { scoreAtMean }) {
  return { atMeanScores: vae.kind === "autoencoder" ? Float32Array.from(scoreAtMean) : null }; // −log p(x|z = μ)
}

async function testStats(vae) {
  if (!state.stats.has(vae)) {
    let scoreAtMean = null;
    if (vae.kind === "autoencoder") {
      const { pixels, count } = await loadTestDigits();
      scoreAtMean = (await vae.reconstruct(pixels, count)).scoreAtMean;
    }
    state.stats.set(vae, makeStats(vae, { scoreAtMean }));
  }
  return state.stats.get(vae);
}

/** The statistics of the model shown, then its drawing scored again (the rank can now be found). */
async function refreshStats() {
  const vae = state.vae;
  await testStats(vae);
  if (state.vae !== vae) return;
  document.body.dataset.map = "ready"; // section 3 shows this model's test codes (showInElements)
  document.body.dataset.stats = "ready";
  scheduleUpdate();
}

/** A point picked on the map (section 3): decoded into the reconstruction view, and current. */
async function decodePicked({ z, xy }) {
  await guard(async () => {
    const vae = state.vae;
    if (z.length !== vae.latentDim) return;
    const image = await vae.decode(Float32Array.from(z), 1, labelsFor(1, vae));
    drawDigit($("recon"), image);
    clearCanvas($("draws"));
    $("mu-text").textContent = `${fmt(z)} picked on the map`;
    $("sigma-text").textContent = "—";
    for (const id of SCORE_FIELDS) $(id).textContent = "—";
    setCurrent(z, "map");
    document.body.dataset.picked = Array.from(xy, (v) => v.toFixed(2)).join(",");
  }, "decode the picked point");
}

// ---- the current point: sections 3, 6, 7 and 8, one group ------------------------------------

/** Makes `z` the current latent point: the drawing's μ, a point picked on the map, or the sliders'.
 * The elements of the page's group share it among themselves (the map, the walk's ends, the
 * sliders, the arithmetic's slots); the page keeps it for its tests and console. */
function setCurrent(z, source) {
  state.current = { z: Float32Array.from(z), source };
}

const mapElement = document.querySelector("#map-card vae-playground");
const walkElement = document.querySelector("#walk-card vae-playground");
const dimsElement = document.querySelector("#dims-card vae-playground");
const arithElement = document.querySelector("#arith-card vae-playground");
const digitElements = [mapElement, walkElement, dimsElement, arithElement]; // told the digit a conditional model draws

mapElement.addEventListener("change", ({ detail }) => {
  if (detail.source === "map") decodePicked(detail);
});
dimsElement.addEventListener("change", ({ detail }) => {
  if (detail.source === "sliders" && detail.z.length === state.vae?.latentDim) setCurrent(detail.z, "sliders");
});

playground.walkFrames = []; // ms per frame: advance + decode + draw
walkElement.addEventListener("walk", ({ detail }) => playground.walkFrames.push(detail.ms));
arithElement.addEventListener("change", ({ detail }) => {
  if (detail.source === "arithmetic") document.body.dataset.arithmetic = "done";
});

// ---- switching models -------------------------------------------------------------------------

async function switchModel(key) {
  $("status").textContent = `Loading the model…`;
  await guard(async () => {
    const vae = await model(key);
    const changedShape = state.vae?.latentDim !== vae.latentDim;
    const refresh = state.key === key && !changedShape; // a new version of the same model
    const previous = state.vae;
    state.vae = vae;
    if (previous && previous !== vae && ![...models.values()].includes(previous)) forget(previous);
    state.key = key;
    $("model-select").value = key;
    $("draw-label-row").hidden = !conditional(vae);
    if (!refresh) delete document.body.dataset.map;
    $("status").textContent = readyText();
    if (changedShape) {
      delete document.body.dataset.arithmetic;
      state.current = null; // a point of the old size means nothing in the new space
    }
    scheduleUpdate();
    await showInElements(key);
    await refreshStats();
    syncUrl();
  }, "load the model");
}

function readyText() {
  const vae = state.vae;
  const name = kindName(vae);
  const whose = state.key === "yours" ? "your " : "";
  return `Ready — ${whose}latent-${vae.latentDim} ${name} running on the ${vae.backend.toUpperCase()} (WebAssembly). Draw a digit.`;
}

// ---- the user's own model (training panel) ----------------------------------------------------

let switchedForRun = false;

/** A new version of the user's model: from a training snapshot (with the test digits' scores the
 * worker computed), an upload, or the copy saved in this browser. */
async function adoptTrained(weights, snap, { restore = false } = {}) {
  const vae = await live(wasm.Vae.fromSafetensors(weights, { backend: "cpu" }));
  state.yoursBytes = Uint8Array.from(weights);
  const old = models.get("yours");
  models.set("yours", vae);
  if (old && state.vae !== old) forget(old);
  let option = $("model-select").querySelector("option[value=yours]");
  if (!option) {
    option = new Option("", "yours");
    $("model-select").append(option);
  }
  option.textContent = `Yours (${vae.kind}, latent ${vae.latentDim}, trained here)`;
  if (snap) state.stats.set(vae, makeStats(vae, snap));
  const follow = !restore && (state.key === "yours" || !switchedForRun);
  if (!restore) switchedForRun = true;
  if (follow) {
    await switchModel("yours");
  }
}

/** Drops a model the page no longer shows, with its test statistics, and frees it. */
function forget(vae) {
  retire(vae);
  state.stats.delete(vae);
}

function forgetTrained() {
  const old = models.get("yours");
  models.delete("yours");
  if (old && state.vae !== old) forget(old);
  $("model-select").querySelector("option[value=yours]")?.remove();
  switchedForRun = false;
  if (state.key === "yours") switchModel("2");
}

/** Checks a weights file can be loaded; resolves to its settings. */
async function describeWeights(bytes) {
  const vae = await live(wasm.Vae.fromSafetensors(bytes, { backend: "cpu" }));
  const meta = { kind: vae.kind, latent: vae.latentDim, hidden: vae.hidden, likelihood: vae.likelihood };
  vae.free();
  return meta;
}

// ---- URL state ----------------------------------------------------------------------------------

// The sections that are elements keep their options in their attributes; the URL carries the ones
// a link should reproduce, under the option's name in the element's table (widget-settings.js).
const URL_WIDGET_OPTIONS = [
  { element: walkElement, attr: "walk" },
  { element: walkElement, attr: "speed" },
  { element: document.querySelector("#cvae-card vae-playground"), attr: "digit" },
];
const syncUrl = watchUrl(PAGE_SETTINGS, URL_WIDGET_OPTIONS);

// ---- start --------------------------------------------------------------------------------------

async function main() {
  const fromUrl = readUrl(PAGE_SETTINGS);
  wasm = await loadBindings();
  playground.wasm = wasm;
  const wanted = ["2", "20", "cvae", "ae"].includes(fromUrl["model-select"]) ? fromUrl["model-select"] : "2";
  state.vae = await model(wanted);
  state.key = wanted;
  $("model-select").value = wanted;
  $("status").textContent = readyText();
  document.body.dataset.ready = "true";
  playground.readyMs = performance.now();

  $("clear").addEventListener("click", () => pad.clear());
  $("test-digit").addEventListener("click", async () => {
    const { pixels, count } = await loadTestDigits();
    pad.setImage(pixels, 784 * Math.floor(Math.random() * count));
  });
  $("model-select").addEventListener("change", (e) => switchModel(e.target.value));
  $("draw-label").addEventListener("change", () => {
    // A conditional model's map, walk, sliders and arithmetic use that digit.
    for (const element of digitElements) element.setAttribute("digit", $("draw-label").value);
    scheduleUpdate();
    syncUrl();
  });
  // Settings from the URL before anything is drawn with them.
  for (const { id } of VIEW_SETTINGS.filter((s) => s.name !== "model")) {
    if (fromUrl[id] !== undefined && accepts($(id), fromUrl[id])) $(id).value = fromUrl[id];
  }
  for (const element of digitElements) element.setAttribute("digit", $("draw-label").value);

  // The training panel (and its chart library) loads after the page is ready to draw.
  const { TrainingPanel } = await import("./training.js");
  const panel = new TrainingPanel({
    onModel: (weights, snap, how) => adoptTrained(weights, snap, how),
    onReset: forgetTrained,
    onSettings: syncUrl,
    validate: describeWeights,
  });
  panel.applySettings(Object.fromEntries(TRAINING_SETTINGS.filter((s) => fromUrl[s.id] !== undefined).map((s) => [s.name, fromUrl[s.id]])));

  clearCanvas($("recon"));
  await showInElements(wanted);
  await refreshStats();
  const restored = await panel.restore();
  if (restored && fromUrl["model-select"] === "yours") await switchModel("yours");
  syncUrl();
  document.body.dataset.started = "true";
}

main().catch((e) => showError(e?.message ?? e));
