// <vae-playground>: one view of the playground as a self-contained element for course notes.
//
//   <script type="module" src="vae-playground/widget.js"></script>
//   <vae-playground view="draw" model="vae-2"></vae-playground>
//
// Attributes are listed once, in widget-settings.js, and reflected as properties. The element keeps
// everything in its open shadow root: no ids, globals, page-wide handlers, URL or storage writes.
// Events (bubbling, composed CustomEvents): load, progress, error, input, change, trainprogress,
// trainend. With `persist="key"` (and only then) it keeps its state and last run in IndexedDB.

import { SETTINGS, SETTING, SHIPPED_MODELS, propertyName, readSetting } from "./widget-settings.js";
import { WidgetError, assetUrl, liveObjects, register, restart, runtime } from "./widget-runtime.js";
import { VIEW_CLASSES, group, h } from "./widget-views.js";
import { AaeView, HvaeView } from "./widget-family.js";
import { VraeView } from "./widget-series.js";
import { TrainView } from "./widget-train.js";
import { kindName } from "./labels.js";

/** IndexedDB, loaded only by a widget with `persist`. */
const store = () => import("./widget-store.js");

export const VERSION = "0.2.0";
const TAG = "vae-playground";
// Start loading a little before the widget scrolls into view, so it is ready when it arrives.
const LAZY_MARGIN = "300px";

/** The default model of a view when the author names none. */
const VIEW_MODEL = { cvae: () => "cvae-2", aae: (settings) => `aae-${settings.prior}`, hvae: () => "hvae-2", vrae: () => "vrae-bleeding" };
/** The module's class of a view's own model, where it is not a VAE. */
const VIEW_CLASS = { aae: "Aae", hvae: "Hvae", vrae: "Vrae" };

/** The class that loads the model `name`: a shipped model's own, else the view's. */
function modelClass(name, view) {
  if (SHIPPED_MODELS[name]) return { aae: "Aae", hvae: "Hvae", vrae: "Vrae" }[name.split("-")[0]] ?? "Vae";
  return VIEW_CLASS[view] ?? "Vae";
}
let loadedModels = 0; // names the models handed to loadSafetensors
const handedOver = new WeakMap(); // Uint8Array → { url, digest }: what loadSafetensors was given

/** The name of the model in `bytes`: the same array with the same contents, handed to several
 * widgets (a page giving each of its sections a snapshot of a model in training), is one model in
 * the runtime, read once, its statistics computed once; changed contents are a new model. */
function bytesUrl(bytes) {
  const digest = fnv1a(bytes);
  const known = handedOver.get(bytes);
  if (known?.digest === digest) return known.url;
  const url = `bytes:${++loadedModels}`;
  handedOver.set(bytes, { url, digest });
  return url;
}

/** FNV-1a over the bytes, 32 bits at a time where they are aligned (~1 ms for a 1.6 MB model). */
function fnv1a(bytes) {
  let hash = 0x811c9dc5 ^ bytes.length;
  const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : null;
  const tail = words ? words.length * 4 : 0;
  if (words) for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 16777619);
  for (let i = tail; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 16777619);
  return hash >>> 0;
}

function modelUrl(name) {
  return SHIPPED_MODELS[name] ? assetUrl(SHIPPED_MODELS[name]) : new URL(name, document.baseURI).href;
}

/** The status line of a widget showing `vae`. */
const readyText = (vae) => `Ready: a latent-${vae.latentDim} ${kindName(vae)} running on the CPU (WebAssembly).`;

function checkPixels(pixels) {
  if (pixels === null) return null;
  if (!pixels || typeof pixels.length !== "number" || typeof pixels === "string") {
    throw new TypeError("setDrawing expects 784 grey values (an array or Float32Array) or null");
  }
  if (pixels.length !== 784) throw new RangeError(`setDrawing expects 784 grey values (28×28), got ${pixels.length}`);
  const x = Float32Array.from(pixels, Number);
  if (x.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) throw new RangeError("setDrawing expects values in [0, 1] (ink = 1), all finite");
  return x;
}

export class VaePlayground extends HTMLElement {
  static observedAttributes = SETTINGS.map((s) => s.attr);
  static version = VERSION;
  /** How many wasm objects all widgets on the page hold now (for leak checks). */
  static liveObjects = liveObjects;

  #shadow;
  #frame;
  #status;
  #panel;
  #body;
  #view = null;
  #ctx = null;
  #group = null;
  #models = new Map(); // "class URL" → { url, cls, vae: Promise }: the models this widget holds
  #ready;
  #settle;
  #build = 0;
  #observer = null;
  #visible = false;
  #started = false;
  #unregister = null;
  #onVisibility = () => this.#updateVisibility();
  #override = null; // a model loaded with loadSafetensors, or from a file in a training panel: { url, bytes, file? }
  #mainKey = null; // the #models key of the view's own model
  #swapping = Promise.resolve(); // loadSafetensors calls that redraw in place, one after another
  #kept = null; // with `persist`: the record as last saved ({ view, prior, state, run }), or null
  #keptModel = null; // the kept run's weights, shown instead of the shipped model: { url, bytes }
  #saveTimer = 0;
  #saving = Promise.resolve();
  #storageFailed = false;
  #damaged = null; // why the record kept under `persist` could not be read (it is saved over next)
  #skipKeptRun = null; // why the kept run's weights did not load: the record is read without them
  #knownRun = null; // runKey() of the kept run this widget last read or wrote
  #runDirty = false; // this widget kept a run snapshot its next save must write
  #unwatchKept = null; // stops hearing other tabs keep runs under `persist`
  // What the group sees of this widget: messages from the other widgets go to the view.
  #member = { receive: (kind, value) => this.#view?.receive(kind, value) };

  constructor() {
    super();
    this.#shadow = this.attachShadow({ mode: "open" });
    this.#status = h("p", { part: "status", class: "status", role: "status", "aria-live": "polite" });
    this.#panel = h("div", { part: "error", class: "error", role: "alert", hidden: true });
    this.#body = h("div", { part: "body", class: "body" });
    this.#frame = h("div", { part: "frame", class: "frame", role: "group" },
      this.#panel, this.#body, this.#status,
      h("p", { part: "version", class: "version", text: `vae-playground ${VERSION}` }));
    this.#shadow.append(h("link", { rel: "stylesheet", href: assetUrl("widget.css") }), this.#frame);
    this.#newReady();
  }

  /** Resolves when the view is drawn; rejects with the error the widget shows. */
  get ready() {
    return this.#ready;
  }

  #newReady() {
    this.#ready = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#ready.catch(() => {}); // the error is shown and fired as an event; no unhandled rejection
  }

  connectedCallback() {
    this.#unregister = register(this);
    this.#label();
    document.addEventListener("visibilitychange", this.#onVisibility);
    this.#observer = new IntersectionObserver((entries) => {
      this.#visible = entries.some((e) => e.isIntersecting);
      if (this.#visible && !this.#started && !this.#panel.dataset.kind) this.#start();
      this.#updateVisibility();
    }, { rootMargin: LAZY_MARGIN });
    this.#observer.observe(this);
    // A bad attribute is reported at once, even before the widget would load.
    try {
      this.#settings();
    } catch (e) {
      return this.#fail(new WidgetError("load", e.message));
    }
    if (this.getAttribute("loading") === "eager") this.#start();
  }

  disconnectedCallback() {
    this.#observer?.disconnect();
    this.#observer = null;
    document.removeEventListener("visibilitychange", this.#onVisibility);
    this.#unregister?.();
    this.#teardown();
    this.#started = false;
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value || !this.isConnected) return;
    if (name === "alt" || name === "view") this.#label();
    if (name === "theme" || name === "alt") return;
    let parsed;
    try {
      parsed = readSetting(this, name);
    } catch (e) {
      return this.#fail(new WidgetError("load", e.message));
    }
    // A run's setting set to what its control already shows (setState(getState()) mid-run).
    if (this.#view?.holds?.(name, parsed) && !this.#panel.dataset.kind) {
      this.#ctx.options[name] = parsed;
      return;
    }
    if (SETTING[name].live && this.#view && !this.#panel.dataset.kind) {
      this.#ctx.options[name] = parsed;
      if (name === "latent") this.#publish("latent", { z: Array.from(parsed) });
      else this.#view.option?.(name, parsed);
      return;
    }
    if (this.#started || this.#panel.dataset.kind) this.#restartView();
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  #settings() {
    return Object.fromEntries(SETTINGS.map((s) => [s.attr, readSetting(this, s.attr)]));
  }

  #label() {
    this.#frame.setAttribute("aria-label", this.getAttribute("alt") ?? `VAE playground: ${this.getAttribute("view") ?? "draw"}`);
  }

  #start() {
    this.#started = true;
    this.#load();
  }

  #restartView() {
    this.#teardown();
    this.#panel.hidden = true;
    delete this.#panel.dataset.kind;
    this.#newReady();
    this.#started = false;
    if (this.getAttribute("loading") === "eager" || this.#visible) this.#start();
  }

  async #load() {
    const build = ++this.#build;
    const current = () => build === this.#build && this.isConnected;
    this.#teardown(false);
    this.#panel.hidden = true;
    delete this.#panel.dataset.kind;
    let settings;
    try {
      settings = this.#settings();
      this.#say("Loading the module…");
      this.#emit("progress", { stage: "module" });
      const rt = await runtime();
      if (!current()) return;
      this.#say("Loading the model…");
      this.#emit("progress", { stage: "model" });
      await this.#recall(settings);
      if (!current()) return;
      this.#ctx = this.#context(rt, settings);
      const View = { ...VIEW_CLASSES, train: TrainView, aae: AaeView, hvae: HvaeView, vrae: VraeView }[settings.view];
      this.#view = new View(this.#ctx);
      this.#body.replaceChildren(this.#view.root);
      this.#group = group(settings.group);
      await this.#view.start();
      if (!current()) return;
      this.#group.join(this.#member);
      if (settings.latent) this.#publish("latent", { z: Array.from(settings.latent) });
      this.#restoreState();
      const vae = this.#ctx.main;
      const unkept = this.#storageFailed ? " Nothing is kept: this browser refused its storage."
        : this.#damaged ? ` What was kept under persist="${settings.persist}" could not be used (${this.#damaged}); none of it was applied, and the widget keeps its state there afresh from its next change.` : "";
      this.#say(`${vae ? readyText(vae) : "Ready."}${unkept}`);
      this.dataset.ready = "true";
      this.#emit("load", { view: settings.view, model: settings.model, latentDim: vae?.latentDim ?? null, kind: vae?.kind ?? null });
      this.#settle.resolve(this);
      this.#updateVisibility();
    } catch (e) {
      if (current() && e?.keptRun) {
        // Shown again without the kept run, which stays stored until the next save replaces it.
        this.#skipKeptRun = `its run's weights could not be read (${e.message})`;
        this.#emit("error", { type: "storage", message: `what was kept under persist="${settings.persist}" could not be used: ${this.#skipKeptRun}` });
        return this.#load();
      }
      // A crash has already put its panel, with Restart, in every widget.
      if (current() && e?.type !== "panic") this.#fail(e);
    }
  }

  /** What a view may use: models, the runtime, its options, the group, events. */
  #context(rt, settings) {
    const widget = this;
    const ctx = {
      options: { ...settings },
      rt,
      wasm: rt.wasm,
      controls: settings.controls,
      main: null,
      /** The widget's model (or a named one, for views that show several). */
      async model(name = null) {
        const chosen = name ?? (widget.hasAttribute("model") ? settings.model : VIEW_MODEL[settings.view]?.(settings) ?? settings.model);
        const own = name ? null : widget.#override ?? widget.#keptModel;
        const url = own ? own.url : modelUrl(chosen);
        const cls = name ? modelClass(name, null) : modelClass(chosen, settings.view);
        const key = `${cls} ${url}`;
        // Each model is acquired once per widget (and released once, in #teardown or #swap).
        if (!widget.#models.has(key)) {
          if (own) rt.provide(url, own.bytes);
          const entry = { url, cls, vae: rt.acquire(url, chosen, cls) };
          widget.#models.set(key, entry);
          // A model that failed to load is not the runtime's any more: nothing to release.
          entry.vae.catch(() => widget.#models.get(key) === entry && widget.#models.delete(key));
        }
        let vae;
        try {
          vae = await widget.#models.get(key).vae;
        } catch (e) {
          // Kept weights that no longer load (damaged bytes): the widget comes back without them.
          if (own && own === widget.#keptModel && e?.type !== "panic") throw Object.assign(new Error(e?.message ?? String(e)), { keptRun: true });
          throw e;
        }
        if (!name) {
          ctx.main = vae;
          widget.#mainKey = key;
        }
        return vae;
      },
      option: (name) => ctx.options[name],
      /** Whether the author set option `name` (else the view may pick it from its model). */
      given: (name) => widget.hasAttribute(name),
      setOption(name, value) {
        widget.setAttribute(name, String(value));
      },
      digit: () => ctx.options.digit,
      setDigit: (d) => widget.setAttribute("digit", String(d)),
      seed: () => ctx.options.seed,
      emit: (type, detail) => widget.#emit(type, detail),
      publish: (kind, value, source) => widget.#publish(kind, value, source),
      updated: () => (widget.dataset.updates = String(Number(widget.dataset.updates ?? 0) + 1)),
      /** A training view's newest weights: kept across reloads where `persist` is set. */
      keepRun: (run) => widget.#keepRun(run),
      forgetRun: () => widget.#forgetRun(),
      /** With `persist`, the Web Lock of its kept run (so two tabs, or two widgets of a page, with
       * the same key never train over each other's run): resolves to its `release()`, or to null
       * while another holds it. Without `persist` nothing is kept, so nothing is held. */
      async holdRun() {
        const key = widget.getAttribute("persist");
        if (!key) return () => {};
        try {
          return (await store()).holdLock(`vae-playground persist=${key}`);
        } catch {
          return () => {}; // storage refused (a sandboxed frame): nothing is kept either
        }
      },
      persistKey: () => widget.getAttribute("persist"),
      /** With `persist`: the run kept under the key, if another tab (or widget) saved it since this
       * widget read or wrote its kept run: `{ steps, savedAt }`; else null. */
      async keptElsewhere() {
        const key = widget.getAttribute("persist");
        if (!key || widget.#storageFailed) return null;
        try {
          const s = await store();
          const record = await s.loadWidget(key);
          return record?.run && s.runKey(record.run) !== widget.#knownRun ? { steps: record.run.steps, savedAt: record.savedAt } : null;
        } catch {
          return null; // a damaged or unreadable record holds no run to lose
        }
      },
      /** The line under the view that says what the widget shows. */
      say: (text) => widget.#say(text),
      /** Rebuilds the view from what is kept now (another tab's newer run). */
      showKept: () => widget.#restartView(),
      /** Shows the model in `bytes`, which a person loaded from the file named `file`. */
      loadFile(bytes, file) {
        widget.#override = { url: bytesUrl(bytes), bytes, file };
        widget.#restartView();
        return widget.ready.catch(() => {}); // a failure is shown in the widget and fired as error
      },
      /** Whether the shown model was handed over (loadSafetensors, or a person's file: `file`, its
       * name) rather than named by `model`: `{ file }`, or null. */
      loaded: () => (widget.#override ? { file: widget.#override.file ?? null } : null),
      /** Runs `work`; a crash shows the restart panel (in every widget), any other failure a status line. */
      async guard(work, what) {
        try {
          return await rt.call(work);
        } catch (e) {
          if (e?.type !== "panic") widget.#say(`Could not ${what}: ${e?.message ?? e}`);
          return undefined;
        }
      },
    };
    return ctx;
  }

  #publish(kind, value, source = null) {
    this.#view?.local?.(kind, value, source);
    this.#group?.publish(kind, value, source ? this.#member : null);
  }

  /** Frees what this widget holds: its view's objects and its share of the models. */
  #teardown(clearBody = true) {
    this.#unwatchKept?.();
    this.#unwatchKept = null;
    this.#view?.dispose();
    this.#view = null;
    this.#group?.leave(this.#member);
    this.#group = null;
    if (this.#ctx) for (const { url, cls } of this.#models.values()) this.#ctx.rt.release(url, cls);
    this.#models.clear();
    this.#ctx = null;
    delete this.dataset.ready;
    if (clearBody) this.#body.replaceChildren();
  }

  // ---- persist="key" -----------------------------------------------------------------------------

  /** Reads what was kept under `persist`; a kept run of this view (and prior) is shown instead of
   * the shipped model. Storage that fails is reported and the widget goes on without it. */
  async #recall(settings) {
    this.#keptModel = null;
    this.#kept = null;
    if (!settings.persist || this.#storageFailed) return;
    this.#damaged = null;
    try {
      this.#kept = await (await store()).loadWidget(settings.persist);
    } catch (e) {
      if (!e?.damaged) return this.#storageError(e);
      // A damaged record is left alone until the widget's next save replaces it; nothing of it is used.
      this.#damaged = e.why;
      this.#emit("error", { type: "storage", message: e.message });
      return;
    }
    if (this.#skipKeptRun) {
      this.#damaged = this.#skipKeptRun;
      this.#kept = { ...this.#kept, run: null };
    }
    this.#knownRun = (await store()).runKey(this.#kept?.run);
    // Another tab that keeps a newer run under the key is heard at once: the panel offers to show it.
    this.#unwatchKept?.();
    this.#unwatchKept = (await store()).watchKept(settings.persist, (news) => {
      if (news.run !== this.#knownRun) this.#view?.panel?.keptElsewhere?.(news);
    });
    // Kept weights that did not load are replaced by the next save, like a damaged record.
    this.#runDirty = Boolean(this.#skipKeptRun);
    const run = this.#kept?.run;
    if (run && this.#kept.view === settings.view && this.#kept.prior === settings.prior && !this.#override) {
      this.#keptModel = { url: `kept:${settings.persist}:${this.#kept.savedAt}`, bytes: run.weights, run: { ...run, savedAt: this.#kept.savedAt } };
    }
  }

  /** Puts the kept drawing or latent point back, and says when the view shows a kept run. */
  #restoreState() {
    const state = this.#kept?.view === (this.getAttribute("view") ?? "draw") ? this.#kept.state : null;
    try {
      if (state?.drawing) this.setDrawing(state.drawing);
      else if (state?.latent) this.#publish("latent", { z: Array.from(state.latent) });
    } catch {
      // A kept state that no longer fits this model (another latent size) is not put back.
    }
    // A training view says first that it shows a kept run (or loaded weights), whose architecture
    // its controls then keep.
    if (this.#keptModel) this.#view.panel?.restored(this.#keptModel.run);
    else if (this.#override) this.#view.panel?.loaded(this.#override);
    // The walk's ends, the arithmetic's slots, a run's settings; ones that no longer fit are not put back.
    if (state) this.#view.restore(state).catch(() => {});
  }

  #keepRun(run) {
    if (!this.getAttribute("persist")) return;
    this.#skipKeptRun = null; // a new run replaces the one whose weights did not load
    run = { ...run, id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
    this.#knownRun = run.id;
    this.#runDirty = true;
    this.#kept = { ...(this.#kept ?? {}), run };
    // Every snapshot (~2 s apart, and one where a run pauses) is saved at once: a reload right
    // after a pause keeps every step.
    clearTimeout(this.#saveTimer);
    this.#saving = this.#saving.then(() => this.#save(this.getAttribute("persist")));
  }

  /** Saves the widget's record a moment after the last change (a drag saves once, not per frame);
   * saves run one after another, each writing what is newest when it runs. */
  #keepSoon() {
    const key = this.getAttribute("persist");
    if (!key || this.#storageFailed || !this.#view) return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => (this.#saving = this.#saving.then(() => this.#save(key))), 400);
  }

  async #save(key) {
    if (!this.#view || this.#storageFailed) return;
    const record = { view: this.getAttribute("view") ?? "draw", prior: this.#ctx.options.prior, state: this.#view.state(), run: this.#kept?.run ?? null };
    // A save for a change of state writes the run stored now (perhaps another tab's newer one);
    // only a snapshot this widget kept writes its own.
    const ownRun = this.#runDirty;
    try {
      await (await store()).saveWidget(key, record, { keepStoredRun: !ownRun });
      if (ownRun && this.#kept?.run === record.run) this.#runDirty = false;
      this.dataset.saved = String(Number(this.dataset.saved ?? 0) + 1);
    } catch (e) {
      this.#storageError(e);
    }
  }

  async #forgetRun() {
    const key = this.getAttribute("persist");
    try {
      if (key) await (await store()).forgetWidget(key);
    } catch (e) {
      return this.#storageError(e);
    }
    this.#kept = null;
    this.#keptModel = null;
    this.#knownRun = null;
    this.#restartView();
  }

  #storageError(e) {
    this.#storageFailed = true;
    const message = `This browser would not keep the widget's state (persist="${this.getAttribute("persist")}"): ${e?.message ?? e}. It works on without saving.`;
    this.#say(message);
    this.#emit("error", { type: "storage", message });
  }

  #fail(e) {
    const type = e?.type ?? "load";
    const message = String(e?.message ?? e);
    this.#teardown();
    this.#showPanel(type, message);
    this.#say("Stopped by an error (see above).");
    this.#emit("error", { type, message });
    this.#settle.reject(e instanceof Error ? e : new Error(message));
  }

  #showPanel(type, message, restartable = false) {
    this.#panel.replaceChildren(h("p", { text: message }));
    if (restartable) {
      const button = h("button", { type: "button", part: "button restart", text: "Restart" });
      button.addEventListener("click", () => restart());
      this.#panel.append(button);
    }
    this.#panel.dataset.kind = type;
    this.#panel.hidden = false;
  }

  /** Called by the runtime when the shared module crashes: every widget says so and offers Restart. */
  crashed(message) {
    if (!this.#started) return;
    this.#showPanel("panic", `The model crashed and must be restarted: ${message}.`, true);
    this.#say("Stopped: the module crashed.");
    this.#emit("error", { type: "panic", message });
    this.#settle.reject(new Error(`the module crashed (${message})`));
  }

  /** Called by the runtime after Restart: every widget comes back on the fresh instance. */
  restarted() {
    if (!this.#started) return;
    this.#teardown();
    this.#newReady();
    this.#load();
  }

  #updateVisibility() {
    this.#view?.visibility(this.#visible && document.visibilityState === "visible");
  }

  #say(text) {
    this.#status.textContent = text;
  }

  #emit(type, detail) {
    if (type === "change") this.#keepSoon();
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  // ---- the JS API -------------------------------------------------------------------------------

  /** The widget's options and what it shows, as plain JSON. */
  getState() {
    const state = { version: 1 };
    for (const { attr } of SETTINGS) {
      if (this.hasAttribute(attr) && attr !== "loading") state[propertyName(attr)] = this.getAttribute(attr);
    }
    return { ...state, ...(this.#view?.state() ?? {}) };
  }

  /** Applies what getState returned (options, then the drawing and the latent point). */
  async setState(state) {
    if (!state || typeof state !== "object" || Array.isArray(state)) throw new TypeError("setState expects an object from getState()");
    const known = new Set([...SETTINGS.map((s) => propertyName(s.attr)), "version", "drawing", "latent", "playing", "frames", "slots", "walkEnds", "sample"]);
    const unknown = Object.keys(state).filter((k) => !known.has(k));
    if (unknown.length) throw new TypeError(`setState: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
    for (const { attr } of SETTINGS) {
      const value = state[propertyName(attr)];
      if (value !== undefined && attr !== "latent" && attr !== "loading") this.setAttribute(attr, String(value));
    }
    if (state.latent != null && state.drawing == null) {
      this.setAttribute("latent", typeof state.latent === "string" ? state.latent : Array.from(state.latent).join(","));
    }
    await this.ready;
    if (state.drawing !== undefined) this.setDrawing(state.drawing);
    if (state.sample != null) {
      if (!Number.isFinite(Number(state.sample))) throw new RangeError("setState: sample must be a number (a position in the series)");
      this.#view?.look?.(Number(state.sample));
    }
    await this.#view?.restore(state);
    if (state.playing) this.play();
    return this.getState();
  }

  /** Replaces the drawing with 28×28 grey values (ink = 1), or clears it with null. */
  setDrawing(pixels) {
    const x = checkPixels(pixels);
    this.#publish("drawing", { x });
  }

  clear() {
    this.setDrawing(null);
  }

  /** Makes `z` the current latent point of this widget and its group. */
  setLatent(z) {
    const dim = this.#ctx?.main?.latentTop ?? this.#ctx?.main?.latentDim; // the HVAE's map is z₂
    if (!dim) throw new Error("setLatent: the widget's model has not loaded yet (await widget.ready)");
    const values = Array.from(z ?? [], Number);
    if (values.length !== dim) throw new RangeError(`setLatent expects ${dim} coordinates, got ${values.length}`);
    if (values.some((v) => !Number.isFinite(v))) throw new RangeError("setLatent expects finite numbers");
    this.#publish("latent", { z: values });
  }

  sample() {
    if (!this.#view?.sample) throw new Error(`view="${this.getAttribute("view") ?? "draw"}" has no sampler`);
    return this.#view.sample();
  }

  play() {
    if (!this.#view?.play) throw new Error(`view="${this.getAttribute("view") ?? "draw"}" has no walk to play`);
    this.#view.play();
  }

  pause() {
    this.#view?.pause?.();
  }

  /** Trains in the view's panel (views train, aae, hvae, vrae): resumes a paused run, else goes on from
   * the run kept by `persist`, else starts a fresh one; resolves once it trains, rejects with the reason when it cannot start. Progress arrives as
   * `trainprogress` events, the end (a pause, a rolled-back divergence, a failure) as `trainend`. */
  async train() {
    await this.ready;
    const panel = this.#view?.panel;
    if (!panel) throw new Error(`view="${this.getAttribute("view") ?? "draw"}" has no training panel (the train, aae, hvae and vrae views train)`);
    return panel.begin();
  }

  /** Pauses the view's training run; `train()` resumes it. */
  stopTraining() {
    this.#view?.panel?.halt();
  }

  /** The widget's model as safetensors bytes. */
  async toSafetensors() {
    await this.ready;
    return this.#ctx.rt.call(() => this.#ctx.main.toSafetensors());
  }

  /** Shows this widget with the model in `bytes` (safetensors) instead of its `model`. */
  async loadSafetensors(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("loadSafetensors expects a Uint8Array");
    this.#override = { url: bytesUrl(bytes), bytes };
    // A view that can redraw with another model (view.swap) keeps its elements: no flicker when a
    // page hands it each new snapshot of a model in training. Any other view is rebuilt.
    if (this.#view?.swap && this.dataset.ready === "true") {
      const swap = this.#swapping.then(() => this.#swap());
      this.#swapping = swap.catch(() => {});
      return swap;
    }
    this.#restartView();
    if (!this.#started) this.#start();
    return this.ready;
  }

  /** Shows the model now in #override in the running view, then lets go of the one it replaces. */
  async #swap() {
    const ctx = this.#ctx;
    const view = this.#view;
    if (!ctx || !view) return this.ready;
    const old = this.#mainKey;
    try {
      const vae = await ctx.model();
      if (this.#view !== view) return this.ready; // rebuilt meanwhile: the new view has the model
      await view.swap(vae);
    } catch (e) {
      if (this.#view === view && e?.type !== "panic") this.#fail(e);
      throw e;
    } finally {
      const entry = old !== this.#mainKey && this.#ctx === ctx ? this.#models.get(old) : null;
      if (entry) {
        this.#models.delete(old);
        ctx.rt.release(entry.url, entry.cls);
      }
    }
    const vae = ctx.main;
    this.#say(readyText(vae));
    this.#emit("load", { view: this.view, model: this.model, latentDim: vae.latentDim, kind: vae.kind });
    return this;
  }
}

// Properties reflect the attributes: `widget.view = "latent"` is `setAttribute("view", "latent")`.
for (const { attr, default: fallback } of SETTINGS) {
  Object.defineProperty(VaePlayground.prototype, propertyName(attr), {
    get() {
      return this.getAttribute(attr) ?? (fallback === null ? null : String(fallback));
    },
    set(value) {
      if (value === null || value === undefined) this.removeAttribute(attr);
      else this.setAttribute(attr, Array.isArray(value) || ArrayBuffer.isView(value) ? Array.from(value).join(",") : String(value));
    },
    enumerable: true,
    configurable: true,
  });
}

if (!customElements.get(TAG)) customElements.define(TAG, VaePlayground);
