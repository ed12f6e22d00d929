// The playground page's settings, each named once: `name`, what the training panel, its saved run
// and its worker call it; `id`, its control on the page; `url`, the key a link carries it under
// (kept short and stable: old links still work); for a training setting, `read`, how the control's
// text becomes the value.
// The options of the page's <vae-playground> sections are the element's own (widget-settings.js).

/** What the page's views use: the model shown, where it trains. (The digit a conditional model is
 * told is section 1's element's `digit`, carried under `label`; the walk's path and speed are
 * section 6's options, under their own names.) */
export const VIEW_SETTINGS = [
  { name: "model", id: "model-select", url: "model" },
  { name: "backend", id: "train-backend", url: "backend" },
];

/** A training run's settings: what the worker is given and the saved run keeps. */
export const TRAINING_SETTINGS = [
  { name: "kind", id: "train-kind", url: "kind", read: String },
  { name: "latent", id: "train-latent", url: "latent", read: Number },
  { name: "hidden", id: "train-hidden", url: "hidden", read: Number },
  { name: "likelihood", id: "train-likelihood", url: "likelihood", read: String },
  { name: "sigmaX", id: "train-sigma", url: "sigma", read: Number },
  { name: "sigmaRule", id: "train-sigma-rule", url: "sigma-rule", read: String },
  { name: "beta", id: "train-beta", url: "beta", read: Number },
  { name: "lr", id: "train-lr", url: "lr", read: Number },
  { name: "batchSize", id: "train-batch", url: "batch", read: Number },
  { name: "epochs", id: "train-epochs", url: "epochs", read: Number },
  { name: "seed", id: "train-seed", url: "seed", read: Number },
];

export const PAGE_SETTINGS = [...VIEW_SETTINGS, ...TRAINING_SETTINGS];
