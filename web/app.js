// The playground page: loads the wasm module and the shipped weights, chooses the model its sections
// show and wires the training panel; the drawing pad with its reconstruction, the latent map,
// sampling, the manifold, the walk, the sliders of every dimension, latent arithmetic and the
// sections after the training panel are <vae-playground> elements (widget.js), shown the page's
// model. All math happens in the wasm module (in the elements' runtime or in a training worker).

import { acceptsSetting, fillControl, readUrl, watchUrl } from "./url-state.js";
import { PAGE_SETTINGS, TRAINING_SETTINGS } from "./widget-settings.js";
import { kindName } from "./labels.js";
import { assetUrl, fetchBytes, runtime } from "./widget-runtime.js";

const $ = (id) => document.getElementById(id);
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
  // The page's elements report their own failures in place (an `error` CustomEvent bubbles up
  // here); only the shared module's crash stops the whole page.
  if (e instanceof CustomEvent) {
    if (e.detail?.type === "panic") {
      moduleDied(e.detail.message);
      showError(e.detail.message);
    }
    return;
  }
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
  vae: null, key: "2", yoursBytes: null,
  current: null, // the latent point the other tools use: the drawing's μ, a picked point, or sliders
};
playground.state = state;
playground.models = models;

// ---- sections 1 to 8: <vae-playground> elements shown the page's model ------------------------

const modelElements = [...document.querySelectorAll(["draw", "map", "sample", "manifold", "walk", "dims", "arith"].map((card) => `#${card}-card vae-playground`).join(", "))];
let elementsShow = "2"; // the page's key of the model they show (their own default is the shipped vae-2)

/** Hands the model the page shows to sections 1 to 8, which redraw in place (a snapshot of a model
 * in training every ~2 s among them); a drawing stays and is scored again. */
async function showInElements(key) {
  if (key === elementsShow && key !== "yours") return;
  elementsShow = key;
  await guard(async () => {
    const bytes = key === "yours" ? state.yoursBytes : await fetchBytes(assetUrl(`assets/${SHIPPED[key]}.safetensors`), `The model ${SHIPPED[key]}`);
    // No one writes into the bytes, so every element takes the same array.
    await Promise.all(modelElements.map((element) => element.loadSafetensors(bytes)));
    if (elementsShow === key) document.body.dataset.elementsShow = key;
  }, "show the model in sections 1 to 8");
}

/** The 1,000 test digits ({ pixels, count, labels }), shared with the page's elements. */
function loadTestDigits() {
  return rt.testDigits();
}
playground.testDigits = loadTestDigits;

/** Once sections 1 to 8 show the model the page shows: what the page's tests wait for. */
function elementsReady() {
  document.body.dataset.map = "ready"; // section 3 shows this model's test codes
  document.body.dataset.stats = "ready"; // section 2 ranks a drawing among its test digits
}

// ---- the drawing and the current point: sections 1–2, 3, 6, 7 and 8, one group ----------------

/** Makes `z` the current latent point: the drawing's μ, a point picked on the map, or the sliders'.
 * The elements of the page's group share it among themselves (the reconstruction, the map, the
 * walk's ends, the sliders, the arithmetic's slots); the page keeps it for its tests and console. */
function setCurrent(z, source) {
  state.current = { z: Float32Array.from(z), source };
}

const drawElement = document.querySelector("#draw-card vae-playground");
const mapElement = document.querySelector("#map-card vae-playground");
const walkElement = document.querySelector("#walk-card vae-playground");
const dimsElement = document.querySelector("#dims-card vae-playground");
const arithElement = document.querySelector("#arith-card vae-playground");
const digitElements = [mapElement, walkElement, dimsElement, arithElement]; // told section 1's digit

// Section 2 reconstructs and scores each drawing; its change events say so.
drawElement.addEventListener("change", ({ detail }) => {
  if (detail.source !== "drawing") return;
  setCurrent(detail.z, "drawing");
  playground.updates++;
  // How long the test digits' scores a drawing is ranked among took, from its first scores.
  playground.firstScoredMs ??= performance.now();
  if (detail.score?.percentBelow !== undefined) playground.rankSeconds ??= (performance.now() - playground.firstScoredMs) / 1000;
});
// A conditional model is told section 1's digit; the map, walk, sliders and arithmetic use it too.
new MutationObserver(() => {
  for (const element of digitElements) element.setAttribute("digit", drawElement.digit);
}).observe(drawElement, { attributes: true, attributeFilter: ["digit"] });
mapElement.addEventListener("change", ({ detail }) => {
  if (detail.source !== "map") return;
  setCurrent(detail.z, "map");
  document.body.dataset.picked = Array.from(detail.xy, (v) => v.toFixed(2)).join(",");
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
    if (!refresh) delete document.body.dataset.map;
    $("status").textContent = readyText();
    if (changedShape) {
      delete document.body.dataset.arithmetic;
      state.current = null; // a point of the old size means nothing in the new space
    }
    await showInElements(key);
    if (state.vae === vae) elementsReady();
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

/** A new version of the user's model: from a training snapshot, an upload, or the copy saved in
 * this browser. */
async function adoptTrained(weights, { restore = false } = {}) {
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
  const follow = !restore && (state.key === "yours" || !switchedForRun);
  if (!restore) switchedForRun = true;
  if (follow) {
    await switchModel("yours");
  }
}

/** Drops a model the page no longer shows and frees it. */
function forget(vae) {
  retire(vae);
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
  { element: drawElement, attr: "digit", url: "label" }, // section 1's digit, under the page's old name
  { element: document.querySelector("#cvae-card vae-playground"), attr: "digit" },
];
// The page's controls offer what the settings table says, with its defaults, before the URL is read.
for (const row of PAGE_SETTINGS) fillControl($(row.control), row);
const syncUrl = watchUrl(PAGE_SETTINGS, URL_WIDGET_OPTIONS);

// ---- start --------------------------------------------------------------------------------------

async function main() {
  const fromUrl = readUrl(PAGE_SETTINGS);
  wasm = await loadBindings();
  playground.wasm = wasm;
  const shown = PAGE_SETTINGS.find((s) => s.control === "model-select");
  const wanted = acceptsSetting(shown, fromUrl["model-select"]) ? fromUrl["model-select"] : shown.default;
  state.vae = await model(wanted);
  state.key = wanted;
  $("model-select").value = wanted;
  $("status").textContent = readyText();
  document.body.dataset.ready = "true";
  playground.readyMs = performance.now();

  $("model-select").addEventListener("change", (e) => switchModel(e.target.value));
  // Settings from the URL before anything is drawn with them.
  const backend = PAGE_SETTINGS.find((s) => s.control === "train-backend");
  if (acceptsSetting(backend, fromUrl["train-backend"])) $("train-backend").value = fromUrl["train-backend"];
  for (const element of digitElements) element.setAttribute("digit", drawElement.getAttribute("digit"));

  // The training panel (and its chart library) loads after the page is ready to draw.
  const { TrainingPanel } = await import("./training.js");
  const panel = new TrainingPanel({
    onModel: adoptTrained,
    onReset: forgetTrained,
    onSettings: syncUrl,
    validate: describeWeights,
  });
  panel.applySettings(Object.fromEntries(TRAINING_SETTINGS.filter((s) => fromUrl[s.control] !== undefined).map((s) => [s.name, fromUrl[s.control]])));

  await showInElements(wanted);
  elementsReady();
  const restored = await panel.restore();
  if (restored && fromUrl["model-select"] === "yours") await switchModel("yours");
  syncUrl();
  document.body.dataset.started = "true";
}

main().catch((e) => showError(e?.message ?? e));
