// The `vrae` view: the variational recurrent autoencoder as an anomaly detector on a sensor time
// series. The series with the model's reconstruction, a close-up, the anomaly score along time
// with the labelled anomaly shaded, a short series the learner draws and sees scored, and a fresh
// model trained in a Web Worker. No math here: every number comes from the wasm module.

import { TrainingPanel, adopt, fixed } from "./widget-family.js";
import { View, canvas, h } from "./widget-views.js";

/** Held-out windows are scored this many samples apart for the pictures. */
const STRIDE = 16;
/** Samples the close-up shows. */
const ZOOM = 320;
const COLORS = { series: "#1f2430", rebuilt: "#ff7f0e", score: "#1f77b4", train: "rgba(44, 160, 44, 0.12)", anomaly: "rgba(214, 39, 40, 0.22)", limit: "#d62728" };

/** Draws `values` (NaN gaps skipped) from sample `from` to `to` on `ctx`, y from `lo` to `hi`. */
function line(ctx, values, from, to, lo, hi, color, xOf = null) {
  const { width, height } = ctx.canvas;
  const x = xOf ?? ((i) => ((i - from) / (to - from - 1)) * width);
  const y = (v) => height - 4 - ((v - lo) / (hi - lo)) * (height - 8);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.2;
  ctx.beginPath();
  let drawing = false;
  for (let i = from; i < to; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      drawing = false;
      continue;
    }
    if (drawing) ctx.lineTo(x(i), y(v));
    else ctx.moveTo(x(i), y(v));
    drawing = true;
  }
  ctx.stroke();
}

/** Shades the samples from `a` to `b` of the span `from`–`to`. */
function band(ctx, a, b, from, to, color) {
  const { width, height } = ctx.canvas;
  const x = (i) => ((i - from) / (to - from)) * width;
  ctx.fillStyle = color;
  ctx.fillRect(x(Math.max(a, from)), 0, Math.max(2, x(Math.min(b, to)) - x(Math.max(a, from))), height);
}

/** A figure with a true minus sign, as the page writes nats. */
const signed = (v, digits = 1) => fixed(v, digits).replace("-", "−");

function extent(values) {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of values) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

export class VraeView extends View {
  constructor(ctx) {
    super(ctx, "vrae");
    this.overview = canvas("Series with its reconstruction", 640, 150, "series", { tabindex: 0 });
    this.zoom = canvas("Close-up of the series and its reconstruction", 640, 150, "zoom");
    this.scoreCanvas = canvas("Anomaly score along time", 640, 90, "score");
    this.pad = canvas("Drawing pad for a short series", 320, 120, "pad", { role: "application" });
    this.padNote = this.note("Drag across the pad to redraw this window; it is scored as you go.", "pad-score");
    this.figures = h("dl", { class: "numbers", part: "figures" });
    this.centre = null;
    this.panel = new TrainingPanel(this, "vrae", [
      { label: "−ELBO, training windows", color: "#1f77b4", from: "stats", value: (s) => s.loss },
      { label: "−ELBO, held-out windows", color: "#2ca02c", from: "scores", value: (s) => s.negElbo },
    ], { log: false, batch: 64 });
    this.root.append(
      this.note("A variational recurrent autoencoder (after Fabius & van Amersfoort, 2014) reads a window of 64 samples with a GRU into q(z|x); z starts a second GRU that redraws the window. Trained on normal behaviour only (green), it redraws normal beats well and cannot redraw what it never saw, so −ELBO at z = μ is an anomaly score. The series is a physiological recording from the UCR Time Series Anomaly Archive (InternalBleeding16, as bundled by aeon); red marks its one labelled anomaly."),
      h("figure", {}, h("figcaption", { text: "The series (black) and the model's reconstruction of the held-out part (orange). Click to look closer." }), this.overview),
      h("figure", {}, h("figcaption", { part: "zoom-caption", text: "Close-up" }), this.zoom),
      h("figure", {}, h("figcaption", { text: `Anomaly score of each held-out window (every ${STRIDE} samples), nats; the red line is the normal windows' 99th percentile` }), this.scoreCanvas),
      this.figures,
      this.note("Nats of a Gaussian density p(x|z) on the standardised series, σₓ learned (a density, so they can be negative): the lower, the better a window fits what the model learned."),
      h("figure", {}, h("figcaption", { text: "Draw a series: 64 samples, starting from a normal window" }), this.pad, this.padNote),
    );
    if (ctx.controls === "full") this.root.append(this.panel.root);
    this.overview.addEventListener("click", (e) => {
      const r = this.overview.getBoundingClientRect();
      this.look(Math.round(((e.clientX - r.left) / r.width) * this.info.length));
    });
    this.overview.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -ZOOM / 4, ArrowRight: ZOOM / 4 }[e.key];
      if (step && this.info) {
        e.preventDefault();
        this.look(this.centre + step);
      }
    });
    this.pad.addEventListener("pointerdown", (e) => this.drawAt(e, true));
    this.pad.addEventListener("pointermove", (e) => e.buttons && this.drawAt(e, false));
  }

  modelOptions() {
    return { seed: this.ctx.seed() };
  }

  async start() {
    const { ctx } = this;
    this.model = await ctx.model();
    const bytes = await ctx.rt.seriesFile();
    if (this.disposed) return;
    await ctx.guard(async () => {
      this.info = this.model.setSeries(bytes, ctx.seed());
      const first = this.info.labels.indexOf(1);
      this.anomaly = [first, this.info.labels.lastIndexOf(1) + 1];
      this.centre = first;
      const analysis = await this.model.analyse(STRIDE);
      this.show(analysis, analysis);
      // The drawn series starts as a normal training window, so the learner edits a real beat.
      this.drawn = Float32Array.from(this.info.values.slice(600, 600 + this.info.window));
      [this.lo, this.hi] = extent(this.info.values.slice(0, this.info.trainEnd));
      const pad = (this.hi - this.lo) * 0.15;
      [this.lo, this.hi] = [this.lo - pad, this.hi + pad];
      await this.scoreDrawn();
    }, "load the recurrent VAE");
  }

  /** Draws everything from an analysis (its arrays in `arrays`, its figures in `figures`). */
  show(arrays, figures) {
    this.arrays = arrays;
    this.figureValues = figures;
    this.normalScores = Float32Array.from(arrays.scores.filter((_, i) => !arrays.anomalous[i]));
    this.scoreCanvas.dataset.auc = String(figures.auc);
    this.drawOverview();
    this.drawZoom();
    this.drawScores();
    this.figures.replaceChildren(...[
      ["ROC AUC, anomalous against normal windows", fixed(figures.auc, 3)],
      ["median score of windows overlapping the anomaly", `${signed(figures.anomalousMedian)} nats`],
      ["99th percentile of the normal windows' scores", `${signed(figures.normalP99)} nats`],
      ["held-out −ELBO (one draw of z)", `${signed(figures.negElbo)} = ${signed(figures.recon)} + ${signed(figures.kl)} nats per window`],
    ].flatMap(([name, value]) => [h("dt", { text: name }), h("dd", { text: value })]));
    this.ctx.updated();
  }

  drawOverview() {
    const ctx = this.overview.getContext("2d");
    const { values, length, trainEnd } = this.info;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.overview.width, this.overview.height);
    band(ctx, 0, trainEnd, 0, length, COLORS.train);
    band(ctx, this.anomaly[0], this.anomaly[1], 0, length, COLORS.anomaly);
    const [lo, hi] = extent(values);
    line(ctx, values, 0, length, lo, hi, COLORS.series);
    line(ctx, this.arrays.reconstruction, 0, length, lo, hi, COLORS.rebuilt);
    ctx.strokeStyle = "#5b616e";
    ctx.strokeRect((this.centre - ZOOM / 2) / length * this.overview.width, 0.5, (ZOOM / length) * this.overview.width, this.overview.height - 1);
  }

  drawZoom() {
    const ctx = this.zoom.getContext("2d");
    const { values } = this.info;
    const from = this.centre - ZOOM / 2;
    const to = from + ZOOM;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.zoom.width, this.zoom.height);
    band(ctx, 0, this.info.trainEnd, from, to, COLORS.train);
    band(ctx, this.anomaly[0], this.anomaly[1], from, to, COLORS.anomaly);
    const [lo, hi] = extent(values.slice(from, to));
    line(ctx, values, from, to, lo, hi, COLORS.series);
    line(ctx, this.arrays.reconstruction, from, to, lo, hi, COLORS.rebuilt);
    this.zoom.parentElement.querySelector("figcaption").textContent = `Close-up of samples ${from}–${to - 1} (arrow keys on the series move it)`;
    this.zoom.dataset.from = String(from);
  }

  drawScores() {
    const ctx = this.scoreCanvas.getContext("2d");
    const { length } = this.info;
    const { starts, scores } = this.arrays;
    const { width, height } = this.scoreCanvas;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    band(ctx, 0, this.info.trainEnd, 0, length, COLORS.train);
    band(ctx, this.anomaly[0], this.anomaly[1], 0, length, COLORS.anomaly);
    const [lo, hi] = extent(scores);
    const centres = Array.from(starts, (s) => s + this.info.window / 2);
    const x = (i) => (centres[i] / length) * width;
    line(ctx, scores, 0, scores.length, lo, hi, COLORS.score, x);
    const p99 = this.figureValues.normalP99;
    const y = height - 4 - ((p99 - lo) / (hi - lo)) * (height - 8);
    ctx.strokeStyle = COLORS.limit;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(width, y);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  look(sample) {
    if (!this.info) return;
    this.centre = Math.round(Math.min(Math.max(sample, ZOOM / 2), this.info.length - ZOOM / 2));
    this.drawOverview();
    this.drawZoom();
    this.ctx.emit("input", { source: "series", sample: this.centre });
  }

  drawAt(e, first) {
    if (!this.drawn) return;
    if (first) this.pad.setPointerCapture?.(e.pointerId);
    const r = this.pad.getBoundingClientRect();
    const n = this.drawn.length;
    const i = Math.round(((e.clientX - r.left) / r.width) * (n - 1));
    const v = this.hi - ((e.clientY - r.top) / r.height) * (this.hi - this.lo);
    // A stroke sets its sample and the two either side, so a quick drag leaves no gaps.
    for (let k = i - 1; k <= i + 1; k++) if (k >= 0 && k < n) this.drawn[k] = v;
    this.scoreDrawn();
  }

  async scoreDrawn() {
    if (this.scoring) return (this.again = true);
    this.scoring = true;
    const model = this.trained ?? this.model;
    const { mean, sd } = this.info;
    const standardised = Float32Array.from(this.drawn, (v) => (v - mean) / sd);
    await this.ctx.guard(async () => {
      const { scores, means } = await model.scoreWindows(standardised, 1, this.drawn.length);
      if (this.disposed) return;
      const rebuilt = Float32Array.from(means, (v) => v * sd + mean);
      const ctx = this.pad.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, this.pad.width, this.pad.height);
      line(ctx, this.drawn, 0, this.drawn.length, this.lo, this.hi, COLORS.series);
      line(ctx, rebuilt, 0, rebuilt.length, this.lo, this.hi, COLORS.rebuilt);
      const rank = this.ctx.wasm.percentBelow(scores[0], this.normalScores);
      this.pad.dataset.score = String(scores[0]);
      this.padNote.textContent = `Score ${signed(scores[0])} nats: above ${fixed(rank, 1)}% of the held-out normal windows. Orange: the model's reconstruction.`;
      this.ctx.emit("change", { source: "series", score: scores[0] });
    }, "score the drawn series");
    this.scoring = false;
    if (this.again) {
      this.again = false;
      this.scoreDrawn();
    }
  }

  progress(message, panel) {
    const s = message.stats;
    panel.show([
      ["steps", `${message.steps} (epoch ${fixed(message.epoch ?? NaN, 1)})`],
      ["−ELBO = recon + KL (training windows)", `${signed(s.loss)} = ${signed(s.recon)} + ${signed(s.kl, 2)} nats per window`],
      ["σₓ learned", fixed(s.sigmaX, 3)],
      ...(this.trainedFigures ? [["held-out ROC AUC", fixed(this.trainedFigures.auc, 3)]] : []),
    ]);
  }

  async snapshot(message) {
    const { ctx } = this;
    this.trainedFigures = message.scores;
    await ctx.guard(async () => {
      await adopt(ctx, this, "Vrae", message.weights);
      if (this.disposed) return;
      this.show(message.analysis, message.scores);
      this.scoreCanvas.dataset.steps = String(message.steps);
    }, "show the training model");
    await this.scoreDrawn();
  }

  state() {
    return { sample: this.centre };
  }

  dispose() {
    this.disposed = true;
    this.panel.stop();
    this.ctx.rt.free(this.trained);
  }
}
