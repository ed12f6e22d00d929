// The training panel: settings, start / pause / resume / reset, live charts, progress, upload and
// download, and keeping the run in IndexedDB. The training itself runs in train-worker.js; this
// module only talks to it (worker-protocol.js) and hands each snapshot to the page.

import uPlot from "./vendor/uPlot.esm.js";
import { acceptsSetting } from "./url-state.js";
import { TRAINING_SETTINGS } from "./widget-settings.js";
import { deleteRun, holdRunLock, loadRun, saveRun, watchOtherTabs, withRunLock } from "./store.js";
import { compiledModule } from "./widget-runtime.js";
import { Requests } from "./worker-protocol.js";

const $ = (id) => document.getElementById(id);
const SAVE_MS = 3000;

/** The controls whose values make up the settings, each with its row of the settings table:
 * name → [control id, row]. */
const FIELDS = Object.fromEntries(TRAINING_SETTINGS.map((row) => [row.name, [row.control, row]]));

/** A control's text as its setting's value (the checks that refuse junk are at the URL and the file). */
const read = (row, text) => (row.type === "number" ? Number(text) : text);

/** Settings fixed once a model exists: they define its architecture or its start. */
const ARCHITECTURE = ["kind", "latent", "hidden", "likelihood", "sigmaX", "seed"];

const emptyHistory = () => ({ step: [], loss: [], recon: [], kl: [], epoch: [], testNegElbo: [], testScoreAtMean: [] });

export class TrainingPanel {
  /**
   * `onModel(weights, { restore })`: a new version of the user's model (a training snapshot's, an
   * upload's, or the one kept in this browser, `restore`). `onReset()`: the model is gone.
   * `onSettings()`: a setting changed (for the URL).
   */
  constructor({ onModel, onReset, onSettings, validate }) {
    this.onModel = onModel;
    this.onReset = onReset;
    this.onSettings = onSettings;
    this.validate = validate; // bytes → settings of a loadable model, or throws
    this.worker = null;
    this.workerReady = null;
    this.requests = null; // the requests open to this.worker
    this.workerHasModel = false;
    this.running = false;
    this.weights = null; // the latest safetensors bytes of the user's model
    this.meta = null; // { kind, latent, hidden, likelihood, seed } of that model
    this.steps = 0;
    this.epochsDone = 0;
    this.history = emptyHistory();
    this.lastSave = 0;
    this.progressInfo = null;
    this.sigmaX = null; // σ_x of a Gaussian model's latest step
    window.vaePlayground.training = this;

    $("train-start").addEventListener("click", () => this.start());
    $("train-pause").addEventListener("click", () => this.pause());
    $("train-reset").addEventListener("click", () => this.reset());
    $("train-download").addEventListener("click", () => this.download());
    $("train-backend").addEventListener("change", () => this.switchBackend());
    $("train-upload").addEventListener("change", (e) => this.upload(e.target.files?.[0]).finally(() => (e.target.value = "")));
    $("train-beta-value").textContent = $("train-beta").value;
    for (const [key, [id]] of Object.entries(FIELDS)) {
      $(id).addEventListener("input", () => {
        if (key === "beta") $("train-beta-value").textContent = $(id).value;
        this.worker?.postMessage({ type: "settings", settings: this.settings() });
        this.onSettings?.();
      });
    }
    this.lockRelease = null; // set while this tab owns the saved run (it is training)
    this.otherTab = null; // what another tab last did to the saved run
    watchOtherTabs((change) => {
      this.otherTab = change;
      this.status(
        change.type === "reset"
          ? "Another tab of this playground reset the saved model. Reload this page to start afresh, or train here to save this tab's model again."
          : `Another tab of this playground saved its model (step ${change.steps}). Reload this page to continue from it; training here would replace it.`,
      );
      document.body.dataset.otherTab = change.type;
    });
    this.charts();
    this.render();
  }

  /** Runs `work` while this tab owns the saved run; refuses, saying why, while another tab trains. */
  owned(work, what) {
    if (this.lockRelease) return work();
    return withRunLock(work, () => {
      this.status(`${what} has to wait: training runs in another tab of this playground. Pause it there first, so the two tabs do not overwrite each other's saved model.`);
      document.body.dataset.lockRefused = what;
    });
  }

  releaseLock() {
    this.lockRelease?.();
    this.lockRelease = null;
  }

  /** Current values of the settings controls. */
  settings() {
    const out = {};
    for (const [key, [id, row]] of Object.entries(FIELDS)) out[key] = read(row, $(id).value);
    // A typed number can be out of the table's range: it is brought back into it.
    const into = ({ range: { min, max } }, v) => Math.max(min, Math.min(max, Math.round(v) || min));
    out.epochs = into(FIELDS.epochs[1], out.epochs);
    out.seed = into(FIELDS.seed[1], out.seed);
    return out;
  }

  /** Sets controls from an object of settings (URL or saved run); a value the control does not
   * offer (an unknown option, a number out of its range or off its step) is left out. */
  applySettings(values) {
    for (const [key, [id, row]] of Object.entries(FIELDS)) {
      if (values[key] === undefined || values[key] === null) continue;
      const text = String(values[key]);
      if (acceptsSetting(row, text)) $(id).value = text;
    }
    $("train-beta-value").textContent = $("train-beta").value;
  }

  // ---- charts ---------------------------------------------------------------------------------

  charts() {
    const width = Math.min(420, $("loss-chart").clientWidth || 420);
    const axes = (yLabel) => [{ label: "" }, { label: yLabel, size: 52 }];
    this.lossChart = new uPlot(
      {
        width, height: 200, legend: { live: false },
        scales: { x: { time: false }, kl: { auto: true } },
        series: [
          { label: "step" },
          { label: "loss (recon + β·KL)", stroke: "#1d1f24", width: 1.5 },
          { label: "reconstruction", stroke: "#1f77b4", width: 1 },
          { label: "KL (right axis)", stroke: "#d62728", width: 1, scale: "kl" },
        ],
        axes: [...axes("nats / digit"), { scale: "kl", side: 1, size: 40, grid: { show: false } }],
      },
      [[], [], [], []],
      $("loss-chart"),
    );
    this.elboChart = new uPlot(
      {
        width, height: 160, legend: { live: false },
        scales: { x: { time: false } },
        series: [
          { label: "epoch" },
          { label: "test −ELBO, one draw of q(z|x) per digit", stroke: "#2ca02c", width: 1.5, points: { show: true } },
          { label: "test reconstruction at z = μ, plus KL", stroke: "#9467bd", width: 1.5, points: { show: true } },
        ],
        axes: axes("nats / digit"),
      },
      [[], [], []],
      $("elbo-chart"),
    );
  }

  redrawCharts() {
    const h = this.history;
    this.lossChart.setData([h.step, h.loss, h.recon, h.kl]);
    this.elboChart.setData([h.epoch, h.testNegElbo, h.testScoreAtMean]);
  }

  // ---- the worker -------------------------------------------------------------------------------

  /** The worker, started: resolves once it has loaded its build and the digits. */
  ensureWorker() {
    if (this.worker) return this.workerReady;
    const worker = new Worker(new URL("./train-worker.js", import.meta.url), { type: "module" });
    const requests = new Requests((message, transfer) => worker.postMessage(message, transfer));
    this.worker = worker;
    this.requests = requests;
    worker.onmessage = ({ data }) => {
      // An answer settles its request, whose caller says what went wrong; notices go to message().
      if (!requests.settle(data)) this.message(data);
    };
    worker.onerror = (e) => {
      const why = e.message || "the training worker failed to start";
      if (!requests.abandon(why, { type: "failed", message: why })) this.failed(why);
    };
    // The worker instantiates the module the page already compiled (a fresh instance of its own).
    const backend = $("train-backend").value;
    this.workerReady = compiledModule().then(
      (module) => requests.send({ type: "start", backend, module }),
      () => requests.send({ type: "start", backend }),
    );
    // The caller that waits on it says why; Train again starts a fresh worker.
    this.workerReady.catch(() => this.worker === worker && this.dropWorker("its start failed"));
    return this.workerReady;
  }

  /** Ends the worker; a request still open rejects with `why`. */
  dropWorker(why) {
    this.worker?.terminate();
    this.requests?.abandon(why);
    this.worker = null;
    this.requests = null;
    this.workerHasModel = false;
  }

  failed(message) {
    this.running = false;
    this.releaseLock();
    this.status(`Training stopped: ${message}. Your model is unchanged.`);
    this.render();
  }

  message(data) {
    switch (data.type) {
      case "failed": // a notice that failed (no request waits on it)
        return this.failed(data.message);
      case "running":
        this.running = true;
        return this.render();
      case "progress":
        return this.progress(data);
      case "epoch":
        this.epochsDone = data.epoch;
        this.history.epoch.push(data.epoch);
        this.history.testNegElbo.push(data.scores.negElbo);
        this.history.testScoreAtMean.push(data.scores.scoreAtMean);
        this.redrawCharts();
        $("train-epoch-elbo").textContent = this.meta?.kind === "autoencoder"
          ? `Test reconstruction error after epoch ${data.epoch}: ${data.scores.scoreAtMean.toFixed(1)} nats per digit (an autoencoder has no ELBO).`
          : `Test −ELBO after epoch ${data.epoch}: ${data.scores.negElbo.toFixed(1)} nats per digit (one draw of q(z|x) each); reconstruction at z = μ plus KL: ${data.scores.scoreAtMean.toFixed(1)}.`;
        return;
      case "snapshot":
        return this.snapshot(data);
      case "stopped":
        return this.stopped(data);
      case "loading": {
        const mb = (n) => (n / 1e6).toFixed(1);
        $("train-progress-text").textContent = data.total
          ? `Loading ${data.what}… ${Math.round((100 * data.loaded) / data.total)}% of ${mb(data.total)} MB`
          : `Loading ${data.what}… ${mb(data.loaded)} MB`;
        return;
      }
      case "backend":
        return this.showBackend(data);
      case "device-lost":
        return this.recover(`the GPU device was lost (${data.message})`);
    }
  }

  /** Says in words where training runs, and why not on the GPU if it could have. */
  showBackend({ backend, reason }) {
    this.backend = backend;
    document.body.dataset.trainBackend = backend;
    const chosen = $("train-backend").value;
    $("train-backend-status").textContent =
      backend === "webgpu"
        ? "Training runs on your GPU (WebGPU)."
        : this.lostGpu
          ? `Training runs on the CPU (WebAssembly) since the GPU failed: ${this.lostGpu}.`
          : reason
          ? `Training runs on the CPU (WebAssembly) — WebGPU not available: ${reason}.`
          : `Training runs on the CPU (WebAssembly)${chosen === "cpu" ? ", as chosen" : ""}.`;
  }

  /** The GPU failed mid-run: carry on on the CPU from the last weights the page holds. */
  async recover(why) {
    if (this.recovering) return;
    this.recovering = true;
    why = why.split("\n")[0].replace(/[:\s]+$/, "");
    this.lostGpu = why;
    this.rewindToWeights();
    this.dropWorker(`the GPU failed (${why})`);
    this.running = false;
    $("train-backend").value = "cpu";
    this.onSettings?.();
    document.body.dataset.recovered = "true";
    await this.start();
    this.status(`Your GPU stopped working (${why}). Training goes on on the CPU from the last saved weights (step ${this.steps}); nothing you trained before them is lost.`);
    this.recovering = false;
  }

  /** Forgets the steps taken after the weights the page holds, which a dead worker took with it. */
  rewindToWeights() {
    if (this.weightsStep === undefined) return;
    this.steps = this.weightsStep;
    const h = this.history;
    const keep = h.step.findIndex((s) => s > this.steps);
    if (keep >= 0) for (const key of ["step", "loss", "recon", "kl"]) h[key].length = keep;
    this.redrawCharts();
  }

  /** The worker's module crashed: restart on a fresh worker (a fresh module instance) from the
   * last snapshot's weights and go on. A second crash with no progress in between stops there,
   * so a crash that repeats cannot loop. */
  async restartAfterCrash(message) {
    this.dropWorker(`the training module crashed (${message})`);
    this.running = false;
    this.resolveStopped?.();
    this.resolveStopped = null;
    this.rewindToWeights();
    document.body.dataset.crashes = String(Number(document.body.dataset.crashes ?? 0) + 1);
    const again = this.crashedAt === this.steps;
    this.crashedAt = this.steps;
    if (again || !this.weights) {
      this.status(`The training module crashed (${message}) at step ${this.steps} again. Your model from step ${this.steps} is kept: press Resume training to try once more, or download it.`);
      document.body.dataset.training = "crashed";
      this.render();
      return;
    }
    await this.start();
    this.status(`The training module crashed (${message}). It was restarted from your last saved weights (step ${this.steps}) and training goes on; nothing before that step is lost.`);
    document.body.dataset.restarted = String(this.steps);
  }

  /** Moves the model to the backend now chosen: pause, restart the worker, load, go on. */
  async switchBackend() {
    this.lostGpu = null;
    if (!this.worker) return;
    const wasRunning = this.running;
    if (wasRunning) {
      const stopped = new Promise((resolve) => (this.resolveStopped = resolve));
      this.pause();
      await stopped;
    }
    this.dropWorker("the backend was changed");
    if (wasRunning) await this.start();
    else this.status("The new backend is used when you press Resume training.");
  }

  progress({ points, epoch, stepInEpoch, stepsPerEpoch, stepsPerSecond, step, memory, sigmaX }) {
    if (sigmaX !== undefined) this.sigmaX = sigmaX; // the Gaussian likelihood's σ_x after the latest step (null: Bernoulli)
    if (memory) this.workerMemory = memory; // the worker's wasm memory, bytes (for bench/soak.mjs)
    const h = this.history;
    for (const [s, loss, recon, kl] of points) {
      h.step.push(s);
      h.loss.push(loss);
      h.recon.push(recon);
      h.kl.push(kl);
    }
    this.steps = step;
    this.redrawCharts();
    if (stepsPerEpoch) {
      this.progressInfo = { epoch, stepInEpoch, stepsPerEpoch, stepsPerSecond };
      this.showProgress();
    }
  }

  showProgress() {
    const p = this.progressInfo;
    const { epochs } = this.settings();
    if (!p) return;
    const done = p.epoch * p.stepsPerEpoch + p.stepInEpoch;
    const total = epochs * p.stepsPerEpoch;
    $("train-progress").max = total;
    $("train-progress").value = Math.min(done, total);
    const left = Math.max(0, (total - done) / Math.max(p.stepsPerSecond, 1e-9));
    const time = left >= 60 ? `${Math.floor(left / 60)} min ${Math.round(left % 60)} s` : `${Math.round(left)} s`;
    $("train-progress-text").textContent =
      `Epoch ${Math.min(p.epoch + 1, epochs)} of ${epochs} · step ${this.steps} · ${p.stepsPerSecond.toFixed(1)} steps/s` +
      (this.sigmaX != null ? ` · σₓ = ${this.sigmaX.toFixed(3)}` : "") +
      (this.running ? ` · about ${time} left` : "");
    window.vaePlayground.stepsPerSecond = p.stepsPerSecond;
  }

  snapshot(data) {
    this.weights = data.weights;
    this.steps = data.step;
    this.weightsStep = data.step;
    this.onModel(data.weights);
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
    if (performance.now() - this.lastSave > SAVE_MS) this.save();
  }

  stopped({ reason, message, epoch }) {
    if (reason === "gpu-failed") return this.recover(/disagreed/.test(message) ? message : `WebGPU reported an error: ${message}`);
    if (reason === "crashed") return this.restartAfterCrash(message);
    this.running = false;
    this.resolveStopped?.();
    this.resolveStopped = null;
    this.epochsDone = epoch;
    const texts = {
      paused: "Paused. Press Resume training to go on; your model is saved in this browser.",
      finished: `Finished ${epoch} epochs. Raise the epoch count and press Resume training to train further.`,
      diverged: `Training stopped — ${message}. Lower the learning rate, then press Resume training to go on from there.`,
      error: `Training stopped: ${message}. Your model is unchanged.`,
    };
    this.status(texts[reason] ?? texts.error);
    document.body.dataset.training = reason;
    // The run's lock goes with the save, unless training started again meanwhile (a backend switch).
    this.save().finally(() => !this.running && !this.starting && this.releaseLock());
    this.render();
  }

  status(text) {
    $("train-status").textContent = text;
  }

  // ---- actions ----------------------------------------------------------------------------------

  async start() {
    if (this.running) return;
    if (this.otherTab && !this.lockRelease && $("train-start").dataset.confirm !== "yes") {
      $("train-start").dataset.confirm = "yes";
      this.status("Another tab changed the saved model since this page loaded. Press again to train this tab's model anyway (it replaces the other tab's), or reload to continue from theirs.");
      return;
    }
    $("train-start").dataset.confirm = "";
    if (!this.lockRelease) {
      this.lockRelease = await holdRunLock();
      if (!this.lockRelease) {
        this.status("Training already runs in another tab of this playground. Pause it there first, so the two tabs do not overwrite each other's saved model.");
        document.body.dataset.lockRefused = "training";
        return;
      }
    }
    this.otherTab = null;
    $("train-start").disabled = true;
    this.status("Starting the trainer…");
    this.starting = true;
    try {
      await this.ensureWorker();
      const settings = this.settings();
      if (!this.workerHasModel) {
        if (this.weights) {
          const s = { ...settings, ...this.meta, stepOffset: this.steps, epochsDone: this.epochsDone };
          const copy = this.weights.slice();
          await this.requests.send({ type: "load", settings: s, weights: copy.buffer }, [copy.buffer]);
        } else {
          const meta = pick(settings, ARCHITECTURE);
          await this.requests.send({ type: "create", settings });
          this.meta = meta;
        }
        this.workerHasModel = true;
      }
      this.worker.postMessage({ type: "settings", settings: { ...this.settings(), epochsDone: this.epochsDone } });
      this.running = true;
      document.body.dataset.training = "running";
      this.status("Training… the views above update every few seconds.");
      this.worker.postMessage({ type: "run" });
    } catch (e) {
      this.failed(e?.message ?? e);
    } finally {
      this.starting = false;
    }
    this.render();
  }

  pause() {
    this.worker?.postMessage({ type: "pause" });
    this.status("Pausing after this step…");
  }

  async reset() {
    const button = $("train-reset");
    if (button.dataset.confirm !== "yes") {
      button.dataset.confirm = "yes";
      button.textContent = "Really reset? Click again";
      this.status("Reset deletes your trained model from this browser. Download it first to keep it; click again to reset.");
      setTimeout(() => {
        button.dataset.confirm = "";
        button.textContent = "Reset";
      }, 5000);
      return;
    }
    button.dataset.confirm = "";
    button.textContent = "Reset";
    await this.owned(() => this.forget(), "Reset");
  }

  /** Reset, once confirmed and while this tab owns the saved run. */
  async forget() {
    this.worker?.postMessage({ type: "reset" });
    this.running = false;
    this.workerHasModel = false;
    this.weights = null;
    this.meta = null;
    this.steps = 0;
    this.weightsStep = undefined;
    this.epochsDone = 0;
    this.sigmaX = null;
    this.progressInfo = null;
    this.history = emptyHistory();
    this.redrawCharts();
    $("train-progress").value = 0;
    $("train-progress-text").textContent = "";
    $("train-epoch-elbo").textContent = "";
    this.releaseLock();
    this.damaged = false;
    let deleted = "";
    await deleteRun().catch((e) => (deleted = ` (the copy saved in this browser could not be deleted: ${e?.message ?? e})`));
    this.onReset();
    this.status(`Reset${deleted}. Choose settings and press Train.`);
    document.body.dataset.training = "reset";
    this.render();
  }

  download() {
    if (!this.weights) return;
    const m = this.meta;
    const name = `vae-${m.kind}-latent${m.latent}-${this.steps}steps.safetensors`;
    const url = URL.createObjectURL(new Blob([this.weights], { type: "application/octet-stream" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    this.status(`Downloaded ${name}.`);
  }

  /** Loads a .safetensors file as the user's model; a bad file changes nothing. */
  async upload(file) {
    if (!file) return;
    if (this.running) {
      this.status("Pause training before loading a file.");
      return;
    }
    await this.owned(() => this.load(file), `Loading ${file.name}`);
    this.render();
  }

  async load(file) {
    try {
      if (file.size > 64 * 1024 * 1024) throw new Error("the file is larger than 64 MB");
      const bytes = new Uint8Array(await file.arrayBuffer());
      const meta = await this.validate(bytes);
      this.weights = bytes;
      this.meta = { ...meta, seed: this.settings().seed };
      this.applySettings(this.meta);
      this.workerHasModel = false;
      this.steps = 0;
      this.weightsStep = 0;
      this.epochsDone = 0;
      this.history = emptyHistory();
      this.redrawCharts();
      await this.onModel(bytes);
      const unsaved = await this.save();
      this.status(
        `Loaded ${file.name}: a ${meta.kind} with latent ${meta.latent} and hidden ${meta.hidden}. ` +
          (unsaved ? `It could not be saved in this browser (${unsaved}): download it again to keep it.` : "Press Train to fine-tune it."),
      );
      document.body.dataset.upload = "ok";
    } catch (e) {
      this.status(`Could not load ${file.name}: ${e?.message ?? e}. Nothing was changed.`);
      document.body.dataset.upload = "rejected";
    }
  }

  /** Brings back the run saved in this browser, if any: all of it or, if any part is damaged,
   * none of it (the damaged record is kept until Reset, which stays enabled to clear it). */
  async restore() {
    let run = null;
    try {
      run = await loadRun();
      if (!run) return false;
      const meta = await this.validate(run.weights);
      await this.onModel(run.weights, { restore: true });
      // Only now, with everything checked and the model built, does the panel change.
      this.weights = run.weights;
      this.meta = { ...meta, seed: run.settings.seed ?? 1 };
      this.applySettings({ ...run.settings, ...this.meta });
      this.history = { ...emptyHistory(), ...run.history };
      this.steps = run.steps ?? 0;
      this.weightsStep = this.steps;
      this.epochsDone = run.epochsDone ?? 0;
      this.redrawCharts();
      const when = new Date(run.savedAt).toLocaleString();
      this.status(`Your model from ${when} is back (${this.steps} steps, ${this.epochsDone} epochs). Press Resume training to go on.`);
    } catch (e) {
      this.damaged = true;
      this.status(`Your saved model could not be restored: ${e?.message ?? e}. Nothing of it was applied; training still works, and Reset clears the saved copy.`);
      document.body.dataset.restore = "failed";
    }
    this.render();
    return Boolean(this.weights);
  }

  /** Saves the run in IndexedDB; resolves to null, or to why it could not be saved (also shown). */
  async save() {
    if (!this.weights) return null;
    this.lastSave = performance.now();
    try {
      await saveRun({
        settings: { ...this.settings(), ...this.meta },
        history: this.history,
        weights: this.weights,
        steps: this.weightsStep ?? this.steps, // the step the weights are from
        epochsDone: this.epochsDone,
      });
      document.body.dataset.saved = String(this.steps);
      return null;
    } catch (e) {
      const why = String(e?.message ?? e);
      this.status(`Could not save your model in this browser: ${why}. Download it to keep it.`);
      return why;
    }
  }

  /** Buttons and fields enabled as the state allows. */
  render() {
    const has = Boolean(this.weights) || this.workerHasModel;
    $("train-start").disabled = this.running;
    $("train-start").textContent = has ? "Resume training" : "Train";
    $("train-pause").disabled = !this.running;
    $("train-reset").disabled = !has && !this.history.step.length && !this.damaged;
    $("train-download").disabled = !this.weights;
    $("train-upload").disabled = this.running;
    for (const key of ARCHITECTURE) $(FIELDS[key][0]).disabled = has;
    $("train-arch-note").hidden = !has;
    this.showProgress();
  }
}

function pick(object, keys) {
  return Object.fromEntries(keys.map((k) => [k, object[k]]));
}
