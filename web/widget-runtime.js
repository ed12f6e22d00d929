// What every <vae-playground> on a page shares: one instance of the wasm module (compiled once,
// however many widgets start in the same tick), each model file fetched once, the test digits, and
// the module's crash and restart. Every URL is resolved from this module's own location, so the
// folder works wherever an author copies it.

import { testScores as scoreTestDigits, yieldToPage } from "./scores.js";

const BASE = new URL(".", import.meta.url);
export const assetUrl = (path) => new URL(path, BASE).href;

/** The WebGPU build of the module, in the folder's gpu/ subfolder: fetched only by a worker that
 * trains on WebGPU. */
export const gpuBuild = () => ({ glue: assetUrl("gpu/vae-gpu.js"), wasm: assetUrl("gpu/vae-gpu_bg.wasm") });

/** An error a widget shows and reports: `type` is the `error` event's detail.type. */
export class WidgetError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}

// The test digits are encoded 250 at a time: ~10–30 ms each on the CPU build (latent 2 to 20), under
// the 50 ms of a long task, in four turns of the event loop.
const STATS_CHUNK = 250;
const isTrap = (e) => e instanceof WebAssembly.RuntimeError || /^RuntimeError/.test(String(e));

// ---- bytes: each URL fetched once per page, whatever happens to the module --------------------

const fetched = new Map(); // absolute URL → Promise<Uint8Array>
export function fetchBytes(url, what) {
  if (!fetched.has(url)) {
    const load = (async () => {
      let response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new WidgetError("load", `${what} could not be fetched from ${url}: ${e.message}`);
      }
      if (!response.ok) throw new WidgetError("load", `${what} could not be fetched from ${url}: HTTP ${response.status}.`);
      return new Uint8Array(await response.arrayBuffer());
    })();
    fetched.set(url, load);
    load.catch(() => fetched.delete(url)); // a failure is not remembered: Restart tries again
  }
  return fetched.get(url);
}

async function gunzipped(bytes) {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes; // the server already decoded it
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ---- the module ------------------------------------------------------------------------------

let compiled = null; // Promise<WebAssembly.Module>, kept across restarts
let current = null; // Promise<Runtime>
let generation = 0;
const widgets = new Set(); // what to tell when the module dies or restarts

function explainCompileError(e) {
  const message = String(e?.message ?? e);
  if (/wasm-unsafe-eval|Content Security Policy|CSP/i.test(message)) {
    return new WidgetError("csp", "This page's Content-Security-Policy does not allow WebAssembly: its script-src needs 'wasm-unsafe-eval'.");
  }
  return new WidgetError("load", `The WebAssembly module could not be compiled: ${message}`);
}

async function compile() {
  const url = assetUrl("vae_playground_bg.wasm");
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new WidgetError("load", `The WebAssembly module could not be fetched from ${url}: ${e.message}`);
  }
  if (!response.ok) throw new WidgetError("load", `The WebAssembly module could not be fetched from ${url}: HTTP ${response.status}.`);
  try {
    if (/application\/wasm/.test(response.headers.get("content-type") ?? "")) {
      return await WebAssembly.compileStreaming(response);
    }
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (e) {
    throw explainCompileError(e);
  }
}

/** The shared runtime, started by the first widget that asks (later askers share the promise). */
export function runtime() {
  if (!current) {
    if (location.protocol === "file:") {
      return Promise.reject(new WidgetError("file-protocol",
        "Opened from a file: browsers do not run WebAssembly modules from file:// pages. Serve the folder over HTTP (for example `python3 -m http.server`) and open it from there."));
    }
    current = start(++generation);
    current.catch(() => (current = null)); // a failed start is retried by the next widget or Restart
  }
  return current;
}

/** The compiled CPU build (compiled now if nothing has asked yet; a failure is not kept), for this
 * page's instance and for workers that make instances of their own. */
export function compiledModule() {
  compiled ??= compile();
  compiled.catch(() => (compiled = null));
  return compiled;
}

async function start(gen) {
  const module = await compiledModule();
  // A restart imports the glue under a new URL: a new module record, so a fresh instance.
  const glueUrl = assetUrl(`vae_playground.js${gen > 1 ? `?instance=${gen}` : ""}`);
  let glue;
  try {
    glue = await import(glueUrl);
  } catch (e) {
    throw new WidgetError("load", `The module's JavaScript could not be loaded from ${glueUrl}: ${e.message}`);
  }
  try {
    await glue.default({ module_or_path: module });
  } catch (e) {
    throw explainCompileError(e);
  }
  return new Runtime(glue, gen);
}

/** Widgets register to hear of a crash (`crashed(message)`) and of a restart (`restarted()`). */
export function register(widget) {
  widgets.add(widget);
  return () => widgets.delete(widget);
}

/** Brings up a fresh instance after a crash; every registered widget is told and rebuilds. */
export function restart() {
  current = null;
  for (const widget of widgets) widget.restarted();
}

/** How many wasm objects the widgets hold now (models, projections, walks), for leak checks. */
export const liveObjects = () => current?.then((rt) => rt.objects.size) ?? Promise.resolve(0);

export class Runtime {
  constructor(wasm, gen) {
    this.wasm = wasm;
    this.generation = gen;
    this.dead = null;
    this.objects = new Set(); // wasm objects alive now
    this.models = new Map(); // URL → { vae: Promise<Vae>, users }
    this.stats = new Map(); // Vae → Promise<{ projection, coords, labels, mu, kl }>
    this.scores = new Map(); // Vae → Promise<Float32Array | null>: the test digits' anomaly scores
    this.encodings = new WeakMap(); // a published drawing → Vae → label → Promise<its encoding>
    this.digits = null;
    this.turns = Promise.resolve(); // the start of the last call queued (see turn())
    let die;
    this.death = new Promise((_, reject) => (die = reject));
    this.death.catch(() => {});
    this.die = die;
  }

  /** Marks the module dead (once) and tells every widget. */
  crashed(reason) {
    if (this.dead) return;
    this.dead = this.wasm.panicked?.() ? this.wasm.panicMessage() : reason;
    this.die(new Error(`the module crashed (${this.dead})`));
    for (const widget of widgets) widget.crashed(this.dead);
  }

  /** Runs `work`, raced against the module's death so it never hangs; a trap or panic marks the
   * module dead. Other failures are thrown on to the caller. */
  async call(work) {
    if (this.dead) throw new WidgetError("panic", `the module crashed earlier (${this.dead})`);
    await this.turn();
    if (this.dead) throw new WidgetError("panic", `the module crashed earlier (${this.dead})`);
    try {
      const result = await Promise.race([work(), this.death]);
      if (this.wasm.panicked()) throw new Error(this.wasm.panicMessage());
      return result;
    } catch (e) {
      if (isTrap(e) || this.wasm.panicked()) {
        this.crashed(isTrap(e) ? `a WebAssembly trap: ${e.message}` : this.wasm.panicMessage());
        throw new WidgetError("panic", `the module crashed (${this.dead})`);
      }
      throw e;
    }
  }

  /** Resolves in a task of its own, after the calls queued before it have started. A CPU model
   * computes in the microtasks after a call starts, so calls queued together (a training snapshot
   * redraws several views at once) would otherwise add up to one long task; this way each runs in
   * its own, and the page can paint and take input in between. */
  turn() {
    const next = this.turns.then(() => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    }));
    this.turns = next;
    return next;
  }

  /** Makes `bytes` what `url` holds (a model handed to loadSafetensors). */
  provide(url, bytes) {
    fetched.set(url, Promise.resolve(bytes));
  }

  track(object) {
    this.objects.add(object);
    return object;
  }

  free(object) {
    if (object && this.objects.delete(object)) object.free();
  }

  /** The model at `url` as an instance of the module's class `cls` ("Vae", "Aae", "Hvae" or "Vrae"),
   * shared by every widget that uses it; `release(url, cls)` when done with it. */
  acquire(url, name, cls = "Vae") {
    const key = `${cls} ${url}`;
    let entry = this.models.get(key);
    if (!entry) {
      const vae = (async () => {
        const bytes = await fetchBytes(url, `The model ${name}`);
        try {
          const options = cls === "Vae" ? { backend: "cpu" } : undefined;
          return this.track(await this.call(async () => this.wasm[cls].fromSafetensors(bytes, options)));
        } catch (e) {
          if (e instanceof WidgetError) throw e;
          throw new WidgetError("load", `The model ${name} is not a weights file this playground can load: ${e.message}`);
        }
      })();
      entry = { vae, users: 0 };
      this.models.set(key, entry);
      vae.catch(() => this.models.delete(key));
    }
    entry.users++;
    return entry.vae;
  }

  release(url, cls = "Vae") {
    const key = `${cls} ${url}`;
    const entry = this.models.get(key);
    if (!entry || --entry.users > 0) return;
    this.models.delete(key);
    if (url.startsWith("bytes:")) fetched.delete(url); // a model handed over as bytes is not asked for again
    entry.vae.then((vae) => {
      const stats = this.stats.get(vae);
      this.stats.delete(vae);
      this.scores.delete(vae);
      // Statistics still being computed use the model between their chunks (encodeInChunks): it is
      // freed once they settle.
      (stats ?? Promise.resolve(null)).then((s) => s && this.free(s.projection), () => {}).then(() => this.free(vae));
    }, () => {});
  }

  /** The packed digits file, decompressed (what `setTrainingDigits` takes). */
  digitsFile() {
    return fetchBytes(assetUrl("assets/digits.bin.gz"), "The digits").then(gunzipped);
  }

  /** The packed series file the recurrent VAE learns from (what `setSeries` takes). */
  seriesFile() {
    return fetchBytes(assetUrl("assets/series.bin"), "The series");
  }

  /** The compiled WebAssembly module, for a worker to instantiate its own instance of. */
  compiledModule() {
    return compiled;
  }

  /** The 1,000 test digits (pixels, labels). */
  testDigits() {
    this.digits ??= (async () => {
      const bytes = await this.digitsFile();
      return this.call(async () => this.wasm.testDigits(bytes));
    })();
    this.digits.catch(() => (this.digits = null));
    return this.digits;
  }

  /** The test digits' codes under `vae` and their map: exact in 2-D, a PCA projection otherwise. */
  /** q(z|x) of a drawing for `vae` ({ mu, logvar, sigma }): a drawing a group publishes reaches
   * every member, and each member showing the same model with the same label shares one encoding
   * of it (keyed by the published array itself, so a new stroke is a new key). */
  encodeDrawing(vae, x, labels) {
    let byModel = this.encodings.get(x);
    if (!byModel) this.encodings.set(x, (byModel = new Map()));
    const key = labels ? labels[0] : -1;
    let byLabel = byModel.get(vae);
    if (!byLabel) byModel.set(vae, (byLabel = new Map()));
    if (!byLabel.has(key)) {
      const encoding = this.call(() => vae.encode(Float32Array.from(x), 1, labels));
      byLabel.set(key, encoding);
      encoding.catch(() => byLabel.delete(key));
    }
    return byLabel.get(key);
  }

  /** The anomaly scores of the test digits a drawing is ranked among (scores.js), computed once per
   * model in the background; resolves to null if the model is let go meanwhile. */
  testScores(vae) {
    if (!this.scores.has(vae)) {
      const scores = this.testDigits().then((digits) => scoreTestDigits(vae, digits, (work) => (this.objects.has(vae) ? this.call(work) : undefined)));
      this.scores.set(vae, scores);
      scores.then((s) => s || this.scores.delete(vae), () => this.scores.delete(vae));
    }
    return this.scores.get(vae);
  }

  testStats(vae) {
    if (!this.stats.has(vae)) {
      const stats = (async () => {
        const { pixels, count, labels } = await this.testDigits();
        const conditional = vae.kind === "conditional";
        const { mu, logvar } = await this.encodeInChunks(vae, pixels, count, conditional ? labels : undefined);
        const projection = this.track(new this.wasm.Projection(mu, count, vae.latentDim));
        // The mean KL(q(z|x) ‖ N(0, 1)) of each dimension over the test digits (none for a plain
        // autoencoder, which has no q(z|x)).
        const kl = logvar ? this.wasm.klPerDimension(mu, logvar, count, vae.latentDim) : null;
        return { mu, labels, projection, coords: projection.project(mu, count), kl };
      })();
      this.stats.set(vae, stats);
      stats.catch(() => this.stats.delete(vae));
    }
    return this.stats.get(vae);
  }

  /** q(z|x) of `count` digits, STATS_CHUNK at a time with a turn of the event loop between, so
   * encoding the test digits (for each snapshot of a model in training, say) never holds the main
   * thread for one long task. `{ mu, logvar }`, logvar null for a plain autoencoder. */
  async encodeInChunks(vae, pixels, count, labels) {
    const mu = new Float32Array(count * vae.latentDim);
    let logvar = null;
    for (let start = 0; start < count; start += STATS_CHUNK) {
      if (start > 0) await yieldToPage();
      const m = Math.min(STATS_CHUNK, count - start);
      const part = await this.call(() => vae.encode(pixels.subarray(start * 784, (start + m) * 784), m, labels?.subarray(start, start + m)));
      mu.set(part.mu, start * vae.latentDim);
      if (part.logvar) (logvar ??= new Float32Array(count * vae.latentDim)).set(part.logvar, start * vae.latentDim);
    }
    return { mu, logvar };
  }
}
