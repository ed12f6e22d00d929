// The views a <vae-playground> can show. Each view builds its own elements (no ids: they live in
// a shadow root, found by their accessible names and `part`s), asks its widget's context for the
// models it needs, and talks to the other widgets of its group through `receive`. No math here:
// every number comes from the wasm module.

import { DrawingPad } from "./draw.js";
import { clearCanvas, drawDigit, drawGrid, drawRow } from "./render.js";
import { LatentMap, PALETTE } from "./latent-map.js";
import { fmt } from "./labels.js";
import { drawingScores } from "./scores.js";
import { WALKS } from "./widget-settings.js";

const SAMPLE_COUNT = 16;
const DRAW_COUNT = 8;
const DRAW_SEED = 7; // the same drawing always shows the same draws
const RANK_SETTLE_MS = 3000; // longer than the ~2 s between snapshots of a model in training
const MANIFOLD_SIDE = 15;
const MAX_SLIDERS = 32; // a slider per dimension up to this many

/** An element with attributes and children; no markup strings (Trusted Types pages allow none). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export const canvas = (label, width, height, part, extra = {}) =>
  h("canvas", { width, height, "aria-label": label, role: "img", part, class: part, ...extra });

export function select(label, options, value, part) {
  const element = h("select", { "aria-label": label, part });
  for (const [v, text] of options) element.append(new Option(text, v, false, String(v) === String(value)));
  return element;
}

const digitChoices = Array.from({ length: 10 }, (_, d) => [d, String(d)]);

// ---- groups: widgets that share the drawing and the current latent point -----------------------

const groups = new Map();

class Group {
  constructor(name) {
    this.name = name;
    this.members = new Set();
    this.last = new Map(); // kind → the newest value, replayed to a member that joins late
  }

  join(member) {
    this.members.add(member);
    for (const [kind, value] of this.last) member.receive(kind, value);
  }

  leave(member) {
    this.members.delete(member);
    if (this.name && this.members.size === 0) groups.delete(this.name);
  }

  /** Tells every member but `from` (the API passes null: the widget itself hears it too). */
  publish(kind, value, from) {
    this.last.set(kind, value);
    for (const member of this.members) if (member !== from) member.receive(kind, value);
  }
}

/** The named group, or a private one when `name` is null. */
export function group(name) {
  if (!name) return new Group(null);
  if (!groups.has(name)) groups.set(name, new Group(name));
  return groups.get(name);
}

// ---- the views --------------------------------------------------------------------------------

export class View {
  constructor(ctx, part) {
    this.ctx = ctx;
    this.root = h("div", { part: `view ${part}`, class: `view ${part}` });
  }

  async start() {}
  receive() {}
  visibility() {}
  dispose() {}
  state() {
    return {};
  }

  /** Puts back what this view's `state()` holds beyond the drawing and the latent point (setState,
   * a persisted record); a value that does not fit the model throws before anything changes. */
  async restore() {}

  note(text, part = "note") {
    return h("p", { class: "note", part, text });
  }

  labels(vae, n) {
    return vae.kind === "conditional" ? new Uint8Array(n).fill(this.ctx.digit()) : undefined;
  }
}

/** The colour of each digit, as the maps draw them. */
export function legend() {
  const list = h("ul", { class: "legend", part: "legend", "aria-label": "Digit colours" });
  for (const [digit, colour] of PALETTE.entries()) {
    const item = h("li", { text: digit });
    item.style.setProperty("--swatch", colour);
    list.append(item);
  }
  return list;
}

/** The pad, what the model sees, the reconstruction, draws from q(z|x) and the drawing's scores. */
class DrawView extends View {
  constructor(ctx) {
    super(ctx, "draw");
    this.padCanvas = canvas("Drawing pad", 280, 280, "pad", { tabindex: 0 });
    // Ids inside the shadow root name the parts the page's tests and a reader's tools look up (the
    // page's sections 1 and 2 had them before they were this view).
    this.input28 = canvas("Model input (28×28)", 28, 28, "input28", { id: "input28" });
    this.recon = canvas("Reconstruction", 280, 280, "recon", { id: "recon" });
    this.draws = canvas("Posterior draws", 280, 35, "draws", { id: "draws" });
    this.fields = {};
    const numbers = h("dl", { class: "numbers", part: "numbers" });
    for (const [key, label] of [["mu", "μ (where it lands)"], ["sigma", "σ (how unsure)"], ["elbo", "ELBO"], ["logp", "log p(x)"], ["gap", "Gap"], ["floor", "Floor"]]) {
      const dt = h("dt", { text: label, id: `${key}-label` });
      const dd = h("dd", { text: "—", id: `${key}-text` });
      this.fields[key] = { dt, dd };
      numbers.append(dt, dd);
    }
    this.scoreNote = h("p", { class: "note", part: "note", id: "score-note" });
    const buttons = h("div", { class: "row", part: "controls" });
    if (ctx.controls !== "none") {
      const clear = h("button", { type: "button", part: "button", text: "Clear" });
      clear.addEventListener("click", () => this.pad.clear());
      buttons.append(clear);
    }
    if (ctx.controls === "full") {
      const test = h("button", { type: "button", part: "button", text: "Load a test digit" });
      test.addEventListener("click", () => this.loadTestDigit());
      buttons.append(test);
    }
    this.digitRow = h("div", { class: "row", hidden: true });
    this.drawsNote = this.note("");
    this.digitSelect = select("The digit the conditional model is told", digitChoices, ctx.digit(), "select");
    this.digitSelect.addEventListener("change", () => {
      ctx.setDigit(Number(this.digitSelect.value));
      this.schedule();
    });
    if (ctx.controls !== "none") this.digitRow.append(h("label", { text: "This is a " }), this.digitSelect);
    this.root.append(
      h("div", { class: "pair" },
        h("figure", {}, this.padCanvas, h("figcaption", { text: "Draw a digit" })),
        h("figure", {}, this.recon, h("figcaption", { text: "Reconstruction" }))),
      h("div", { class: "row" }, buttons, h("figure", { class: "mini" }, this.input28, h("figcaption", { text: "What the model sees" }))),
      this.digitRow,
      this.drawsNote,
      this.draws,
      numbers,
      this.scoreNote,
    );
    this.silent = false;
    this.pad = new DrawingPad(this.padCanvas, {
      onChange: () => {
        if (!this.silent) {
          this.fromPad = true;
          this.given = null; // a stroke on top: the pad's ink is the drawing again
          ctx.emit("input", { source: "pad" });
        }
        this.schedule();
      },
    });
    this.busy = false;
    this.pending = false;
  }

  async start() {
    clearCanvas(this.recon);
    clearCanvas(this.draws);
    clearCanvas(this.input28);
    this.useModel(await this.ctx.model());
    this.settled = this.vae;
  }

  useModel(vae) {
    this.vae = vae;
    this.reference = null; // the test digits' scores the drawing is ranked among, once known
    this.digitRow.hidden = vae.kind !== "conditional" || this.ctx.controls === "none";
    this.drawsNote.textContent = vae.kind === "autoencoder"
      ? "A plain autoencoder maps a drawing to one point: no q(z|x) to draw from."
      : "Draws z = μ + σ⊙ε from q(z|x), decoded: the reparameterisation trick.";
  }

  /** Another model (a new snapshot of one in training, say): the drawing stays and is scored again.
   * Ranking it among the test digits waits until the model has stayed for RANK_SETTLE_MS: a model
   * in training is replaced every ~2 s, sooner than the 200 test digits are scored, and scoring
   * them for every snapshot would only take frames from the page. */
  async swap(vae) {
    this.useModel(vae);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      if (this.vae !== vae || this.disposed) return;
      this.settled = vae;
      if (!this.pad.isEmpty()) this.schedule();
    }, RANK_SETTLE_MS);
    if (this.pad.isEmpty()) this.blank();
    else this.schedule();
  }

  schedule() {
    this.pending = true;
    if (!this.busy) requestAnimationFrame(() => this.update());
  }

  /** The drawing → 28×28 input → reconstruction and scores, at most once per frame. */
  async update() {
    if (this.busy || !this.pending || !this.vae || this.disposed) return;
    this.busy = true;
    this.pending = false;
    const { ctx, vae } = this;
    const fromPad = this.fromPad;
    this.fromPad = false;
    await ctx.guard(async () => {
      if (this.pad.isEmpty()) {
        clearCanvas(this.input28);
        this.blank();
        if (fromPad) ctx.publish("drawing", { x: null }, this);
        return;
      }
      // A drawing handed over as 28×28 values is the model's input exactly (so getState/setState
      // round-trip); the pad's own ink is fitted and centred like MNIST first.
      const x = this.given ?? ctx.wasm.rgbaToMnist(this.pad.rgba(), this.pad.readSize, this.pad.readSize);
      this.x = x;
      drawDigit(this.input28, x);
      if (fromPad) ctx.publish("drawing", { x }, this);
      const labels = this.labels(vae, 1);
      const { mu, logvar, sigma, recon, scoreAtMean } = await vae.reconstruct(x, 1, labels);
      if (this.disposed) return;
      drawDigit(this.recon, recon);
      this.fields.mu.dd.textContent = fmt(mu);
      this.fields.sigma.dd.textContent = sigma ? fmt(sigma) : "— (no variance: a plain autoencoder)";
      const score = await this.showScores(x, labels, scoreAtMean[0]);
      ctx.emit("change", { source: "drawing", z: Array.from(mu), mu: Array.from(mu), logvar: logvar ? Array.from(logvar) : null, score });
      if (vae.kind !== "autoencoder") {
        const draws = await vae.posteriorDraws(mu, logvar, DRAW_COUNT, DRAW_SEED, labels);
        if (!this.disposed) drawRow(this.draws, draws.images, DRAW_COUNT);
      } else {
        clearCanvas(this.draws);
      }
      ctx.updated();
    }, "reconstruct the drawing");
    this.busy = false;
    if (this.pending) requestAnimationFrame(() => this.update());
  }

  /** The scores as on the page (scores.js), ranked among the test digits' once the runtime has
   * scored them: that starts with the first drawing, and the drawing is scored again when it ends. */
  async showScores(x, labels, atMean) {
    const { vae, fields, ctx } = this;
    if (!this.reference && this.ranking !== vae && this.settled === vae) {
      this.ranking = vae;
      ctx.rt.testScores(vae).then((reference) => {
        if (this.vae !== vae || !reference || this.disposed) return;
        this.reference = reference;
        if (!this.pad.isEmpty()) this.schedule();
      }, () => {}).finally(() => {
        if (this.ranking === vae) this.ranking = null;
      });
    }
    const s = await drawingScores(ctx.wasm, vae, x, labels, atMean, this.reference);
    fields.elbo.dt.textContent = s.elboLabel;
    for (const key of ["elbo", "logp", "gap", "floor"]) fields[key].dd.textContent = s[key];
    this.scoreNote.textContent = this.settled === vae ? s.note : `${s.note} The rank among the test digits waits until the model stops changing.`;
    return s.score;
  }

  blank() {
    clearCanvas(this.recon);
    clearCanvas(this.draws);
    for (const { dd } of Object.values(this.fields)) dd.textContent = "—";
  }

  async loadTestDigit() {
    await this.ctx.guard(async () => {
      const { pixels, count } = await this.ctx.rt.testDigits();
      this.pad.setImage(pixels, 784 * Math.floor(Math.random() * count));
    }, "load a test digit");
  }

  /** A point from another widget (a pick on a map, the sliders) or the API, decoded into the
   * reconstruction; the μ field says where it came from. */
  async showPoint(z, source) {
    const vae = this.vae;
    if (!vae || z.length !== vae.latentDim) return;
    await this.ctx.guard(async () => {
      const image = await vae.decode(Float32Array.from(z), 1, this.labels(vae, 1));
      if (this.disposed) return;
      this.blank();
      drawDigit(this.recon, image);
      this.fields.mu.dd.textContent = `${fmt(z)} ${POINT_SOURCES[source] ?? "given"}`;
    }, "decode the point");
  }

  receive(kind, value) {
    if (kind === "drawing") {
      this.silent = true;
      this.given = value.x ? Float32Array.from(value.x) : null;
      if (value.x) this.pad.setImage(value.x);
      else this.pad.clear();
      this.silent = false;
    } else if (kind === "latent") {
      this.showPoint(value.z, value.source);
    }
  }

  option(name, value) {
    if (name !== "digit") return;
    this.digitSelect.value = value;
    this.schedule();
  }

  state() {
    const x = this.given ?? this.x;
    return { drawing: this.pad.isEmpty() || !x ? null : Array.from(x, (v) => Math.round(v * 1000) / 1000) };
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.settleTimer);
  }
}

const POINT_SOURCES = { map: "picked on the map", sliders: "set with the sliders" };

/** The map of the test digits' codes; picking decodes; a drawing from the group shows as a ring. */
class LatentView extends View {
  constructor(ctx) {
    super(ctx, "latent");
    this.mapCanvas = canvas("Latent map", 320, 320, "map");
    this.decoded = canvas("Decoded point", 84, 84, "decoded");
    this.mapNote = h("p", { class: "note", part: "note", id: "map-note", text: "Loading the test digits…" });
    this.root.append(
      h("div", { class: "pair" }, this.mapCanvas, h("figure", { class: "mini" }, this.decoded, h("figcaption", { text: "Decoded point" }))),
      legend(),
      this.mapNote,
    );
    this.map = new LatentMap(this.mapCanvas, { onPick: (xy) => this.pick(xy) });
    this.drawing = null; // the group's drawing, shown as the ring with its ellipse and draws
  }

  async start() {
    clearCanvas(this.decoded);
    await this.swap(await this.ctx.model());
  }

  /** Another model (a new snapshot of one in training, say): its test codes replace the map's in
   * place, and the drawing or point it showed is placed again, if it fits. */
  async swap(vae) {
    const same = this.vae?.latentDim === vae.latentDim;
    this.vae = vae;
    this.stats = null;
    if (!same) {
      this.current = null;
      this.map.setWalker(null);
    }
    if (!this.map.points) this.map.setMessage("Loading the test digits…");
    const stats = await this.ctx.rt.testStats(vae);
    if (this.disposed || this.vae !== vae) return;
    this.stats = stats;
    this.map.setMessage(null);
    this.map.setPoints(stats.coords, stats.labels);
    const [e1, e2] = stats.projection.explained;
    const n = vae.latentDim;
    this.mapNote.textContent = n === 2
      ? "The 1,000 test digits, each at its μ; the dotted circle holds 95% of the prior N(0, I). A drawing is the ring, with its 2σ ellipse and draws from q(z|x). Click, drag or use the arrow keys on the map to decode any point."
      : `A ${n}-D space seen flat: the 1,000 test digits' μ projected on their two principal components (${Math.round(100 * (e1 + e2))}% of the variance). Click, drag or use the arrow keys to decode what lies under the cursor: the point there on the plane, its other ${n - 2} coordinates blended from the test codes drawn nearest.`;
    const waiting = this.waiting; // what the group said while the test codes loaded: the newest
    this.waiting = null;
    if (waiting) this.receive(...waiting);
    else if (this.drawing) await this.showDrawing(this.drawing);
    else if (this.current) await this.showPoint(this.current);
    else this.map.setProbe(null);
  }

  async pick(xy) {
    if (!this.stats) return;
    const z = this.stats.projection.liftNear(xy[0], xy[1]);
    this.ctx.emit("input", { source: "map" });
    this.drawing = null;
    await this.showPoint(z, xy);
    this.ctx.publish("latent", { z: Array.from(z), source: "map" }, this);
    this.ctx.emit("change", { source: "map", z: Array.from(z), xy: Array.from(xy) });
  }

  async showPoint(z, xy = null) {
    const { vae, stats } = this;
    if (!vae || !stats || z.length !== vae.latentDim) return;
    this.current = Array.from(z);
    await this.ctx.guard(async () => {
      this.map.setProbe(xy ?? stats.projection.project(Float32Array.from(z), 1), null);
      const image = await vae.decode(Float32Array.from(z), 1, this.labels(vae, 1));
      if (!this.disposed) drawDigit(this.decoded, image);
      this.ctx.updated();
    }, "decode the point");
  }

  /** A drawing from the group: encoded with this widget's model and shown at its μ with its 2σ
   * ellipse (in 2-D) and a few draws from q(z|x). */
  async showDrawing(x) {
    const { vae, stats } = this;
    this.drawing = x;
    if (!x) return this.map.setProbe(null);
    await this.ctx.guard(async () => {
      const labels = this.labels(vae, 1);
      const { mu, logvar, sigma } = await this.ctx.rt.encodeDrawing(vae, x, labels);
      if (this.disposed || this.vae !== vae) return;
      this.current = Array.from(mu);
      const draws = logvar ? await vae.posteriorDraws(mu, logvar, DRAW_COUNT, DRAW_SEED, labels) : null;
      if (this.disposed || this.vae !== vae) return;
      const drawXy = draws ? stats.projection.project(draws.z, DRAW_COUNT) : null;
      this.map.setProbe(stats.projection.project(mu, 1), vae.latentDim === 2 ? sigma : null, drawXy);
      const image = await vae.decode(mu, 1, labels);
      if (!this.disposed) drawDigit(this.decoded, image);
      this.ctx.updated();
    }, "place the drawing");
  }

  receive(kind, value) {
    if (kind === "walker") {
      // A walk of the group: its point on this map (when the spaces are the same size).
      if (this.stats && value.z.length === this.vae.latentDim) this.map.setWalker(this.stats.projection.project(Float32Array.from(value.z), 1));
      return;
    }
    if (!this.stats) {
      this.waiting = [kind, value];
      return;
    }
    if (kind === "drawing") this.showDrawing(value.x ?? null);
    else if (kind === "latent") {
      this.drawing = null;
      this.showPoint(value.z);
    }
  }

  option(name) {
    if (name !== "digit" || !this.stats) return;
    if (this.drawing) this.showDrawing(this.drawing);
    else if (this.current) this.showPoint(this.current);
  }

  state() {
    return this.current ? { latent: this.current } : {};
  }

  dispose() {
    this.disposed = true;
  }
}

/** Points drawn from the prior N(0, I), decoded. */
class SampleView extends View {
  constructor(ctx) {
    super(ctx, "sample");
    this.grid = canvas("Samples", 280, 280, "samples");
    this.root.append(this.note("Decode points drawn from the prior N(0, I)."), this.grid);
    if (ctx.controls !== "none") {
      const button = h("button", { type: "button", part: "button", text: "Sample" });
      button.addEventListener("click", () => this.sample());
      this.root.append(h("div", { class: "row", part: "controls" }, button));
    }
    this.draw = 0;
  }

  async start() {
    this.vae = await this.ctx.model();
    await this.sample(false);
  }

  /** Another model (a new snapshot of one in training): the same prior draws, decoded by it. */
  async swap(vae) {
    this.vae = vae;
    await this.sample(false);
  }

  /** New samples (the seed attribute, then one more each time). */
  async sample(advance = true) {
    if (advance) this.draw++;
    const vae = this.vae;
    await this.ctx.guard(async () => {
      const seed = (this.ctx.seed() + this.draw) % 2 ** 32;
      const z = this.ctx.wasm.standardNormal(SAMPLE_COUNT * vae.latentDim, seed);
      const labels = vae.kind === "conditional" ? Uint8Array.from({ length: SAMPLE_COUNT }, (_, k) => k % 10) : undefined;
      const images = await vae.decode(z, SAMPLE_COUNT, labels);
      if (!this.disposed) drawGrid(this.grid, images, SAMPLE_COUNT);
      this.ctx.updated();
    }, "sample");
  }

  dispose() {
    this.disposed = true;
  }
}

const MANIFOLD_NOTE = "A grid over the latent plane, spaced by the prior's quantiles, decoded (Kingma & Welling's figure).";

/** Kingma & Welling's figure: a grid over a 2-D latent plane, decoded. */
class ManifoldView extends View {
  constructor(ctx) {
    super(ctx, "manifold");
    this.grid = canvas("Manifold", 300, 300, "manifold");
    this.text = this.note(MANIFOLD_NOTE);
    this.root.append(this.text, this.grid);
  }

  async start() {
    await this.swap(await this.ctx.model());
  }

  /** Draws the grid of `vae` (the widget's model, or another one handed to loadSafetensors). */
  async swap(vae) {
    if (vae.latentDim !== 2 || vae.kind === "conditional") {
      this.text.textContent = "Only a 2-D latent space of an unconditional model can be laid out as one grid: this model is not one (pick a latent-2 model).";
      return clearCanvas(this.grid);
    }
    this.text.textContent = MANIFOLD_NOTE;
    await this.ctx.guard(async () => {
      drawGrid(this.grid, await vae.manifold(MANIFOLD_SIDE), MANIFOLD_SIDE * MANIFOLD_SIDE);
      this.ctx.updated();
    }, "draw the manifold");
  }
}

const WALK_NOTE = "A point moves through latent space and is decoded every frame. Each path stays where the prior N(0, I) lives: the circle turns in the plane of the test codes' map while the other directions hold one draw from the prior, the wander drifts, and the morph turns along the great circle between its ends instead of cutting through the middle.";
const ENDS_NOTE = "The current point is the drawing's μ, or the point picked on a map, of this widget's group (or set with setLatent). Until you set both ends, the morph runs between two prior samples.";

/** A point moving through latent space, decoded every frame; stops when off screen. The morph's
 * ends can be taken from the current point (the group's drawing or point). Each frame fires a
 * `walk` event (`detail`: z and the frame's ms) and shows the walker on the group's maps. */
class WalkView extends View {
  constructor(ctx) {
    super(ctx, "walk");
    this.view = canvas("Latent walk", 140, 140, "walk");
    this.root.append(this.note(WALK_NOTE), this.view);
    this.playing = false;
    this.visible = true;
    this.frames = 0;
    this.ends = { from: null, to: null };
    this.current = null; // the group's current point, which the end buttons take
    if (ctx.controls !== "none") {
      this.button = h("button", { type: "button", part: "button", "aria-pressed": "false", text: "Play" });
      this.button.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
      const row = h("div", { class: "row", part: "controls" }, this.button);
      this.root.append(row);
      if (ctx.controls === "full") {
        this.path = select("Path", [["circle", "Circle"], ["wander", "Random wander"], ["morph", "Morph from start to end"]], ctx.option("walk"), "select");
        this.path.addEventListener("change", () => ctx.setOption("walk", this.path.value));
        this.speedInput = h("input", { type: "range", min: 0.25, max: 4, step: 0.25, value: ctx.option("speed"), "aria-label": "Speed", part: "range" });
        this.speedText = h("output", { text: `${ctx.option("speed")}×` });
        this.speedInput.addEventListener("input", () => ctx.setOption("speed", this.speedInput.value));
        row.append(h("label", { text: "Path " }), this.path, h("label", { text: " Speed " }), this.speedInput, this.speedText);
        const ends = h("div", { class: "row", part: "controls" });
        for (const [end, label, thumb] of [["from", "Start ← current point", "Walk start"], ["to", "End ← current point", "Walk end"]]) {
          const button = h("button", { type: "button", part: "button", disabled: true, text: label });
          button.addEventListener("click", () => this.setEnd(end));
          this[`${end}Button`] = button;
          this[`${end}Thumb`] = canvas(thumb, 56, 56, "thumb");
          ends.append(button, this[`${end}Thumb`]);
        }
        this.root.append(ends, this.note(ENDS_NOTE));
      }
    }
  }

  async start() {
    this.vae = await this.ctx.model();
    await this.newWalk();
  }

  /** A fresh walk of the chosen path for the model, its first frame drawn. */
  async newWalk() {
    const { ctx, vae } = this;
    await ctx.guard(async () => {
      const latent = vae.latentDim;
      const kind = WALKS[ctx.option("walk")];
      const fit = (z) => (z?.length === latent ? z : null);
      const prior = ctx.wasm.standardNormal(2 * latent, ctx.seed());
      // A circle in a wider space turns in the plane of the test codes' map, so the walker traces
      // a circle on it.
      const plane = latent > 2 && kind === "circle" ? (await ctx.rt.testStats(vae)).projection.axes : null;
      if (this.vae !== vae || this.disposed) return;
      const walk = ctx.rt.track(new ctx.wasm.LatentWalk(kind, latent, ctx.seed(), fit(this.ends.from) ?? prior.slice(0, latent), fit(this.ends.to) ?? prior.slice(latent), plane));
      ctx.rt.free(this.walk); // only now: a walk that could not be made leaves the old one going
      this.walk = walk;
      await this.show(walk.z);
    }, "start the walk");
  }

  /** Draws the frame at `z`. */
  async show(z) {
    const image = await this.vae.decode(z, 1, this.labels(this.vae, 1));
    if (!this.disposed) drawDigit(this.view, image);
  }

  /** Another model (a new snapshot of one in training, say): the walk goes on along its path; a
   * model of another size starts afresh, its ends and current point forgotten. */
  async swap(vae) {
    const same = this.vae?.latentDim === vae.latentDim;
    this.vae = vae;
    if (!same) {
      this.ends = { from: null, to: null };
      this.current = null;
      for (const end of ["from", "to"]) {
        if (this[`${end}Thumb`]) clearCanvas(this[`${end}Thumb`]);
        if (this[`${end}Button`]) this[`${end}Button`].disabled = true;
      }
    }
    if (!same || !this.walk) await this.newWalk();
    else if (!this.playing) await this.ctx.guard(() => this.show(this.walk.z), "redraw the walk");
  }

  /** Takes the current point as the morph's start ("from") or end ("to"), and morphs. */
  async setEnd(end) {
    if (!this.current) return;
    const { ctx, vae } = this;
    this.ends[end] = Float32Array.from(this.current);
    await ctx.guard(async () => drawDigit(this[`${end}Thumb`], await vae.decode(this.ends[end], 1, this.labels(vae, 1))), "set the walk's end");
    if (ctx.option("walk") === "morph") await this.newWalk();
    else ctx.setOption("walk", "morph"); // heard as option("walk"), which starts the morph
  }

  setCurrent(z) {
    if (!this.vae || z?.length !== this.vae.latentDim) return;
    this.current = Float32Array.from(z);
    for (const button of [this.fromButton, this.toButton]) if (button) button.disabled = false;
  }

  async receive(kind, value) {
    if (kind === "latent") this.setCurrent(value.z);
    else if (kind === "drawing" && value.x && this.vae) {
      await this.ctx.guard(async () => this.setCurrent((await this.ctx.rt.encodeDrawing(this.vae, value.x, this.labels(this.vae, 1))).mu), "encode the drawing");
    }
  }

  option(name, value) {
    if (name === "walk") {
      if (this.path) this.path.value = value;
      this.newWalk();
    } else if (name === "speed" && this.speedInput) {
      this.speedInput.value = value;
      this.speedText.textContent = `${value}×`;
    } else if (name === "seed") {
      this.newWalk();
    } else if (name === "digit" && this.walk && !this.playing) {
      this.ctx.guard(() => this.show(this.walk.z), "redraw the walk");
    }
  }

  play() {
    this.playing = true;
    this.button?.setAttribute("aria-pressed", "true");
    if (this.button) this.button.textContent = "Pause";
    this.loop();
  }

  pause() {
    this.playing = false;
    this.button?.setAttribute("aria-pressed", "false");
    if (this.button) this.button.textContent = "Play";
  }

  visibility(visible) {
    this.visible = visible;
    if (visible) this.loop();
  }

  /** One animation loop at most; it ends when paused, hidden, off screen or removed. */
  loop() {
    if (this.looping || !this.playing || !this.visible || this.disposed) return;
    this.looping = true;
    this.last = 0;
    const frame = async (now) => {
      if (!this.playing || !this.visible || this.disposed || !this.walk) {
        this.looping = false;
        return;
      }
      const seconds = this.last ? Math.min(0.25, (now - this.last) / 1000) : 0;
      this.last = now;
      await this.ctx.guard(async () => {
        const started = performance.now();
        const z = this.walk.advance(seconds, this.ctx.option("speed"));
        await this.show(z);
        this.frames++;
        // Where the walker is, for the page and the group's maps.
        const detail = { z: Array.from(z), ms: performance.now() - started };
        this.ctx.emit("walk", detail);
        this.ctx.publish("walker", detail, this);
      }, "walk");
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  state() {
    const ends = this.ends.from || this.ends.to ? { walkEnds: { from: listOrNull(this.ends.from), to: listOrNull(this.ends.to) } } : {};
    return { playing: this.playing, frames: this.frames, ...ends };
  }

  /** The morph's ends from getState's `walkEnds` ({from, to}, each a point or null). */
  async restore({ walkEnds }) {
    if (walkEnds == null) return;
    const ends = { from: latentOrNull(walkEnds.from, this.vae, "walkEnds.from"), to: latentOrNull(walkEnds.to, this.vae, "walkEnds.to") };
    this.ends = ends;
    await this.ctx.guard(async () => {
      for (const end of ["from", "to"]) {
        const thumb = this[`${end}Thumb`];
        if (!thumb) continue;
        if (ends[end]) drawDigit(thumb, await this.vae.decode(ends[end], 1, this.labels(this.vae, 1)));
        else clearCanvas(thumb);
      }
    }, "set the walk's ends");
    if (this.ctx.option("walk") === "morph") await this.newWalk();
  }

  dispose() {
    this.disposed = true;
    this.ctx.rt.free(this.walk);
  }
}

/** The conditional VAE: told the digit, it draws that digit in many styles, and one style as every digit. */
class CvaeView extends View {
  constructor(ctx) {
    super(ctx, "cvae");
    this.grid = canvas("Generated digits", 280, 280, "samples");
    this.styles = canvas("One style, every digit", 280, 28, "styles");
    const row = h("div", { class: "row", part: "controls" });
    if (ctx.controls !== "none") {
      this.digitSelect = select("Digit", digitChoices, ctx.digit(), "select");
      this.digitSelect.addEventListener("change", () => ctx.setDigit(Number(this.digitSelect.value)));
      const again = h("button", { type: "button", part: "button", text: "New styles" });
      again.addEventListener("click", () => {
        this.draw++;
        this.show();
      });
      row.append(h("label", { text: "Digit " }), this.digitSelect, again);
    }
    this.draw = 0;
    this.root.append(
      this.note("A conditional VAE is told which digit to draw: z then holds only the style."), row, this.grid,
      this.note("The same z with each label: one style, every digit."), this.styles);
  }

  async start() {
    this.vae = await this.ctx.model();
    if (this.vae.kind !== "conditional") throw new Error('view="cvae" needs a conditional model such as model="cvae-2".');
    await this.show();
  }

  async show() {
    const { vae, ctx } = this;
    await ctx.guard(async () => {
      const digit = ctx.digit();
      const z = ctx.wasm.standardNormal(SAMPLE_COUNT * vae.latentDim, ctx.seed() + this.draw);
      drawGrid(this.grid, await vae.decode(z, SAMPLE_COUNT, new Uint8Array(SAMPLE_COUNT).fill(digit)), SAMPLE_COUNT);
      const zs = new Float32Array(10 * vae.latentDim);
      for (let d = 0; d < 10; d++) zs.set(z.slice(0, vae.latentDim), d * vae.latentDim);
      drawRow(this.styles, await vae.decode(zs, 10, Uint8Array.from({ length: 10 }, (_, d) => d)), 10);
      ctx.updated();
    }, "generate digits");
  }

  option(name, value) {
    if (name === "digit" && this.digitSelect) this.digitSelect.value = value;
    if (name === "digit" || name === "seed") this.show();
  }
}

/** The plain autoencoder beside the VAE: where their codes lie, and what the prior's samples decode to. */
class CompareView extends View {
  constructor(ctx) {
    super(ctx, "compare");
    this.sides = {};
    const pair = h("div", { class: "pair" });
    for (const [key, title] of [["ae-2", "Autoencoder"], ["vae-2", "VAE"]]) {
      const side = {
        map: canvas(`${title} test codes`, 240, 240, "map"),
        samples: canvas(`${title} prior samples`, 240, 240, "samples"),
        note: this.note(""),
      };
      side.latentMap = new LatentMap(side.map);
      this.sides[key] = side;
      pair.append(h("figure", {}, h("figcaption", { text: `${title}: test codes (each digit at its code), then the same z ~ N(0, I) decoded` }), side.map, side.samples, side.note));
    }
    this.root.append(this.note("The same 16 points from the prior N(0, I) decoded by each. The VAE's KL term pulls its codes onto the prior, so its samples are digits; the autoencoder's codes sit wherever, and the prior lands in its holes."), pair, legend());
  }

  async start() {
    const { ctx } = this;
    const z = ctx.wasm.standardNormal(SAMPLE_COUNT * 2, ctx.seed() + 2023);
    for (const [key, side] of Object.entries(this.sides)) {
      const vae = await ctx.model(key);
      const stats = await ctx.rt.testStats(vae);
      await ctx.guard(async () => {
        side.latentMap.setPoints(stats.coords, stats.labels);
        drawGrid(side.samples, await vae.decode(z, SAMPLE_COUNT), SAMPLE_COUNT);
        const inside = ctx.wasm.shareInsidePriorCircle(stats.coords);
        side.note.textContent = `${Math.round(100 * inside)}% of test codes fall inside the prior's 95% circle; axes span ±${side.latentMap.range.toFixed(1)}.`;
      }, "load the comparison");
    }
    ctx.updated();
  }
}

/** z(A) − z(B) + z(C), decoded: each slot takes the current point (this pad's drawing, or the
 * drawing or point of the group; with controls="minimal" there is no pad, only the group's). */
class ArithView extends View {
  constructor(ctx) {
    super(ctx, "arith");
    this.slots = {};
    const grid = h("div", { class: "arith", part: "arith" });
    for (const name of ["A", "B", "C"]) {
      const button = h("button", { type: "button", part: "button", disabled: true, text: `${name} ← current` });
      const thumb = canvas(`Slot ${name}`, 56, 56, "thumb");
      button.addEventListener("click", () => this.setSlot(name));
      this.slots[name] = { button, thumb, z: null };
      grid.append(h("figure", {}, thumb, button));
    }
    this.result = canvas("A minus B plus C", 56, 56, "thumb");
    grid.append(h("figure", {}, this.result, h("figcaption", { text: "A − B + C" })));
    this.current = null;
    if (ctx.controls !== "full") {
      this.root.append(this.note("Each slot's button stores the current point (a drawing or a point picked in this widget's group). Thick 3 − thin 3 + thin 7 gives a thick 7 if the space has learned thickness."), grid);
      return;
    }
    this.padCanvas = canvas("Drawing pad", 140, 140, "pad", { tabindex: 0 });
    const clear = h("button", { type: "button", part: "button", text: "Clear" });
    clear.addEventListener("click", () => this.pad.clear());
    this.root.append(
      this.note("Draw (or pick on a map of the same group), then press a slot's button to store that point. Thick 3 − thin 3 + thin 7 gives a thick 7 if the space has learned thickness."),
      h("div", { class: "row" }, this.padCanvas, clear),
      grid,
    );
    this.pad = new DrawingPad(this.padCanvas, { lineWidth: 13, onChange: () => this.schedule() });
  }

  async start() {
    this.vae = await this.ctx.model();
    for (const { thumb } of Object.values(this.slots)) clearCanvas(thumb);
    clearCanvas(this.result);
  }

  schedule() {
    if (this.busy) return void (this.pending = true);
    this.busy = true;
    requestAnimationFrame(async () => {
      await this.ctx.guard(async () => {
        if (this.pad.isEmpty()) return;
        const x = this.ctx.wasm.rgbaToMnist(this.pad.rgba(), this.pad.readSize, this.pad.readSize);
        const { mu } = await this.vae.encode(x, 1, this.labels(this.vae, 1));
        this.setCurrent(mu);
      }, "encode the drawing");
      this.busy = false;
      if (this.pending) {
        this.pending = false;
        this.schedule();
      }
    });
  }

  setCurrent(z) {
    if (!this.vae || z.length !== this.vae.latentDim) return;
    this.current = Float32Array.from(z);
    for (const { button } of Object.values(this.slots)) button.disabled = false;
  }

  async setSlot(name) {
    if (!this.current) return;
    const slot = this.slots[name];
    slot.z = Float32Array.from(this.current);
    await this.ctx.guard(async () => {
      drawDigit(slot.thumb, await this.vae.decode(slot.z, 1, this.labels(this.vae, 1)));
      await this.showResult(true);
    }, "do the arithmetic");
  }

  /** Decodes A − B + C once all three are set; `changed`: a slot was just set (fires `change`). */
  async showResult(changed) {
    const { ctx, vae } = this;
    const [a, b, c] = ["A", "B", "C"].map((n) => this.slots[n].z);
    if (!(a && b && c)) return;
    const z = ctx.wasm.latentArithmetic(a, b, c);
    drawDigit(this.result, await vae.decode(z, 1, this.labels(vae, 1)));
    if (changed) ctx.emit("change", { source: "arithmetic", z: Array.from(z) });
    ctx.updated();
  }

  /** Another model: the slots keep their points, decoded by it; a model of another size empties
   * them (and forgets the current point). */
  async swap(vae) {
    const same = this.vae?.latentDim === vae.latentDim;
    this.vae = vae;
    if (!same) {
      this.current = null;
      for (const slot of Object.values(this.slots)) {
        slot.z = null;
        slot.button.disabled = true;
        clearCanvas(slot.thumb);
      }
      return clearCanvas(this.result);
    }
    await this.ctx.guard(async () => {
      for (const slot of Object.values(this.slots)) if (slot.z) drawDigit(slot.thumb, await vae.decode(slot.z, 1, this.labels(vae, 1)));
      await this.showResult(false);
    }, "redraw the arithmetic");
  }

  async receive(kind, value) {
    if (kind === "latent") this.setCurrent(value.z);
    else if (kind === "drawing" && value.x && this.vae) {
      await this.ctx.guard(async () => this.setCurrent((await this.ctx.rt.encodeDrawing(this.vae, value.x, this.labels(this.vae, 1))).mu), "encode the drawing");
    }
  }

  state() {
    const slots = Object.fromEntries(Object.entries(this.slots).filter(([, s]) => s.z).map(([n, s]) => [n, Array.from(s.z)]));
    return Object.keys(slots).length ? { slots } : {};
  }

  /** The slots from getState's `slots` ({A, B, C}, each a point; a slot left out stays empty). */
  async restore({ slots }) {
    if (slots == null) return;
    if (typeof slots !== "object" || Array.isArray(slots)) throw new TypeError("setState: slots must be an object {A, B, C} of latent points");
    const unknown = Object.keys(slots).filter((name) => !(name in this.slots));
    if (unknown.length) throw new TypeError(`setState: slots has no ${unknown.join(", ")} (the slots are A, B and C)`);
    const points = Object.fromEntries(Object.keys(this.slots).map((name) => [name, latentOrNull(slots[name], this.vae, `slots.${name}`)]));
    await this.ctx.guard(async () => {
      for (const [name, slot] of Object.entries(this.slots)) {
        slot.z = points[name];
        if (slot.z) drawDigit(slot.thumb, await this.vae.decode(slot.z, 1, this.labels(this.vae, 1)));
        else clearCanvas(slot.thumb);
      }
      clearCanvas(this.result);
      await this.showResult(false);
    }, "do the arithmetic");
  }
}

/** Every dimension of the current point as a slider, the point decoded, and the mean KL of each
 * dimension over the test digits: where a β-VAE's switched-off dimensions show. */
class DimsView extends View {
  constructor(ctx) {
    super(ctx, "dims");
    this.slidersNote = this.note("");
    this.sliders = h("div", { class: "sliders", id: "sliders", role: "group", "aria-label": "Latent coordinates", part: "sliders" });
    this.decoded = canvas("Decoded current point", 112, 112, "decoded");
    this.bars = h("ol", { class: "kl-bars", id: "kl-bars", "aria-label": "KL per latent dimension", part: "kl-bars" });
    this.klNote = this.note("");
    this.root.append(
      this.slidersNote,
      h("div", { class: "pair" }, this.sliders, this.decoded),
      h("h3", { text: "Information per dimension" }),
      this.note("Mean KL(q(z|x) ‖ N(0, 1)) of each dimension over the test digits, in nats. Train with a larger β and watch dimensions switch off."),
      this.bars,
      this.klNote,
    );
    this.current = null;
  }

  async start() {
    await this.swap(await this.ctx.model());
    if (this.waiting) await this.receive(...this.waiting);
  }

  /** Another model: the sliders are rebuilt for its size (the point kept when the size is the same),
   * and its KL bars drawn. */
  async swap(vae) {
    const same = this.vae?.latentDim === vae.latentDim;
    this.vae = vae;
    if (!same) this.buildSliders();
    await this.showPoint(this.current ?? new Float32Array(vae.latentDim));
    const stats = await this.ctx.guard(() => this.ctx.rt.testStats(vae), "load the test digits");
    if (stats && this.vae === vae && !this.disposed) this.showKl(stats.kl);
  }

  buildSliders() {
    const n = Math.min(this.vae.latentDim, MAX_SLIDERS);
    this.inputs = [];
    this.outputs = [];
    this.sliders.replaceChildren();
    for (let i = 0; i < n; i++) {
      const label = `z${i + 1}`;
      const input = h("input", { type: "range", min: -4, max: 4, step: 0.05, value: 0, "aria-label": label, part: "slider" });
      const output = h("output", { text: "0.00" });
      input.addEventListener("input", () => this.slide(i, Number(input.value)));
      this.sliders.append(h("div", { class: "slider" }, h("span", { text: label, "aria-hidden": "true" }), input, output));
      this.inputs.push(input);
      this.outputs.push(output);
    }
    this.slidersNote.textContent = this.vae.latentDim > MAX_SLIDERS
      ? `The first ${MAX_SLIDERS} of ${this.vae.latentDim} dimensions.`
      : `All ${this.vae.latentDim} dimensions of the current point (a drawing's μ, or a point picked on a map). Move one to see what it encodes.`;
    this.current = null;
  }

  /** Slider `i` moved to `value`: the point changes in that dimension only; the group hears it. */
  async slide(i, value) {
    const z = Float32Array.from(this.current ?? new Float32Array(this.vae.latentDim));
    z[i] = value;
    this.ctx.emit("input", { source: "sliders" });
    await this.showPoint(z);
    this.ctx.publish("latent", { z: Array.from(z), source: "sliders" }, this);
    this.ctx.emit("change", { source: "sliders", z: Array.from(z) });
  }

  /** Sets the sliders to `z` and draws it decoded. */
  async showPoint(z) {
    const vae = this.vae;
    if (!vae || z.length !== vae.latentDim) return;
    this.current = Float32Array.from(z);
    this.inputs.forEach((input, i) => {
      input.value = String(z[i]);
      this.outputs[i].textContent = Number(z[i]).toFixed(2);
    });
    await this.ctx.guard(async () => {
      const image = await vae.decode(this.current, 1, this.labels(vae, 1));
      if (!this.disposed && this.vae === vae) drawDigit(this.decoded, image);
      this.ctx.updated();
    }, "decode the point");
  }

  /** The mean KL of each dimension (nats) as bars; a plain autoencoder has none. */
  showKl(kl) {
    this.bars.replaceChildren();
    if (!kl) {
      this.klNote.textContent = "A plain autoencoder has no KL term: nothing pulls its codes towards the prior.";
      return;
    }
    const max = Math.max(...kl, 1e-6);
    kl.forEach((v, i) => {
      const bar = h("span", { class: "kl-bar" });
      bar.style.setProperty("--w", `${(100 * v) / max}%`);
      this.bars.append(h("li", { "aria-label": `z${i + 1}: ${v.toFixed(2)} nats` }, h("span", { class: "kl-name", text: `z${i + 1}` }), bar, h("span", { class: "kl-value", text: v.toFixed(2) })));
    });
    const total = kl.reduce((sum, v) => sum + v, 0);
    const active = kl.filter((v) => v > 0.1).length;
    this.klNote.textContent = `${total.toFixed(1)} nats in all; ${active} of ${kl.length} dimensions carry more than 0.1 nats (the rest are switched off).`;
    this.root.dataset.kl = String(kl.length);
  }

  async receive(kind, value) {
    if (!this.vae) {
      if (kind === "latent" || kind === "drawing") this.waiting = [kind, value]; // put through once started
      return;
    }
    if (kind === "latent") await this.showPoint(value.z);
    else if (kind === "drawing" && value.x) {
      await this.ctx.guard(async () => this.showPoint((await this.ctx.rt.encodeDrawing(this.vae, value.x, this.labels(this.vae, 1))).mu), "encode the drawing");
    }
  }

  option(name) {
    if (name === "digit" && this.current) this.showPoint(this.current);
  }

  state() {
    return this.current ? { latent: Array.from(this.current) } : {};
  }

  dispose() {
    this.disposed = true;
  }
}

/** Everything above in one widget, sharing one drawing and one latent point. */
class FullView extends View {
  constructor(ctx) {
    super(ctx, "full");
    this.parts = [DrawView, LatentView, SampleView, ManifoldView, WalkView].map((V) => new V(ctx));
    for (const part of this.parts) this.root.append(part.root);
  }

  async start() {
    for (const part of this.parts) await part.start();
  }

  receive(kind, value) {
    for (const part of this.parts) part.receive(kind, value);
  }

  /** What one part publishes, the other parts hear too. */
  local(kind, value, source) {
    for (const part of this.parts) if (part !== source) part.receive(kind, value);
  }

  visibility(visible) {
    for (const part of this.parts) part.visibility(visible);
  }

  option(name, value) {
    for (const part of this.parts) part.option?.(name, value);
  }

  dispose() {
    for (const part of this.parts) part.dispose();
  }

  state() {
    return Object.assign({}, ...this.parts.map((p) => p.state()));
  }

  async restore(state) {
    for (const part of this.parts) await part.restore(state);
  }

  play() {
    this.parts[4].play();
  }

  pause() {
    this.parts[4].pause();
  }

  sample() {
    return this.parts[2].sample();
  }
}

const listOrNull = (z) => (z ? Array.from(z) : null);

/** A latent point given in a state (`what` names it in the message): null/undefined for none, else
 * `vae.latentDim` finite numbers. */
function latentOrNull(z, vae, what) {
  if (z == null) return null;
  if (!Array.isArray(z) && !ArrayBuffer.isView(z)) throw new TypeError(`setState: ${what} must be a list of numbers or null`);
  if (z.length !== vae.latentDim) throw new RangeError(`setState: ${what} has ${z.length} numbers; this model's latent space has ${vae.latentDim}`);
  const point = Float32Array.from(z, Number);
  if (!point.every(Number.isFinite)) throw new RangeError(`setState: ${what} holds a value that is not a finite number`);
  return point;
}

export const VIEW_CLASSES = {
  draw: DrawView,
  latent: LatentView,
  sample: SampleView,
  manifold: ManifoldView,
  walk: WalkView,
  dims: DimsView,
  cvae: CvaeView,
  arith: ArithView,
  compare: CompareView,
  full: FullView,
};
