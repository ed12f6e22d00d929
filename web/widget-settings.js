// The playground's settings, each named once: the <vae-playground> element's options and the page's
// own controls. A row gives a setting's attribute (kebab-case; its property is the camelCase of it),
// its type, its default and what it accepts; where the page shows it, the id of the page's control
// and the key its links carry it under (`url`, kept short and stable: old links still work); where a
// training run uses it, the name the run's options, its saved record, the workers and the wasm
// module's option structs give it (`name`). The element, the iframe's query parameters,
// getState/setState, the page's controls and URL, and the training panels all read this table.

export const VIEWS = ["draw", "latent", "sample", "manifold", "walk", "dims", "arith", "cvae", "compare", "full", "train", "aae", "hvae", "vrae"];

/** The adversarial autoencoder's priors as an author names them; each has shipped weights. */
export const PRIORS = {
  ring: "ten Gaussians on a ring",
  "ring-guided": "ten Gaussians on a ring, digit y pushed to Gaussian y",
  gaussian: "N(0, I)",
  swissroll: "a swiss roll",
};

/** The shipped models, by the name an author writes, and the file each is. */
export const SHIPPED_MODELS = {
  "vae-2": "assets/vae-latent2.safetensors",
  "vae-20": "assets/vae-latent20.safetensors",
  "ae-2": "assets/ae-latent2.safetensors",
  "cvae-2": "assets/cvae-latent2.safetensors",
  "aae-ring": "assets/aae-ring.safetensors",
  "aae-ring-guided": "assets/aae-ring-guided.safetensors",
  "aae-gaussian": "assets/aae-gaussian.safetensors",
  "aae-swissroll": "assets/aae-swissroll.safetensors",
  "hvae-2": "assets/hvae-top2.safetensors",
  "vrae-bleeding": "assets/vrae-bleeding.safetensors",
};

/** The walk names authors write, and the path names of the core's LatentWalk. */
export const WALKS = { circle: "circle", wander: "random", morph: "between" };

const oneOf = (choices) => (text) => {
  if (choices.includes(text)) return text;
  throw new Error(`must be one of ${choices.map((c) => `"${c}"`).join(", ")}`);
};

const numberIn = (min, max, { whole = false, step = null } = {}) => (text) => {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new Error("must be a number");
  if (whole && !Number.isInteger(value)) throw new Error("must be a whole number");
  if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
  if (step !== null && Math.abs((value - min) / step - Math.round((value - min) / step)) > 1e-9) throw new Error(`must be a multiple of ${step}`);
  return value;
};

/** A number from `min` to `max` (on `step`, if given), and the range a page's input offers. */
const range = (min, max, { whole = false, step = null } = {}) => ({ parse: numberIn(min, max, { whole, step }), range: { min, max, step: step ?? (whole ? 1 : "any") } });

/** One of `choices`, `[value, label]` pairs (a control offers them with these labels); `type`
 * "number" turns the value into a number. */
const choice = (type, choices) => {
  const pick = oneOf(choices.map(([value]) => value));
  return { choices, parse: type === "number" ? (text) => Number(pick(text)) : pick };
};

/** "x,y[,…]": a latent point, every coordinate a finite number in ±8 (the prior lives within ±4). */
function latentPoint(text) {
  const parts = text.split(",").map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === "") || values.some((v) => !Number.isFinite(v))) {
    throw new Error('must be numbers separated by commas, such as "0.5,-1"');
  }
  if (values.some((v) => Math.abs(v) > 8)) throw new Error("coordinates must lie within ±8");
  return Float32Array.from(values);
}

function modelName(text) {
  if (SHIPPED_MODELS[text]) return text;
  if (/\.safetensors([?#].*)?$/i.test(text)) return text;
  throw new Error(`must be ${Object.keys(SHIPPED_MODELS).map((c) => `"${c}"`).join(", ")} or the URL of a .safetensors file`);
}

const text = (value) => value;

function storageKey(text) {
  if (!/^[\w.:-]{1,64}$/.test(text)) throw new Error("must be 1 to 64 letters, digits, '.', ':', '_' or '-'");
  return text;
}

/**
 * Every setting. `parse` turns the attribute's (or the link's, or the control's) text into the value,
 * throwing a sentence that finishes "<attribute> …"; `live` says whether changing it updates a running
 * widget in place (otherwise the widget is rebuilt); `views` names the views that read it, where not
 * all do. Where the page has it: `control`, the id of its control, and `url`, its link's key. Where
 * a training run uses it: `name`, the run's field (and the wasm module's option). A row without
 * `attr` is the page's alone.
 */
export const TABLE = [
  { attr: "view", type: "string", default: "draw", parse: oneOf(VIEWS), doc: "which view of the playground" },
  { attr: "model", type: "string", default: "vae-2", parse: modelName, doc: "a shipped model or a .safetensors URL" },
  { attr: "latent", type: "string", default: null, parse: latentPoint, live: true, doc: "the current latent point, \"x,y\"" },
  { attr: "walk", type: "string", default: "circle", parse: oneOf(Object.keys(WALKS)), live: true, doc: "the walk's path" },
  { attr: "speed", type: "number", default: 1, parse: numberIn(0.25, 4), live: true, doc: "the walk's speed, × (0.25 to 4)" },
  // Every whole number a JavaScript number holds exactly, as the wasm module's seeds.
  { attr: "seed", type: "number", default: 1, ...range(0, Number.MAX_SAFE_INTEGER, { whole: true }), live: true, name: "seed", url: "seed", control: "train-seed", doc: "the seed of the prior samples, and of a fresh training run's weights and batch order" },
  { attr: "digit", type: "number", default: 2, parse: numberIn(0, 9, { whole: true }), live: true, doc: "the digit a conditional model is told" },
  { attr: "prior", type: "string", default: "ring", parse: oneOf(Object.keys(PRIORS)), doc: "the adversarial autoencoder's prior (view=\"aae\")" },
  // What view="train" and the page's training panel train. A model's kind, sizes, likelihood and σₓ
  // are fixed once it exists; β, the learning rate, the batch size, the epochs and σₓ's rule apply
  // from the next step. The defaults are the page's: recognisable digits within seconds on a
  // laptop's CPU (hidden 256, batch 128, learning rate 0.002), the ELBO itself (β = 1), and σₓ = 0.1,
  // about how far a good reconstruction misses each pixel.
  { attr: "kind", type: "string", default: "vae", ...choice("string", [["vae", "VAE"], ["autoencoder", "Plain autoencoder"], ["conditional", "Conditional VAE"]]), views: ["train"], name: "kind", url: "kind", control: "train-kind", doc: "what a fresh run trains" },
  { attr: "latent-size", type: "number", default: 2, ...choice("number", [["2", "2"], ["5", "5"], ["10", "10"], ["20", "20"]]), views: ["train"], name: "latent", url: "latent", control: "train-latent", doc: "a fresh run's latent dimensions" },
  // Not `hidden`: that is every HTML element's attribute for not showing it.
  { attr: "hidden-units", type: "number", default: 256, ...choice("number", [["64", "64"], ["128", "128"], ["256", "256"], ["400", "400"]]), views: ["train"], name: "hidden", url: "hidden", control: "train-hidden", doc: "a fresh run's hidden units (encoder and decoder)" },
  { attr: "likelihood", type: "string", default: "bernoulli", ...choice("string", [["bernoulli", "Bernoulli (BCE)"], ["gaussian", "Gaussian N(x̂, σₓ²)"]]), views: ["train"], name: "likelihood", url: "likelihood", control: "train-likelihood", doc: "a fresh run's p(x|z)" },
  { attr: "sigma", type: "number", default: 0.1, ...choice("number", [["0.05", "0.05"], ["0.1", "0.1 (default)"], ["0.2", "0.2"], ["0.5", "0.5"], ["0.7071", "0.71 (squared error)"]]), views: ["train"], name: "sigmaX", url: "sigma", control: "train-sigma", doc: "a fresh Gaussian run's σₓ (its start, when learned)" },
  { attr: "sigma-rule", type: "string", default: "fixed", ...choice("string", [["fixed", "fixed"], ["learned", "learned"]]), live: true, views: ["train"], name: "sigmaRule", url: "sigma-rule", control: "train-sigma-rule", doc: "whether a Gaussian run learns σₓ" },
  { attr: "beta", type: "number", default: 1, ...range(0, 10, { step: 0.25 }), live: true, views: ["train"], name: "beta", url: "beta", control: "train-beta", doc: "the weight β of the KL term (1: the ELBO)" },
  { attr: "lr", type: "number", default: 0.002, ...choice("number", [["0.0001", "0.0001"], ["0.0003", "0.0003"], ["0.001", "0.001"], ["0.002", "0.002"], ["0.003", "0.003"], ["0.01", "0.01"], ["0.03", "0.03"], ["0.1", "0.1"], ["1", "1 (diverges)"]]), live: true, views: ["train"], name: "lr", url: "lr", control: "train-lr", doc: "Adam's learning rate" },
  { attr: "batch-size", type: "number", default: 128, ...choice("number", [["32", "32"], ["64", "64"], ["128", "128"], ["256", "256"]]), live: true, views: ["train"], name: "batchSize", url: "batch", control: "train-batch", doc: "digits per step" },
  { attr: "epochs", type: "number", default: 10, ...range(1, 500, { whole: true }), live: true, views: ["train"], name: "epochs", url: "epochs", control: "train-epochs", doc: "the run pauses, finished, after this many passes over the training digits" },
  { attr: "group", type: "string", default: null, parse: text, doc: "widgets of one group share the drawing and the latent point" },
  { attr: "controls", type: "string", default: "full", parse: oneOf(["full", "minimal", "none"]), doc: "how many buttons show" },
  { attr: "theme", type: "string", default: "auto", parse: oneOf(["auto", "light", "dark"]), live: true, doc: "colours; auto follows prefers-color-scheme" },
  { attr: "loading", type: "string", default: "lazy", parse: oneOf(["lazy", "eager"]), doc: "lazy: nothing is fetched until the widget nears the viewport" },
  // Widgets draw, decode and map one digit or a handful at a time, where the CPU build is the faster
  // (README, benchmark), so those always run there. `backend` says where a training panel trains.
  // "auto" takes the GPU only when a hardware adapter answers: SwiftShader's software WebGPU, the
  // adapter a machine without a GPU may offer, trains the benchmark's VAE ~66× slower than the CPU
  // build, which is already loaded. "webgpu" takes any adapter (the folder's gpu/ build, fetched only
  // when a run starts; a browser without WebGPU trains on the CPU and says so).
  { attr: "backend", type: "string", default: "auto", ...choice("string", [["auto", "Auto: your GPU if it can"], ["webgpu", "GPU (WebGPU)"], ["cpu", "CPU (WebAssembly)"]]), url: "backend", control: "train-backend", doc: "where a training panel trains: auto (a hardware GPU if one answers, else the CPU), webgpu (any WebGPU adapter), cpu; drawing and maps run on the CPU" },
  { attr: "persist", type: "string", default: null, parse: storageKey, doc: "keep the drawing, the point and the last training run across reloads, in IndexedDB under this key (nothing is stored without it)" },
  { attr: "alt", type: "string", default: null, parse: text, live: true, doc: "a text description of the widget for assistive technology" },
  // The page's model switch: which shipped model (or the person's run, "yours") its sections show.
  { attr: null, type: "string", default: "2", ...choice("string", [["2", "Latent 2 (drawable map)"], ["20", "Latent 20 (sharper)"], ["cvae", "Conditional VAE, latent 2 (told the digit)"], ["ae", "Plain autoencoder, latent 2 (no ELBO)"]]), url: "model", control: "model-select", doc: "the page's shown model" },
];

/** The element's options: the rows with an attribute. */
export const SETTINGS = TABLE.filter((s) => s.attr);

/** The settings the page has a control for, and the training run's, by the run's name. */
export const PAGE_SETTINGS = TABLE.filter((s) => s.control);
export const TRAINING_SETTINGS = TABLE.filter((s) => s.name);

export const SETTING = Object.fromEntries(SETTINGS.map((s) => [s.attr, s]));

/** "view" → "view", "batch-size" → "batchSize": an attribute's property. */
export const propertyName = (attr) => attr.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/** An attribute's value, or its default; throws `Error("<attr> <reason>")` for a bad value. */
export function readSetting(element, attr) {
  const setting = SETTING[attr];
  const raw = element.getAttribute(attr);
  if (raw === null) return setting.default;
  try {
    return setting.parse(raw);
  } catch (e) {
    throw new Error(`${attr}="${raw}" is not valid: it ${e.message}.`);
  }
}
