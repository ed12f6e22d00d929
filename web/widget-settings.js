// The <vae-playground> element's options, each named once: its attribute (kebab-case), its property
// (camelCase), its type, its default and what it accepts. The element, the iframe's query
// parameters and getState/setState all read this table.

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

const numberIn = (min, max, { whole = false } = {}) => (text) => {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new Error("must be a number");
  if (whole && !Number.isInteger(value)) throw new Error("must be a whole number");
  if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
  return value;
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
 * Every option. `parse` turns the attribute's text into the value (throwing a sentence that finishes
 * "<attribute> …"); `live` says whether changing it updates a running widget in place (otherwise
 * the widget is rebuilt).
 */
export const SETTINGS = [
  { attr: "view", type: "string", default: "draw", parse: oneOf(VIEWS), doc: "which view of the playground" },
  { attr: "model", type: "string", default: "vae-2", parse: modelName, doc: "a shipped model or a .safetensors URL" },
  { attr: "latent", type: "string", default: null, parse: latentPoint, live: true, doc: "the current latent point, \"x,y\"" },
  { attr: "walk", type: "string", default: "circle", parse: oneOf(Object.keys(WALKS)), live: true, doc: "the walk's path" },
  { attr: "speed", type: "number", default: 1, parse: numberIn(0.25, 4), live: true, doc: "the walk's speed, × (0.25 to 4)" },
  { attr: "seed", type: "number", default: 1, parse: numberIn(0, 2 ** 32 - 1, { whole: true }), live: true, doc: "the seed of the prior samples" },
  { attr: "digit", type: "number", default: 2, parse: numberIn(0, 9, { whole: true }), live: true, doc: "the digit a conditional model is told" },
  { attr: "prior", type: "string", default: "ring", parse: oneOf(Object.keys(PRIORS)), doc: "the adversarial autoencoder's prior (view=\"aae\")" },
  { attr: "group", type: "string", default: null, parse: text, doc: "widgets of one group share the drawing and the latent point" },
  { attr: "controls", type: "string", default: "full", parse: oneOf(["full", "minimal", "none"]), doc: "how many buttons show" },
  { attr: "theme", type: "string", default: "auto", parse: oneOf(["auto", "light", "dark"]), live: true, doc: "colours; auto follows prefers-color-scheme" },
  { attr: "loading", type: "string", default: "lazy", parse: oneOf(["lazy", "eager"]), doc: "lazy: nothing is fetched until the widget nears the viewport" },
  // Widgets draw, decode and map one digit or a handful at a time, where the CPU build is the faster
  // (README, benchmark), so those always run there. `backend` says where the training panel of the
  // train, aae, hvae and vrae views trains: "webgpu" picks the GPU (the folder's gpu/ build, fetched only
  // when a run starts; a browser without WebGPU trains on the CPU and says so). "auto" trains on the
  // CPU too: the CPU build is already loaded, and the benchmark's VAE, of these models' size, trains
  // ~66× faster there than on SwiftShader's WebGPU, the adapter a machine without a GPU may offer.
  { attr: "backend", type: "string", default: "auto", parse: oneOf(["auto", "cpu", "webgpu"]), doc: "where the training panel trains: webgpu (the GPU), or auto/cpu (the CPU); drawing and maps run on the CPU" },
  { attr: "persist", type: "string", default: null, parse: storageKey, doc: "keep the drawing, the point and the last training run across reloads, in IndexedDB under this key (nothing is stored without it)" },
  { attr: "alt", type: "string", default: null, parse: text, live: true, doc: "a text description of the widget for assistive technology" },
];

export const SETTING = Object.fromEntries(SETTINGS.map((s) => [s.attr, s]));

/** "view" → "view"; kebab-case attributes would become camelCase properties (all are one word today). */
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
