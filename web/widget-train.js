// The `train` view: the page's "train your own" as an element. A person picks the model (VAE, plain
// autoencoder or conditional VAE), its sizes, likelihood, σₓ and seed, and β, the learning rate, the
// batch size and the epochs (the settings table's rows, as attributes too), trains it from scratch in
// a Web Worker (`family-worker.js`, the same loop as the family's views) and watches it learn: the
// loss and its two terms per step, the test figures at each snapshot, the test digits' map, decoded
// prior samples and reconstructions of test digits. No math here: every number comes from the
// wasm module.

import { drawGrid, drawRow } from "./render.js";
import { LatentMap } from "./latent-map.js";
import { kindName } from "./labels.js";
import { TrainingPanel, adopt, fixed } from "./widget-family.js";
import { View, canvas, h, legend, select } from "./widget-views.js";
import { SETTING, propertyName } from "./widget-settings.js";

const SAMPLE_COUNT = 16;
const SAMPLE_SEED = 99; // the same prior points at every snapshot, so what changes is the model
const ROW = 8; // test digits shown beside their reconstructions: the first 0, 1, …, 7 of the test set

/** The run's settings this view offers, by attribute: every choice, range and default is the
 * settings table's (widget-settings.js), as the page's training panel's are. */
const ARCHITECTURE = ["kind", "latent-size", "hidden-units", "likelihood", "sigma"];
const STEP = ["sigma-rule", "beta", "batch-size", "epochs"];
/** Every setting of a run but the learning rate, which is the panel's control. */
const RUN = [...ARCHITECTURE, ...STEP, "seed"];
const LABELS = { kind: "Model kind", "latent-size": "Latent size", "hidden-units": "Hidden units", likelihood: "Likelihood", sigma: "σₓ (Gaussian)", "sigma-rule": "σₓ while training", beta: "β", "batch-size": "Batch size", epochs: "Epochs", seed: "Seed" };
const SHORT = { kind: "model ", "latent-size": "latent ", "hidden-units": "hidden ", likelihood: "likelihood ", sigma: "σₓ ", "sigma-rule": "σₓ is ", beta: "β ", "batch-size": "batch ", epochs: "epochs ", seed: "seed " };

/** The control of the table's row for `attr`, showing `value`: a select of its choices, or a number
 * input (a slider for β) on its range. */
function control(attr, value) {
  const row = SETTING[attr];
  if (row.choices) return select(LABELS[attr], row.choices, value, "select");
  const { min, max, step } = row.range;
  return h("input", { type: attr === "beta" ? "range" : "number", min, max, step, value, "aria-label": LABELS[attr], part: attr === "beta" ? "range" : "input" });
}

/** "a VAE", "an autoencoder", "a conditional VAE". */
const aKind = (model) => `${/^[aeiou]/.test(kindName(model)) ? "an" : "a"} ${kindName(model)}`;
const likelihoodWords = (model) => (model.likelihood === "gaussian" ? `Gaussian likelihood, σₓ = ${fixed(model.sigmaX, 3)}` : "Bernoulli likelihood");
const unit = (likelihood) => (likelihood === "gaussian" ? "nats per digit (Gaussian density)" : "nats per digit (Bernoulli)");

export class TrainView extends View {
  constructor(ctx) {
    super(ctx, "train");
    this.controls = {};
    for (const attr of [...ARCHITECTURE, ...STEP, "seed"]) this.controls[attr] = control(attr, ctx.option(attr));
    this.betaText = h("output", { text: String(ctx.option("beta")) });
    this.epochFigures = []; // [epoch, test score] after each epoch of the run
    this.panel = new TrainingPanel(this, "vae", [
      { label: "loss = reconstruction + β·KL (batches)", color: "#1d1f24", from: "stats", value: (s) => s.loss },
      { label: "reconstruction −log p(x|z)", color: "#1f77b4", from: "stats", value: (s) => s.recon },
      { label: "KL(q(z|x) ‖ N(0, I))", color: "#d62728", from: "stats", value: (s) => s.kl },
      // An autoencoder has no ELBO: its test figure is the reconstruction error at z = μ.
      { label: "test −ELBO, one draw per digit", color: "#2ca02c", from: "scores", value: (s) => (this.value("kind") === "autoencoder" ? s.scoreAtMean : s.negElbo) },
    ], { batch: SETTING["batch-size"].default, rates: SETTING.lr.choices, rate: String(ctx.option("lr")), upload: true });
    for (const attr of STEP) {
      this.controls[attr].addEventListener(attr === "beta" ? "input" : "change", () => {
        this.betaText.textContent = this.controls.beta.value;
        this.panel.settingsChanged();
      });
    }
    // A person's choice is the widget's state (getState, persist) and fires `change`.
    for (const control of [...Object.values(this.controls), this.panel.lr]) {
      control.addEventListener(control === this.controls.beta ? "input" : "change", () => ctx.emit("change", { source: "settings", settings: this.state() }));
    }
    this.mapCanvas = canvas("Latent map of the test digits", 260, 260, "map");
    this.map = new LatentMap(this.mapCanvas);
    this.map.setMessage("Loading…");
    this.samples = canvas("Decoded prior samples", 200, 200, "samples");
    this.originals = canvas("Test digits", 240, 30, "row");
    this.rebuilt = canvas("Their reconstructions", 240, 30, "row");
    this.shownNote = this.note("Loading…", "shown");
    this.mapNote = this.note("");
    const labelled = (attr, ...extra) => h("label", { class: "mini", text: SHORT[attr] }, this.controls[attr], ...extra);
    const settings = h("div", { class: "row", part: "controls" },
      ...ARCHITECTURE.map((attr) => labelled(attr)), labelled("seed"),
      ...STEP.map((attr) => (attr === "beta" ? labelled(attr, this.betaText) : labelled(attr))));
    this.root.append(
      this.note("Train a model from scratch on the 9,000 training digits, here in this tab, and watch it learn. Each step lowers reconstruction + β·KL on a batch of digits; the views below follow the model every two seconds. Model, sizes, likelihood, σₓ and seed are fixed once a run starts; β, the learning rate, the batch size, the epochs and whether σₓ is learned apply from the next step."),
      ...(ctx.controls === "full" ? [settings] : []),
      ...(ctx.controls !== "none" ? [this.panel.root] : []),
      this.shownNote,
      h("div", { class: "pair" },
        h("figure", {}, h("figcaption", { text: "The 1,000 test digits, each at its μ" }), this.mapCanvas, this.mapNote),
        h("div", { class: "view" },
          h("figure", {}, h("figcaption", { text: "16 prior samples z ~ N(0, I), decoded" }), this.samples),
          h("figure", {}, h("figcaption", { text: "Test digits, and their reconstructions at z = μ" }), this.originals, this.rebuilt))),
      legend(),
    );
  }

  /** The run's settings as the controls show them, by property name (getState's keys: strings, as
   * attributes are). */
  state() {
    const out = {};
    for (const attr of [...RUN, "lr"]) out[propertyName(attr)] = this.control(attr).value;
    return out;
  }

  /** Sets the controls from a state (setState, or one `persist` kept); a value the table refuses is
   * left out. With a run shown (kept, or loaded weights) its architecture stays the model's. */
  async restore(state) {
    const shownRun = Boolean(this.panel.kept);
    for (const attr of [...RUN, "lr"]) {
      const value = state[propertyName(attr)];
      if (value == null || (shownRun && ARCHITECTURE.includes(attr)) || this.control(attr).disabled) continue;
      try {
        SETTING[attr].parse(String(value));
      } catch {
        continue;
      }
      this.control(attr).value = String(value);
    }
    this.betaText.textContent = this.controls.beta.value;
    this.panel.settingsChanged();
  }

  /** Whether the controls already hold `value` for `attr` (an attribute set to it changes nothing,
   * so setState(getState()) keeps a run). */
  holds(attr, value) {
    if (![...RUN, "lr"].includes(attr)) return false;
    try {
      return SETTING[attr].parse(this.control(attr).value) === value;
    } catch {
      return false;
    }
  }

  /** The control of the run's setting `attr` (the learning rate's is the panel's). */
  control(attr) {
    return attr === "lr" ? this.panel.lr : this.controls[attr];
  }

  /** The value of the control for `attr`, as the settings table reads it. */
  value(attr) {
    const text = this.controls[attr].value;
    return SETTING[attr].type === "number" ? Number(text) : text;
  }

  /** The model a fresh run builds, from the controls. */
  modelOptions() {
    return {
      kind: this.value("kind"),
      latentDim: this.value("latent-size"),
      hidden: this.value("hidden-units"),
      likelihood: this.value("likelihood"),
      sigmaX: this.value("sigma"),
      seed: this.parsed("seed"),
    };
  }

  /** The control's value for `attr` if the settings table accepts it (a typed number input can
   * hold anything); else the element's option. */
  parsed(attr) {
    try {
      return SETTING[attr].parse(this.controls[attr].value);
    } catch {
      return this.ctx.option(attr);
    }
  }

  /** The step's settings beside the learning rate (they apply from the next step). */
  trainOptions() {
    const likelihood = this.value("likelihood");
    return { beta: this.value("beta"), batchSize: this.value("batch-size"), likelihood, learnSigmaX: likelihood === "gaussian" && this.value("sigma-rule") === "learned" };
  }

  /** The epochs after which a run pauses, finished. */
  epochLimit() {
    return this.parsed("epochs");
  }

  /** A live option changed (beta, lr, batch-size, epochs, sigma-rule, seed): the control shows it
   * and a run takes it from its next step. */
  option(name, value) {
    if (name === "lr") this.panel.lr.value = String(value);
    else if (this.controls[name]) this.controls[name].value = String(value);
    else return;
    this.betaText.textContent = this.controls.beta.value;
    this.panel.settingsChanged();
  }

  /** Architecture is fixed while a run exists; the step's settings stay free. */
  runState(state) {
    const fixedNow = state === "starting" || state === "running" || state === "paused";
    for (const attr of [...ARCHITECTURE, "seed"]) this.controls[attr].disabled = fixedNow;
    if (state !== "starting") return;
    // A run that goes on in a new worker (after a crash, a lost GPU, a move) keeps its epochs' figures.
    if (!this.panel.crash && !this.panel.gpuLost && !this.panel.moved && !this.panel.stayed) {
      this.epochFigures = [];
      delete this.root.dataset.epochs;
    }
    // A Gaussian density's nats can go below zero, where a log scale has no place for them.
    this.panel.setLog(this.value("likelihood") !== "gaussian");
    // The legend names what this run's series are: an autoencoder has no KL term and no ELBO, and
    // a conditional VAE's posterior is given the digit too.
    const kind = this.value("kind");
    const autoencoder = kind === "autoencoder";
    this.panel.relabel(0, autoencoder ? "loss = reconstruction (batches; no KL term)" : "loss = reconstruction + β·KL (batches)");
    this.panel.relabel(2, autoencoder ? "KL: none (an autoencoder has no q(z|x))" : `KL(q(z|x${kind === "conditional" ? ", y" : ""}) ‖ N(0, I))`);
    this.panel.relabel(3, autoencoder ? "test reconstruction error at z = μ" : "test −ELBO, one draw per digit");
  }

  async start() {
    const { ctx } = this;
    this.model = await ctx.model();
    this.digits = await ctx.rt.testDigits();
    if (this.disposed) return;
    const { pixels, labels } = this.digits;
    const rows = Array.from({ length: ROW }, (_, d) => labels.indexOf(d));
    this.row = { pixels: new Float32Array(ROW * 784), labels: Uint8Array.from(rows, (i) => labels[i]) };
    rows.forEach((i, k) => this.row.pixels.set(pixels.subarray(i * 784, (i + 1) * 784), k * 784));
    // What the author did not set starts at the shown model, so "Train a fresh one" trains one like
    // it; loaded weights set every one of them (the person chose the file after the page was written).
    const loaded = ctx.loaded();
    const shown = { kind: this.model.kind, "latent-size": this.model.latentDim, likelihood: this.model.likelihood,
      ...(loaded ? { "hidden-units": this.model.hidden, ...(this.model.likelihood === "gaussian" ? { sigma: this.model.sigmaX } : {}) } : {}) };
    for (const [attr, value] of Object.entries(shown)) {
      // A file's σₓ is an f32: 0.1 reads as 0.10000000149.
      const offered = SETTING[attr].choices.find(([v]) => v === String(value) || Math.abs(Number(v) - Number(value)) <= 1e-4 * Math.abs(Number(v)));
      if ((loaded || !this.ctx.given(attr)) && offered) this.controls[attr].value = offered[0];
    }
    const { mu } = await ctx.rt.testStats(this.model);
    await this.show(this.model, mu, null);
  }

  /** Redraws every figure from `model`, whose test digits sit at `mu`; `steps` null: not a run. */
  async show(model, mu, steps) {
    const { ctx } = this;
    const { labels, count } = this.digits;
    await ctx.guard(async () => {
      const conditional = model.kind === "conditional";
      const projection = ctx.rt.track(new ctx.wasm.Projection(mu, count, model.latentDim));
      ctx.rt.free(this.projection);
      this.projection = projection;
      this.map.setMessage(null);
      this.map.setPoints(projection.project(mu, count), labels);
      const [e1, e2] = projection.explained;
      this.mapNote.textContent = model.latentDim === 2
        ? "The dotted circle holds 95% of the prior N(0, I)."
        : `${model.latentDim}-D, seen on its two principal components (${Math.round(100 * (e1 + e2))}% of the variance).`;
      const z = ctx.wasm.standardNormal(SAMPLE_COUNT * model.latentDim, SAMPLE_SEED);
      const sampleLabels = conditional ? Uint8Array.from({ length: SAMPLE_COUNT }, (_, k) => k % 10) : undefined;
      const [images, rebuilt] = await Promise.all([
        model.decode(z, SAMPLE_COUNT, sampleLabels),
        model.reconstruct(this.row.pixels, ROW, conditional ? this.row.labels : undefined),
      ]);
      if (this.disposed) return;
      drawGrid(this.samples, images, SAMPLE_COUNT);
      drawRow(this.originals, this.row.pixels, ROW);
      drawRow(this.rebuilt, rebuilt.recon, ROW);
      this.shownNote.textContent = steps === null
        ? `Shown: ${this.shippedName(model)}. "Train a fresh one here" trains ${aKind({ kind: this.value("kind") })} with the settings above and shows it instead.`
        : `Shown: your run, step ${steps}: ${aKind(model)} with a ${model.latentDim}-D latent space and ${model.hidden} hidden units (${likelihoodWords(model)}).`;
      this.mapCanvas.dataset.steps = String(steps ?? 0);
      ctx.updated();
    }, "show the model");
  }

  shippedName(model) {
    const loaded = this.ctx.loaded();
    if (!loaded) return `the model "${this.ctx.option("model")}", ${aKind(model)} with a ${model.latentDim}-D latent space`;
    const from = loaded.file ? `the weights loaded from “${loaded.file}”` : "the weights given to loadSafetensors()";
    return `${from}, ${aKind(model)} with a ${model.latentDim}-D latent space and ${model.hidden} hidden units (${likelihoodWords(model)})`;
  }

  /** The shown model is a run kept by `persist` (the panel says so too). */
  restored(run) {
    const model = this.model;
    this.shownNote.textContent = `Shown: your run kept in this browser, step ${run.steps}: ${aKind(model)} with a ${model.latentDim}-D latent space and ${model.hidden} hidden units.`;
    this.mapCanvas.dataset.steps = String(run.steps);
  }

  progress(message, panel) {
    this.lastProgress = message;
    const s = message.stats;
    const likelihood = this.value("likelihood");
    const beta = this.value("beta");
    const autoencoder = this.value("kind") === "autoencoder";
    panel.show([
      ["steps", `${message.steps} (epoch ${fixed(message.epoch ?? NaN, 1)} of ${this.epochLimit()})`],
      autoencoder
        ? ["reconstruction −log p(x|z) (batches)", `${fixed(s.recon, 1)} ${unit(likelihood)}; an autoencoder has no KL term and no ELBO`]
        : ["loss = reconstruction + β·KL (batches)", `${fixed(s.loss, 1)} = ${fixed(s.recon, 1)} + ${beta}·${fixed(s.kl, 2)} ${unit(likelihood)}`],
      ...(likelihood === "gaussian" ? [[`σₓ (${this.value("sigma-rule")})`, fixed(s.sigmaX, 3)]] : []),
      ...(this.scores ? [autoencoder
        ? ["test reconstruction error at z = μ", `${fixed(this.scores.scoreAtMean, 1)} ${unit(likelihood)}`]
        : [`test −ELBO (β = 1, one draw of q(z|x${this.value("kind") === "conditional" ? ", y" : ""}) per digit)`, `${fixed(this.scores.negElbo, 1)} ${unit(likelihood)}`]] : []),
      ...(this.epochFigures.length ? [[`${autoencoder ? "test reconstruction error at z = μ" : "test −ELBO"} after each epoch`, this.epochWords()]] : []),
    ]);
  }

  /** "1: 172.4 · 2: 160.1 · 3: 155.0" (the last six epochs; an epoch a run went on from mid-way
   * is written with its fraction). */
  epochWords() {
    const shown = this.epochFigures.slice(-6).map(([epoch, score]) => `${Number.isInteger(epoch) ? epoch : fixed(epoch, 1)}: ${fixed(score, 1)}`);
    return `${this.epochFigures.length > 6 ? "… " : ""}${shown.join(" · ")}`;
  }

  async snapshot(message) {
    this.scores = message.scores;
    if (message.epochEnd) {
      const score = this.value("kind") === "autoencoder" ? message.scores.scoreAtMean : message.scores.negElbo;
      const epoch = Math.round(message.epoch * 1e6) / 1e6;
      this.epochFigures = [...this.epochFigures.filter(([e]) => e !== epoch), [epoch, score]];
      this.root.dataset.epochs = this.epochFigures.map(([e, v]) => `${e}:${v}`).join(",");
    }
    // The figures show the newest test scores at once, not from the next progress message.
    if (this.lastProgress) this.progress(this.lastProgress, this.panel);
    const model = await this.ctx.guard(() => adopt(this.ctx, this, "Vae", message.weights), "load the training model");
    if (!model || this.disposed) return;
    await this.show(model, message.codes, message.steps);
  }

  dispose() {
    this.disposed = true;
    this.panel.stop();
    this.ctx.rt.free(this.projection);
    this.ctx.rt.free(this.trained);
  }
}
