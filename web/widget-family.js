// The views of the VAE's relatives: `aae` (the adversarial autoencoder's codes filling a chosen
// prior, beside the VAE's) and `hvae` (the hierarchical VAE's two layers). Each can train a fresh
// model of its kind in a Web Worker (`family-worker.js`) and show it learning. No math here: every
// number comes from the wasm module.

import { drawGrid, drawRow } from "./render.js";
import { LatentMap } from "./latent-map.js";
import { assetUrl, gpuBuild } from "./widget-runtime.js";
import { PRIORS, SETTING } from "./widget-settings.js";
import { probeWebGpu } from "./webgpu-probe.js";
import { View, canvas, h, legend, select } from "./widget-views.js";
import { Requests } from "./worker-protocol.js";

const SAMPLE_COUNT = 16;
const ROW = 8;
const RATES = [["0.0001", "0.0001"], ["0.0003", "0.0003"], ["0.001", "0.001 (the recipe)"], ["0.003", "0.003"], ["0.01", "0.01"], ["0.1", "0.1"], ["1", "1 (diverges)"]];

export const fixed = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

/** A backend's multi-line error ("…\nCaused by:\n  …\nBacktrace:…") as one line for a status:
 * each cause once (one that an earlier line already says is dropped), joined by ": ". */
/** Loaded weights in words: a file's, by its name, or those a script handed over (`file` null). */
const loadedName = (file) => (file ? `the weights of “${file}”` : "the weights given to loadSafetensors()");

export function oneLine(message) {
  const causes = [];
  for (const line of String(message).split("\n").map((l) => l.trim())) {
    if (/^Backtrace:?$|^No backtrace available$|^Caused by:$/.test(line) || line === "") continue;
    if (!causes.some((c) => c.includes(line))) causes.push(line);
  }
  return causes.join(": ").replace(/[.:]: /g, ": ").replace(/\.$/, "");
}

// ---- training in a worker ----------------------------------------------------------------------

let policy = null;
/** The worker's script URL, through a Trusted Types policy where the page enforces them. */
function workerScript(url) {
  if (!globalThis.trustedTypes?.createPolicy) return url;
  policy ??= trustedTypes.createPolicy("vae-playground-worker", {
    createScriptURL: (u) => {
      if (u !== assetUrl("family-worker.js")) throw new TypeError(`not the playground's worker: ${u}`);
      return u;
    },
  });
  return policy.createScriptURL(url);
}

/** One training run in a worker (worker-protocol.js): its requests (start, pause, save) are
 * promises of their answers; the worker's notices go to `on`. */
class Run {
  /** `from`: a snapshot `{ weights, steps, epoch }` to go on from, or null for a fresh model.
   * `begin(backend)` starts the worker; `started` then resolves with the start's answer and
   * rejects with the reason it could not start (`error.answer`: the worker's failure,
   * `error.ended`: the run was ended first). */
  constructor(ctx, kind, model, train, epochs, on, from = null) {
    Object.assign(this, { ctx, kind, model, train, epochs, on, from });
    this.worker = null;
    this.requests = null;
  }

  begin(backend) {
    const { ctx, kind, model, train, epochs, on, from } = this;
    this.started = (async () => {
      const [module, data] = await Promise.all([ctx.rt.compiledModule(), kind === "vrae" ? ctx.rt.seriesFile() : ctx.rt.digitsFile()]);
      if (this.ended) throw Object.assign(new Error("the run was ended before it started"), { ended: true });
      const worker = new Worker(workerScript(assetUrl("family-worker.js")), { type: "module", name: `vae-playground ${kind} training` });
      const requests = new Requests((message, transfer) => worker.postMessage(message, transfer));
      this.worker = worker;
      this.requests = requests;
      worker.onmessage = ({ data }) => requests.settle(data) || on(data);
      worker.onerror = (e) => {
        const message = `the training worker could not run: ${e.message ?? "its script failed to load"}`;
        const failure = { type: "failed", message, crashed: true, started: Boolean(this.answered) };
        // A start still waiting hears it as its answer; else the run hears it as a notice.
        if (!requests.abandon(message, failure)) on(failure);
      };
      const copy = data.slice(); // the runtime keeps its own
      const weights = from?.weights.slice();
      const answer = await requests.send({ type: "start", module, glue: assetUrl("vae_playground.js"), data: copy, kind, model, train, epochs, backend, gpu: gpuBuild(), weights, steps: from?.steps, epoch: from?.epoch },
        [copy.buffer, ...(weights ? [weights.buffer] : [])]);
      this.answered = true; // a failure from now on is mid-run
      return answer;
    })();
    return this.started;
  }

  /** Sends the request `type`: resolves with its answer; rejects if it fails or the run ends first. */
  request(type) {
    if (!this.requests) return Promise.reject(Object.assign(new Error("the run has no worker yet"), { ended: true }));
    return this.requests.send({ type });
  }

  /** A notice (resume, settings): nothing waits on it. */
  send(message) {
    this.worker?.postMessage(message);
  }

  stop() {
    this.ended = true;
    this.worker?.terminate();
    this.requests?.abandon("the run was ended");
    this.worker = null;
  }
}

/** A small line chart of several series over training steps, on a log scale if asked (no axes
 * library in a widget). */
function drawChart(chart, series, { log = false } = {}) {
  const ctx = chart.getContext("2d");
  const { width, height } = chart;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const shown = series.filter((s) => s.points.length);
  const all = shown.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && (!log || y > 0));
  if (!all.length) return;
  const f = log ? Math.log10 : (v) => v;
  let [lo, hi] = [Math.min(...all.map(f)), Math.max(...all.map(f))];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const xMax = Math.max(1, ...shown.flatMap((s) => s.points.map(([x]) => x)));
  const pad = { left: 36, right: 6, top: 6, bottom: 14 };
  const px = (x) => pad.left + (x / xMax) * (width - pad.left - pad.right);
  const py = (y) => pad.top + (1 - (f(y) - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#5b616e";
  ctx.textAlign = "right";
  // Two significant digits, written out (550, not 5.5e+2, which the margin cuts).
  const label = (v) => (log ? String(Number((10 ** v).toPrecision(2))) : v.toFixed(Math.abs(hi - lo) < 5 ? 2 : 0));
  ctx.fillText(label(hi), pad.left - 3, pad.top + 8);
  ctx.fillText(label(lo), pad.left - 3, height - pad.bottom);
  ctx.textAlign = "left";
  ctx.fillText(`step ${Math.round(xMax)}`, width - 60, height - 2);
  for (const s of shown) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
  }
}

function chartLegend(series) {
  const list = h("ul", { class: "legend", part: "legend" });
  for (const s of series) {
    const item = h("li", { text: s.label });
    s.item = item;
    item.style.setProperty("--swatch", s.color);
    list.append(item);
  }
  return list;
}

const CHART_NAMES = { aae: "Adversarial", hvae: "Hierarchical", vrae: "Recurrent", vae: "VAE" };
const FILE_NAMES = { aae: "adversarial-autoencoder", hvae: "hierarchical-vae", vrae: "recurrent-vae", vae: "vae" };
const WHERE = { cpu: "on the CPU (WebAssembly)", webgpu: "on the GPU (WebGPU)" };
/** Where a run moves, by the backend select's value. */
const TO = { cpu: "to the CPU (WebAssembly)", webgpu: "to the GPU (WebGPU)", auto: "where “Auto” finds best" };
/** The wasm module's class of each panel's models. */
const CLASSES = { vae: "Vae", aae: "Aae", hvae: "Hvae", vrae: "Vrae" };
/** A file a person loads is refused above this size before it is read: the largest model the
 * train view builds (latent 20, 400 hidden units, F32) is 2.6 MB. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/** What the training views share: the train row (button, learning rate, status, figures, chart).
 * `log` draws the chart on a log scale (losses that stay positive and span orders of magnitude);
 * `rates` and `rate` are the learning rates offered and the first choice; `upload` offers a file
 * input that shows a person's .safetensors of this panel's kind instead of the shown model. The
 * view may add `trainOptions()` (more of the step's settings) and `runState(state)` (to hear the
 * run's state). */
export class TrainingPanel {
  constructor(view, kind, series, { log = true, batch = 128, rates = RATES, rate = "0.001", upload = false } = {}) {
    this.log = log;
    this.batch = batch;
    this.view = view;
    this.kind = kind;
    this.series = series.map((s) => ({ ...s, points: [] }));
    this.button = h("button", { type: "button", part: "button", text: "Train a fresh one here" });
    this.lr = select("Learning rate", rates, rate, "select");
    // Where a fresh run trains (the settings table's `backend`); offered where the browser has
    // WebGPU at all (whether an adapter answers, and agrees with the CPU, is found out when a run
    // starts). The element's `backend` attribute picks the first choice.
    const gpu = Boolean(globalThis.navigator?.gpu);
    this.backend = select("Where to train", SETTING.backend.choices, gpu ? view.ctx.option("backend") : "cpu", "select");
    this.save = h("button", { type: "button", part: "button", text: "Save weights", disabled: true });
    // Offered while no run exists (a paused run is ended first, so loading never drops one).
    this.upload = h("input", { type: "file", accept: ".safetensors", "aria-label": "Load weights (.safetensors)", part: "file" });
    // Shown while the view shows a run kept by `persist` (see restored()).
    this.forget = h("button", { type: "button", part: "button", text: "Forget the kept run", hidden: true });
    this.goOn = h("button", { type: "button", part: "button", text: "Go on training the kept run", hidden: true });
    // Shown when another tab keeps a newer run under the widget's `persist` key.
    this.showNewer = h("button", { type: "button", part: "button", text: "Show the newer kept run", hidden: true });
    // Shown while a run is paused: ends it, so a fresh one (with other settings) can start.
    this.end = h("button", { type: "button", part: "button", text: "End this run", hidden: true });
    this.status = h("p", { class: "note", part: "training-status", role: "status", text: "" });
    this.figures = h("dl", { class: "numbers", part: "figures" });
    this.chart = canvas(`${CHART_NAMES[kind]} training chart${log ? " (log scale)" : ""}`, 320, 140, "chart");
    this.flag = h("p", { class: "flag", part: "flag", role: "alert", hidden: true });
    // The pace, and with an epoch limit (view="train") how far the run is and the time left.
    this.meter = h("progress", { max: 1, value: 0, "aria-label": "Training progress", part: "progress", hidden: true });
    this.pace = h("span", { class: "note", part: "pace" });
    this.shown = h("div", { class: "training", hidden: true }, h("div", { class: "row" }, this.meter, this.pace), this.figures, this.chart, chartLegend(this.series));
    this.root = h("div", { class: "training", part: "training" },
      h("div", { class: "row", part: "controls" }, this.button, h("label", { class: "mini", text: "learning rate " }, this.lr),
        ...(gpu ? [h("label", { class: "mini", text: "on " }, this.backend)] : []), this.save,
        ...(upload ? [h("label", { class: "mini", text: "load weights " }, this.upload)] : []), this.end, this.goOn, this.forget, this.showNewer),
      this.status, this.flag, this.shown);
    if (!gpu && view.ctx.option("backend") === "webgpu") {
      this.status.textContent = "This browser has no WebGPU (navigator.gpu), so a run here trains on the CPU (WebAssembly).";
    }
    this.button.addEventListener("click", () => this.toggle());
    this.save.addEventListener("click", () => this.saveWeights());
    this.upload.addEventListener("change", () => {
      const file = this.upload.files?.[0];
      this.upload.value = ""; // the same file can be chosen again
      if (file) this.loadFile(file);
    });
    this.forget.addEventListener("click", () => view.ctx.forgetRun());
    this.showNewer.addEventListener("click", () => view.ctx.showKept());
    this.goOn.addEventListener("click", () => this.start(this.kept));
    this.end.addEventListener("click", () => {
      this.stop();
      this.setState("idle");
      this.status.textContent = `Run ended at step ${this.steps}; the view still shows its last snapshot${this.last ? ` (step ${this.last.steps})` : ""}. Train a fresh one here starts again from scratch.`;
    });
    this.lr.addEventListener("change", () => this.settingsChanged());
    this.backend.addEventListener("change", () => this.switchBackend());
    this.state = "idle";
  }

  /** The step's settings: the learning rate and whatever the view adds. */
  train() {
    return { ...(this.view.trainOptions?.() ?? {}), lr: Number(this.lr.value) };
  }

  /** After how many epochs the run pauses, finished (the view's `epochLimit()`; null: never). */
  epochs() {
    return this.view.epochLimit?.() ?? null;
  }

  /** A setting of the step changed: the run (running or paused) takes it from its next step. */
  settingsChanged() {
    this.run?.send({ type: "settings", train: this.train(), epochs: this.epochs() });
    this.showPace(); // the bar's length follows the epochs
  }

  /** The run's pace; with an epoch limit, the bar of epochs done and, while it runs, the time left. */
  showPace() {
    const p = this.lastPace;
    if (!p) return;
    const rate = `${fixed(p.stepsPerSecond, 1)} steps/s`;
    const limit = this.epochs();
    this.meter.hidden = limit === null;
    if (limit === null) {
      this.pace.textContent = rate;
      return;
    }
    this.meter.max = limit;
    this.meter.value = Math.min(this.epoch, limit);
    const left = Math.round(Math.max(0, limit - this.epoch) * p.stepsPerEpoch / p.stepsPerSecond);
    const time = left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s` : `${left} s`;
    this.pace.textContent = `${rate}${this.state === "running" && Number.isFinite(left) && left > 0 ? ` · about ${time} left of ${limit} epoch${limit === 1 ? "" : "s"}` : ""}`;
  }

  /** Renames the chart's series `index` (its legend entry), for a run whose model names it otherwise. */
  relabel(index, label) {
    this.series[index].label = label;
    this.series[index].item.textContent = label;
  }

  /** Switches the chart between a log and a linear scale (a Gaussian density's nats can be negative). */
  setLog(log) {
    this.log = log;
    this.chart.setAttribute("aria-label", `${CHART_NAMES[this.kind]} training chart${log ? " (log scale)" : ""}`);
    this.redraw();
  }

  /** The element's train(): resumes a paused run, else goes on from a kept one, else starts a fresh
   * one; resolves once it trains, rejects with the reason when it cannot start. */
  begin() {
    if (this.state === "paused") return this.resume();
    if (this.state === "idle" || this.state === "failed") this.start(this.kept);
    return this.state === "starting" ? this.starting : Promise.resolve();
  }

  /** With `persist`, takes the kept run's lock (held while a run trains, so another tab or widget
   * with the same key cannot train over it); throws, saying why, while another holds it. `run`:
   * the run it is for (a lock that arrives after that run ended is let go at once). */
  async claim(run) {
    if (this.lock) return;
    const { ctx } = this.view;
    const release = await ctx.holdRun();
    if (!release) {
      throw Object.assign(new Error(`another tab (or another widget of this page) is training the run kept under persist="${ctx.persistKey()}"; pause it there first, so the two do not overwrite each other's kept run`), { refused: true });
    }
    // A run kept by another tab since this widget read it would be replaced by this one's first
    // snapshot: the person is asked first, and a second press trains anyway.
    const elsewhere = this.overwriteOk ? null : await ctx.keptElsewhere();
    if (elsewhere) {
      release();
      this.overwriteOk = true;
      throw Object.assign(new Error(`another tab saved a run under persist="${ctx.persistKey()}" since this widget read it (step ${elsewhere.steps}, ${new Date(elsewhere.savedAt).toLocaleString("en")}); reload the page to go on from that run, or press again to train here anyway (this run then replaces it)`), { refused: true });
    }
    this.overwriteOk = false;
    if (this.run !== run) {
      release();
      throw Object.assign(new Error("the run was ended before it started"), { ended: true });
    }
    this.lock = release;
  }

  /** A run that was refused before it started (the kept run's lock, or another tab's newer run):
   * nothing changed, so the panel is back where it was, saying why. */
  refused(message) {
    const from = this.wasKept;
    this.stop();
    this.goingOn = null;
    this.setState("idle");
    if (from) {
      this.kept = from;
      this.goOn.hidden = false;
      this.forget.hidden = Boolean(from.loaded);
    }
    this.status.textContent = `Not started: ${message.message}.`;
    this.view.ctx.emit("trainend", { kind: this.kind, steps: this.steps, reason: "failed", message: message.message });
  }

  /** Lets go of the kept run's lock (paused, ended or failed: the snapshot where it stopped is kept). */
  unlock() {
    this.lock?.();
    this.lock = null;
  }

  /** The person chose another backend. A running run moves there at once: it pauses (its last
   * snapshot is where it stopped) and a worker there goes on from that snapshot, its steps and
   * epochs counting on. A paused one moves when it resumes. */
  async switchBackend() {
    const run = this.run;
    if (!run || this.state !== "running") {
      if (this.state === "paused") this.status.textContent = `The run moves ${TO[this.backend.value]} when you press Resume.`;
      return;
    }
    this.button.disabled = true;
    this.status.textContent = "Pausing to move the run…";
    try {
      await run.request("pause"); // its snapshot, where it stopped, was heard before this answer
    } catch (e) {
      if (!e.ended && this.run === run) this.hear(e.answer ?? { type: "failed", message: e.message, crashed: false, started: true });
      return;
    }
    if (this.run === run) this.move();
  }

  /** Goes on from the last snapshot in a worker on the backend now chosen. */
  move() {
    this.stop({ keepLock: true });
    this.moved = { steps: this.last.steps, from: this.root.dataset.backend, choice: this.choice };
    this.setState("starting");
    this.status.textContent = `Moving the run ${TO[this.backend.value]} from step ${this.last.steps}…`;
    this.launch(this.backend.value, this.last);
    return this.starting;
  }

  /** The move to another backend failed at its start: the run goes on, from the same snapshot,
   * on the backend it came from. */
  moveBack(failure) {
    const { from, steps, choice } = this.moved;
    const why = oneLine(failure.message);
    this.stop({ keepLock: true });
    this.moved = null;
    this.stayed = { why, steps };
    this.backend.value = choice;
    this.setState("starting");
    this.status.textContent = `The run could not move (${why}); it keeps training ${WHERE[from]} from step ${steps}…`;
    this.view.ctx.emit("error", { type: "worker", message: `the run could not move to another backend (${why}); it kept training ${WHERE[from]}` });
    this.launch(choice, this.last);
  }

  /** Resumes the paused run once it holds the kept run's lock; resolves once it trains, rejects
   * with why it cannot. */
  resume() {
    if (this.last && this.backend.value !== this.root.dataset.backend && !(this.backend.value === "auto" && this.autoChose === this.root.dataset.backend)) return this.move();
    const run = this.run;
    this.button.disabled = true;
    return this.claim(run).then(
      () => {
        if (this.run !== run || this.state !== "paused") return;
        run.send({ type: "resume", train: this.train(), epochs: this.epochs() });
        this.setState("running");
      },
      (e) => {
        if (e.ended) return;
        this.button.disabled = false;
        this.status.textContent = `Not resumed: ${e.message}.`;
        this.view.ctx.emit("trainend", { kind: this.kind, steps: this.steps, reason: "failed", message: e.message });
        throw e;
      },
    );
  }

  /** Says that the view shows the person's run kept in this browser (`persist`), not the shipped model. */
  restored(run) {
    this.kept = run;
    this.view.restored?.(run);
    this.forget.hidden = false;
    this.goOn.textContent = "Go on training the kept run";
    this.goOn.hidden = false;
    this.root.dataset.restored = String(run.steps);
    const where = run.backend ? ` ${WHERE[run.backend]}` : "";
    this.status.textContent = `Showing your run kept in this browser: ${run.steps} steps${where}, saved ${new Date(run.savedAt).toLocaleString("en")}. "Go on training the kept run" continues it; a fresh run replaces it; "Forget the kept run" brings back the shipped model.`;
  }

  /** Says that the view shows weights a person loaded (`file`: the file's name) or handed to
   * loadSafetensors() (`file` null), which a run can go on training. */
  loaded({ bytes, file }) {
    this.kept = { weights: bytes, steps: 0, epoch: 0, loaded: true, file };
    this.goOn.textContent = "Go on training these weights";
    this.goOn.hidden = false;
    this.root.dataset.loaded = file ?? "";
    this.status.textContent = `Showing ${loadedName(file)}. "Go on training these weights" trains them further, counting steps from 0 (a file keeps neither the step count nor the optimiser's state); "${this.button.textContent}" starts from scratch with the settings shown.`;
  }

  /** Reads a person's .safetensors and, if it holds a model of this panel's kind, has the element
   * show it. A file that is too big, unreadable or not such a model is refused with why, fires
   * `error` (type "load"), and changes nothing. */
  async loadFile(file) {
    const { ctx } = this.view;
    const refuse = (why) => {
      const message = `“${file.name}” was not loaded: ${why}. Nothing changed.`;
      this.status.textContent = message;
      ctx.emit("error", { type: "load", message });
    };
    if (this.state !== "idle" && this.state !== "failed") return refuse("a run exists; pause it and end it first (Save weights keeps it as a file)");
    if (file.size > MAX_FILE_BYTES) return refuse(`it is ${(file.size / 1048576).toFixed(1)} MB, and this playground's models are under ${MAX_FILE_BYTES / 1048576} MB`);
    let bytes;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      return refuse(`the browser could not read it (${oneLine(String(e?.message ?? e))})`);
    }
    try {
      ctx.rt.free(ctx.rt.track(await ctx.rt.call(() => ctx.wasm[CLASSES[this.kind]].fromSafetensors(bytes, { backend: "cpu" }))));
    } catch (e) {
      if (e?.type === "panic") return; // the restart panel says so, in every widget
      return refuse(oneLine(String(e?.message ?? e)));
    }
    if (this.view.disposed) return;
    this.status.textContent = `Loading “${file.name}”…`;
    await ctx.loadFile(bytes, file.name);
  }

  /** Another tab kept a newer run under this widget's `persist` key (step `steps`). Without a run
   * here the panel offers to show it; a paused run here would replace it if resumed, and is told
   * so (resuming asks first). */
  keptElsewhere({ steps }) {
    if (this.state === "running" || this.state === "starting") return;
    const key = this.view.ctx.persistKey();
    if (this.state === "paused") {
      this.status.textContent = `Another tab kept a newer run under persist="${key}" (step ${steps}). Resuming here would replace it (you are asked first); reload the page to go on from that one.`;
      return;
    }
    this.showNewer.hidden = false;
    this.root.dataset.newerKept = String(steps);
    this.status.textContent = `Another tab kept a newer run under persist="${key}" (step ${steps}). “Show the newer kept run” shows it here.`;
  }

  /** The element's stopTraining(): pauses a run (it can be resumed or saved). */
  halt() {
    if (this.state === "running") this.toggle();
  }

  toggle() {
    if (this.state === "idle" || this.state === "failed") return this.start();
    if (this.state === "running") {
      this.ask("pause").catch(() => {}); // a failed pause is heard as the run's failure
      this.button.textContent = "Pausing…";
      return;
    }
    if (this.state === "paused") this.resume().catch(() => {}); // a refusal is shown and fired as trainend
  }

  setState(state) {
    this.state = state;
    this.button.textContent = { idle: "Train a fresh one here", starting: "Starting…", running: "Pause", paused: "Resume", failed: "Train again" }[state];
    this.button.disabled = state === "starting";
    this.backend.disabled = state === "starting";
    this.save.disabled = state !== "running" && state !== "paused";
    this.upload.disabled = state !== "idle" && state !== "failed";
    this.end.hidden = state !== "paused";
    this.showPace();
    this.view.runState?.(state);
    this.view.ctx.updated();
  }

  /** A fresh run, or one going on from `from` (a kept snapshot: { weights, steps, epoch }). */
  start(from = null) {
    this.stop();
    for (const s of this.series) s.points = [];
    this.steps = from?.steps ?? 0;
    this.epoch = from?.epoch ?? 0;
    this.last = null;
    this.lastPace = null;
    this.meter.hidden = true;
    this.pace.textContent = "";
    this.wasKept = this.kept; // shown again if the run is refused before it starts
    this.kept = null;
    this.goingOn = from;
    delete this.root.dataset.snapshots;
    delete this.root.dataset.restored;
    delete this.root.dataset.loaded;
    this.forget.hidden = true;
    this.goOn.hidden = true;
    this.showNewer.hidden = true;
    this.flag.hidden = true;
    this.crashedAt = null;
    this.crash = this.gpuLost = this.moved = this.stayed = null;
    this.setState("starting");
    this.status.textContent = from?.loaded ? `Starting a worker to go on training ${loadedName(from.file)}…`
      : from ? `Starting a worker to go on from your kept run, step ${from.steps}…` : "Starting a worker with its own copy of the module…";
    this.launch(this.backend.value, from);
  }

  /** A worker on `backend` ("auto": the GPU if a hardware adapter answers), fresh or going on from
   * the snapshot `from`. */
  launch(backend, from) {
    this.choice = backend; // the select's value it was launched with ("auto" included)
    const run = new Run(this.view.ctx, this.kind, this.view.modelOptions(), this.train(), this.epochs(), (m) => this.hear(m), from);
    this.run = run;
    const where = backend === "auto" ? probeWebGpu("auto").then((why) => ({ backend: why ? "cpu" : "webgpu", why })) : Promise.resolve({ backend, why: null });
    const started = Promise.all([where, this.claim(run)]).then(([{ backend: chosen, why }]) => {
      this.autoReason = why;
      this.autoChose = backend === "auto" ? chosen : null;
      if (this.run !== run) throw Object.assign(new Error("the run was ended before it started"), { ended: true });
      run.begin(chosen);
      return run.started;
    });
    this.starting = this.ask("start", started);
    this.starting.catch(() => {}); // a failed start is shown and fired as trainend
  }

  /** Request `type` of the run (or its start, `answer`), its answer heard as the worker's notices
   * are; a failure is heard as the run's, unless the run was ended first. */
  ask(type, answer = this.run.request(type)) {
    const run = this.run;
    return answer.then(
      (message) => {
        if (this.run === run) this.hear(message);
        return message;
      },
      (e) => {
        if (!e.ended && this.run === run) this.hear(e.answer ?? { type: "failed", message: e.message, crashed: false, started: type !== "start", refused: Boolean(e.refused) });
        throw e;
      },
    );
  }

  /** Hands the person the run's weights, or says why they could not be had (the run goes on). */
  saveWeights() {
    const run = this.run;
    run?.request("save").then(
      ({ bytes }) => this.download(bytes),
      (e) => {
        if (!e.ended && this.run === run) this.status.textContent = `The weights could not be saved: ${oneLine(e.message)}. Training is unaffected; try Save weights again.`;
      },
    );
  }

  hear(message) {
    const view = this.view;
    if (view.disposed) return;
    switch (message.type) {
      case "started":
        this.shown.hidden = false;
        this.setState("running");
        this.root.dataset.backend = message.backend;
        if (this.gpuLost) {
          this.status.textContent = `The GPU failed at step ${this.gpuLost.steps} (${this.gpuLost.message}). Training goes on in a new worker on the CPU (WebAssembly) from the last snapshot, step ${this.last.steps}; the optimiser's state starts afresh.`;
          this.gpuLost = null;
          break;
        }
        if (this.stayed) {
          this.status.textContent = `The run could not move (${this.stayed.why}); it keeps training ${WHERE[message.backend]} from step ${this.stayed.steps}.`;
          this.stayed = null;
          break;
        }
        if (this.moved) {
          const auto = this.autoReason ? ` (“Auto” passed over WebGPU: ${this.autoReason})` : "";
          this.status.textContent = this.moved.from === message.backend
            ? `The run stays ${WHERE[message.backend]}${auto} and trains on from step ${this.moved.steps}; the optimiser's state starts afresh.`
            : `The run moved ${TO[message.backend]}${auto} at step ${this.moved.steps} and trains on there; the optimiser's state starts afresh.`;
          this.root.dataset.moved = String(this.moved.steps);
          this.moved = null;
          break;
        }
        if (this.crash) {
          this.status.textContent = `The training worker crashed at step ${this.crash.steps} (${this.crash.message}). Training goes on in a fresh worker ${WHERE[message.backend]} from the last snapshot, step ${this.last.steps}; only the steps after it were lost, and the optimiser's state starts afresh.`;
          this.root.dataset.restarted = String(this.last.steps);
          this.crash = null;
          break;
        }
        this.status.textContent = `Training on ${message.examples.toLocaleString("en")} ${message.what}, ${message.stepsPerEpoch} steps of ${this.train().batchSize ?? this.batch} per epoch, in a Web Worker, ${WHERE[message.backend]}${this.autoReason ? ` (“Auto” passed over WebGPU: ${this.autoReason})` : ""}.${this.goingOn ? ` It goes on from ${this.goingOn.loaded ? loadedName(this.goingOn.file) : `your kept run at step ${this.goingOn.steps}`}; the optimiser's state starts afresh.` : ""}`;
        this.goingOn = null;
        break;
      case "progress":
        this.steps = message.steps;
        for (const s of this.series) if (s.from === "stats") s.points.push([message.steps, s.value(message.stats)]);
        // The last figures after a pause carry no epoch: the view shows the one before.
        this.epoch = message.epoch ?? this.epoch;
        view.progress({ ...message, epoch: this.epoch }, this);
        if (message.stepsPerSecond !== undefined) this.lastPace = message;
        this.showPace();
        this.redraw();
        view.ctx.emit("trainprogress", { kind: this.kind, steps: message.steps, epoch: message.epoch, stats: message.stats });
        break;
      case "snapshot":
        for (const s of this.series) if (s.from === "scores") s.points.push([message.steps, s.value(message.scores)]);
        // Each snapshot's test figures, for a page (or a test) to read: "steps:name=value,…;…".
        this.root.dataset.snapshots = `${this.root.dataset.snapshots ? `${this.root.dataset.snapshots};` : ""}${message.steps}:${Object.entries(message.scores).map(([k, v]) => `${k}=${v}`).join(",")}`;
        view.snapshot(message);
        this.redraw();
        // The weights are a copy: what a listener does with them cannot reach the run.
        view.ctx.emit("trainprogress", { kind: this.kind, steps: message.steps, epoch: message.epoch, scores: message.scores, weights: message.weights.slice() });
        view.ctx.say(`Ready: the figures show your run, step ${message.steps}, trained in a worker ${WHERE[this.root.dataset.backend] ?? ""}; they are computed from its weights on the CPU (WebAssembly).`);
        view.ctx.keepRun({ weights: message.weights, steps: message.steps, epoch: message.epoch, backend: this.root.dataset.backend });
        this.last = { weights: message.weights, steps: message.steps, epoch: message.epoch };
        break;
      case "paused":
        this.unlock(); // the snapshot where it stopped is kept: another tab may train now
        this.setState("paused");
        this.status.textContent = {
          diverged: `Paused: the last step diverged and was rolled back to the last sound weights (${message.message}). Lower the learning rate, then resume.`,
          finished: `Finished ${message.epochs} ${message.epochs === 1 ? "epoch" : "epochs"} (step ${this.steps}). Raise the epoch count, then Resume trains further.`,
        }[message.reason] ?? "Paused. Resume goes on from here.";
        view.ctx.emit("trainend", { kind: this.kind, steps: this.steps, reason: message.reason, message: message.message ?? null });
        break;
      case "failed":
        if (message.refused) return this.refused(message);
        // A GPU that fails mid-run (a lost device, a driver reset) costs only the steps since the
        // last snapshot: a CPU worker goes on from it.
        if (message.started && this.root.dataset.backend === "webgpu" && this.last) return this.onCpu(message);
        // A crash mid-run costs only the steps since the last snapshot too: a fresh worker (a
        // fresh module instance) goes on from it. A second crash before a newer snapshot stops
        // there, so a crash that repeats cannot loop.
        if (message.crashed && message.started && this.last && this.crashedAt !== this.last.steps) return this.afterCrash(message);
        // A run that could not start where it was moved goes on where it was.
        if (this.moved && !message.started) return this.moveBack(message);
        this.stop();
        this.setState("failed");
        message = { ...message, message: oneLine(message.message) };
        this.status.textContent = message.crashed
          ? `The training worker crashed (${message.message}); ${this.last ? `the view shows the last snapshot's weights (step ${this.last.steps})` : "the shipped model is still shown"}. Train again starts a fresh worker.`
          : message.started
            ? `Training stopped at step ${this.steps}: ${message.message}. The view shows the last snapshot's weights (step ${this.last?.steps ?? 0}); Train again starts a fresh run.`
            : `Training could not start: ${message.message}`;
        view.ctx.emit("trainend", { kind: this.kind, steps: this.steps, reason: "failed", message: message.message });
        view.ctx.emit("error", { type: "worker", message: message.message });
        break;
    }
    view.ctx.emit("progress", { stage: "training", kind: this.kind, message: message.type });
  }

  /** Goes on from the last snapshot in a fresh worker on the same backend, after the worker's
   * module crashed mid-run. */
  afterCrash(failure) {
    this.stop({ keepLock: true });
    this.crashedAt = this.last.steps;
    this.crash = { steps: this.steps, message: oneLine(failure.message) };
    this.rewind();
    this.setState("starting");
    this.status.textContent = `The training worker crashed at step ${this.crash.steps} (${this.crash.message}); a fresh worker goes on from the last snapshot, step ${this.last.steps}…`;
    this.root.dataset.crashes = String(Number(this.root.dataset.crashes ?? 0) + 1);
    this.view.ctx.emit("error", { type: "worker", message: `the training worker crashed mid-run (${this.crash.message}); training went on from step ${this.last.steps}` });
    this.launch(this.root.dataset.backend ?? "cpu", this.last);
    this.view.ctx.emit("progress", { stage: "training", kind: this.kind, message: "crashed" });
  }

  /** Forgets the chart's points after the last snapshot: the steps a dead worker took with it. */
  rewind() {
    for (const s of this.series) s.points = s.points.filter(([x]) => x <= this.last.steps);
    this.steps = this.last.steps;
    this.epoch = this.last.epoch;
    this.redraw();
  }

  /** Goes on training on the CPU from the last snapshot, after the GPU failed mid-run. */
  onCpu(failure) {
    this.stop({ keepLock: true });
    this.gpuLost = { steps: this.steps, message: oneLine(failure.message) };
    this.rewind();
    this.backend.value = "cpu";
    this.setState("starting");
    this.status.textContent = `The GPU failed at step ${this.gpuLost.steps} (${this.gpuLost.message}); going on on the CPU from the last snapshot, step ${this.last.steps}…`;
    this.view.ctx.emit("error", { type: "worker", message: `the GPU failed mid-run (${this.gpuLost.message}); training went on on the CPU` });
    this.launch("cpu", this.last);
    this.view.ctx.emit("progress", { stage: "training", kind: this.kind, message: "gpu-lost" });
  }

  redraw() {
    drawChart(this.chart, this.series, { log: this.log });
  }

  /** Hands the person the run's current weights as a .safetensors file (PyTorch's names; the
   * element's `model` attribute and `fromSafetensors` read it back). */
  download(bytes) {
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const link = h("a", { href: url, download: `${FILE_NAMES[this.kind]}-step${this.steps}.safetensors`, hidden: true });
    this.root.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    this.view.ctx.emit("progress", { stage: "saved", kind: this.kind, bytes: bytes.length });
  }

  /** Writes `rows` ([name, value] pairs) into the figures list. */
  show(rows) {
    this.figures.replaceChildren(...rows.flatMap(([name, value]) => [h("dt", { text: name }), h("dd", { text: value })]));
  }

  /** Ends the run and its worker; lets go of the kept run's lock unless a new worker goes on at
   * once (`keepLock`). */
  stop({ keepLock = false } = {}) {
    this.run?.stop();
    this.run = null;
    if (!keepLock) this.unlock();
  }
}

/** Replaces `holder.trained` by the model in `bytes`, freeing the one before. */
export async function adopt(ctx, holder, cls, bytes) {
  const next = ctx.rt.track(await ctx.rt.call(async () => ctx.wasm[cls].fromSafetensors(bytes, { backend: "cpu" })));
  ctx.rt.free(holder.trained);
  holder.trained = next;
  return next;
}

// ---- the adversarial autoencoder ---------------------------------------------------------------

/** The discriminator's learning rate as a multiple of the learning rate (the encoder's). */
const DISCRIMINATOR_RATES = [["1", "× 1 the learning rate (the recipe)"], ["10", "× 10"], ["100", "× 100"]];

/** The AAE's codes over samples of its prior, beside the VAE's codes over N(0, I); train one. */
export class AaeView extends View {
  constructor(ctx) {
    super(ctx, "aae");
    const prior = ctx.option("prior");
    this.sides = {};
    const pair = h("div", { class: "pair" });
    for (const [key, title] of [["aae", `Adversarial autoencoder, prior: ${PRIORS[prior]}`], ["vae", "VAE, its KL term pulling each digit towards N(0, I)"]]) {
      const map = canvas(`${key === "aae" ? "Adversarial autoencoder" : "VAE"} latent map`, 260, 260, "map");
      const side = { map, latentMap: new LatentMap(map, { showPrior: false }), note: this.note("Loading…", "mmd") };
      side.latentMap.setMessage("Loading…");
      this.sides[key] = side;
      pair.append(h("figure", {}, h("figcaption", { text: title }), map, side.note));
    }
    this.samples = canvas("Decoded prior samples", 200, 200, "samples");
    const controls = h("div", { class: "row", part: "controls" });
    if (ctx.controls !== "none") {
      const choice = select("Prior", Object.entries(PRIORS), prior, "select");
      choice.addEventListener("change", () => ctx.setOption("prior", choice.value));
      controls.append(h("label", { class: "mini", text: "prior " }, choice));
    }
    this.panel = new TrainingPanel(this, "aae", [
      { label: "discriminator loss", color: "#1f77b4", from: "stats", value: (s) => s.discriminator },
      { label: "generator loss −log D(code)", color: "#ff7f0e", from: "stats", value: (s) => s.generator },
      { label: "MMD² to the prior (test codes)", color: "#2ca02c", from: "scores", value: (s) => s.mmd2 },
    ]);
    // How fast the discriminator learns against the encoder: faster than the recipe's equal rates,
    // it wins outright and the codes stop moving towards the prior (the panel flags it).
    this.discriminatorRate = select("Discriminator's learning rate", DISCRIMINATOR_RATES, "1", "select");
    this.discriminatorRate.addEventListener("change", () => this.panel.settingsChanged());
    if (ctx.controls === "full") controls.append(h("label", { class: "mini", text: "discriminator learns at " }, this.discriminatorRate));
    this.root.append(
      this.note("An adversarial autoencoder (Makhzani et al., 2015) has no KL term. A discriminator learns to tell the codes from samples of a chosen prior, and the encoder learns to fool it, so the codes come to fill the prior's shape. Grey: 1,000 samples of each prior; colours: the 1,000 test digits' codes. MMD² measures how far the codes' spread is from the prior's (0 when they match)."),
      controls, pair, legend(),
      h("figure", {}, h("figcaption", { text: "16 prior samples decoded by the adversarial autoencoder" }), this.samples),
    );
    if (ctx.controls === "full") this.root.append(this.panel.root);
  }

  trainOptions() {
    return { discriminatorLrScale: Number(this.discriminatorRate.value) };
  }

  modelOptions() {
    const prior = this.ctx.option("prior");
    return { prior: prior === "ring-guided" ? "ring" : prior, labelGuided: prior === "ring-guided", seed: this.ctx.seed() };
  }

  async start() {
    const { ctx } = this;
    this.aae = await ctx.model();
    const vae = await ctx.model("vae-2");
    this.digits = await ctx.rt.testDigits();
    if (this.disposed) return;
    const { pixels, labels } = this.digits;
    await ctx.guard(async () => {
      const n = this.digits.count; // the 1,000 test digits, as many prior samples as the MMD² compares
      // The VAE side: each digit at its μ, over samples of N(0, I).
      const { mu } = await vae.reconstruct(pixels, n);
      const normal = ctx.wasm.standardNormal(2 * n, ctx.seed() + 11);
      this.showSide("vae", mu, normal, "N(0, I)");
      this.aaeCodes = await this.aae.codes(pixels, n);
      this.showAae(this.aae);
    }, "load the adversarial autoencoder");
    ctx.updated();
  }

  /** One map with its backdrop and MMD². */
  showSide(key, codes, prior, priorName) {
    const side = this.sides[key];
    side.latentMap.setMessage(null);
    side.latentMap.setBackdrop(prior);
    side.latentMap.setPoints(codes, this.digits.labels);
    const mmd2 = this.ctx.wasm.mmd2(codes, prior, 2);
    side.note.textContent = `MMD² between the test codes and ${priorName} samples: ${fixed(mmd2, 3)}`;
    return mmd2;
  }

  /** The AAE side from `model` and the codes last computed. */
  async showAae(model) {
    const { ctx } = this;
    const labels = this.digits.labels;
    const guided = model.labelGuided ? labels : undefined;
    const prior = model.priorSamples(this.digits.count, ctx.seed() + 11, guided);
    this.mmd2 = this.showSide("aae", this.aaeCodes, prior, model.labelGuided ? "its digits' own prior parts'" : "prior");
    const z = model.priorSamples(SAMPLE_COUNT, ctx.seed() + 5, model.labelGuided ? Uint8Array.from({ length: SAMPLE_COUNT }, (_, k) => k % 10) : undefined);
    const images = await model.decode(z, SAMPLE_COUNT);
    if (!this.disposed) drawGrid(this.samples, images, SAMPLE_COUNT);
    this.sides.aae.map.dataset.mmd2 = String(this.mmd2);
  }

  progress(message, panel) {
    const s = message.stats;
    panel.show([
      ["steps", `${message.steps} (epoch ${fixed(message.epoch ?? NaN, 1)})`],
      ["reconstruction −log p(x|z)", `${fixed(s.recon, 1)} nats per digit (Bernoulli)`],
      ["discriminator loss", fixed(s.discriminator, 3)],
      ["generator loss −log D(code)", fixed(s.generator, 3)],
      ["mean D on prior samples / on codes", `${fixed(s.dReal)} / ${fixed(s.dFake)}`],
      ["MMD² of the test codes", fixed(this.mmd2, 3)],
    ]);
    const winning = s.discriminatorWins > 0.5;
    panel.flag.hidden = !winning;
    panel.flag.textContent = winning
      ? `The discriminator is winning outright (D > 0.95 on prior samples and < 0.05 on codes in ${Math.round(100 * s.discriminatorWins)}% of the last steps): the encoder gets almost no gradient from it, so its codes stop moving towards the prior. ${this.discriminatorRate.value === "1" ? "Pause and lower the learning rate" : "Set the discriminator's learning rate back to × 1 the learning rate"}, or train again.`
      : "";
  }

  async snapshot(message) {
    const { ctx } = this;
    await ctx.guard(async () => {
      const model = await adopt(ctx, this, "Aae", message.weights);
      if (this.disposed) return;
      this.aaeCodes = message.codes;
      this.sides.aae.note.dataset.steps = String(message.steps);
      await this.showAae(model);
      this.mmd2 = message.scores.mmd2;
      this.sides.aae.note.textContent = `Training, step ${message.steps}: test reconstruction ${fixed(message.scores.recon, 1)} nats per digit; MMD² to the prior ${fixed(message.scores.mmd2, 3)}`;
      ctx.updated();
    }, "show the training model");
  }

  dispose() {
    this.disposed = true;
    this.panel.stop();
    this.ctx.rt.free(this.trained);
  }
}

// ---- the hierarchical VAE ----------------------------------------------------------------------

/** The top layer's map; at the picked z₂, z₁ redrawn, and z₂ moved with z₁'s noise held. */
export class HvaeView extends View {
  constructor(ctx) {
    super(ctx, "hvae");
    this.mapCanvas = canvas("Top-layer latent map (z₂)", 280, 280, "map");
    this.sameTop = canvas("Same z₂, z₁ drawn 8 times", 320, 40, "row");
    this.sameNoise = canvas("Same noise of z₁, z₂ moved across the map", 320, 40, "row");
    this.map = new LatentMap(this.mapCanvas, { onPick: (xy) => this.pick(xy) });
    this.map.setMessage("Loading…");
    this.z2 = [0, 0];
    this.panel = new TrainingPanel(this, "hvae", [
      { label: "−ELBO (train batches)", color: "#1f77b4", from: "stats", value: (s) => s.recon + s.klBottom + s.klTop },
      { label: "KL term of z₁", color: "#ff7f0e", from: "stats", value: (s) => s.klBottom },
      { label: "KL of z₂", color: "#2ca02c", from: "stats", value: (s) => s.klTop },
    ]);
    this.caption = this.note("");
    this.root.append(
      this.note("A hierarchical VAE stacks two layers of latent variables: z₂ ~ N(0, I) (2-D, the map) → z₁ ~ p(z₁|z₂) (16-D) → the digit. Inference runs bottom-up, x → q(z₁|x) → q(z₂|z₁). Each test digit sits at μ₂ of its μ₁. Click, drag or use the arrow keys to pick z₂."),
      h("div", { class: "pair" }, this.mapCanvas,
        h("div", { class: "view" },
          h("figure", {}, h("figcaption", { text: "Same z₂, z₁ drawn 8 times from p(z₁|z₂)" }), this.sameTop),
          h("figure", {}, h("figcaption", { text: "Same noise for z₁, z₂ moved across the map at this height" }), this.sameNoise),
          this.caption)),
      legend(),
    );
    if (ctx.controls === "full") this.root.append(this.panel.root);
  }

  modelOptions() {
    return { seed: this.ctx.seed() };
  }

  async start() {
    const { ctx } = this;
    this.model = await ctx.model();
    this.digits = await ctx.rt.testDigits();
    if (this.disposed) return;
    this.eps = ctx.wasm.standardNormal(ROW * this.model.latentDim, ctx.seed() + 3);
    await ctx.guard(async () => {
      const codes = await this.model.topCodes(this.digits.pixels, this.digits.count);
      this.map.setMessage(null);
      this.map.setPoints(codes, this.digits.labels);
      this.caption.textContent = "Both rows change the digit in this model: its bottom-up inference leaves much of a digit's identity in z₁, not only its style (measured on the shipped model, README: draws of z₁ at one z₂ agree on the nearest test digit's label 32% of the time, draws of z₂ 25%).";
    }, "load the hierarchical VAE");
    await this.draw();
  }

  async pick(xy) {
    this.z2 = xy;
    this.ctx.emit("input", { source: "map" });
    await this.draw();
    this.ctx.emit("change", { source: "map", z: [...xy] });
  }

  receive(kind, value) {
    if (kind === "latent" && value.z.length === 2) {
      this.z2 = value.z;
      this.draw();
    }
  }

  async draw() {
    const model = this.trained ?? this.model;
    if (!model) return;
    const [x, y] = this.z2;
    const top = this.model.latentTop;
    await this.ctx.guard(async () => {
      this.map.setProbe([x, y], null);
      const held = Float32Array.from({ length: ROW * top }, (_, i) => this.z2[i % top]);
      const across = Float32Array.from({ length: ROW * top }, (_, i) => (i % top === 0 ? -2.5 + (5 * Math.floor(i / top)) / (ROW - 1) : y));
      const first = this.eps.slice(0, model.latentDim);
      const sameNoise = Float32Array.from({ length: this.eps.length }, (_, i) => first[i % model.latentDim]);
      const [a, b] = await Promise.all([model.generate(held, ROW, this.eps), model.generate(across, ROW, sameNoise)]);
      if (this.disposed) return;
      drawRow(this.sameTop, a, ROW);
      drawRow(this.sameNoise, b, ROW);
      this.ctx.updated();
    }, "generate from z₂");
  }

  progress(message, panel) {
    const s = message.stats;
    panel.show([
      ["steps", `${message.steps} (epoch ${fixed(message.epoch ?? NaN, 1)})`],
      ["−ELBO = recon + KL(z₁) + KL(z₂)", `${fixed(s.recon + s.klBottom + s.klTop, 1)} = ${fixed(s.recon, 1)} + ${fixed(s.klBottom, 1)} + ${fixed(s.klTop, 2)} nats per digit (Bernoulli, training batches)`],
      ...(this.scores ? [
        ["test −ELBO (one draw)", `${fixed(this.scores.negElbo, 1)} nats per digit`],
        ["active units z₁ / z₂", `${this.scores.activeBottom} of ${this.model.latentDim} / ${this.scores.activeTop} of ${this.model.latentTop}`],
      ] : []),
    ]);
  }

  async snapshot(message) {
    const { ctx } = this;
    this.scores = message.scores;
    await ctx.guard(async () => {
      await adopt(ctx, this, "Hvae", message.weights);
      if (this.disposed) return;
      this.map.setPoints(message.codes, this.digits.labels);
      this.mapCanvas.dataset.steps = String(message.steps);
    }, "show the training model");
    await this.draw();
  }

  state() {
    return { latent: [...this.z2] };
  }

  dispose() {
    this.disposed = true;
    this.panel.stop();
    this.ctx.rt.free(this.trained);
  }
}
