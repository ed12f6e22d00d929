// How numbers are written on the page and in the widgets, so both say exactly the same thing.

/** The first four coordinates of a vector, "(0.12, −1.30, …)". */
export const fmt = (values) => `(${Array.from(values.slice(0, 4), (v) => v.toFixed(2)).join(", ")}${values.length > 4 ? ", …" : ""})`;

/** A log-density or log-probability in nats, with a true minus sign. */
export const nats = (v) => `${v < 0 ? "−" : ""}${Math.abs(v).toFixed(1)} nats`;

/** What the numbers are nats of, and what they can be compared with. */
export function likelihoodNote(vae) {
  return vae.likelihood === "gaussian"
    ? `Nats of the Gaussian density N(x; x̂, σₓ²I) with σₓ = ${vae.sigmaX.toFixed(3)}, its constant 392·ln(2πσₓ²) included (so they go below zero when σₓ is small): a density's nats cannot be compared with a Bernoulli model's, which are of a probability.`
    : "Nats of the Bernoulli likelihood of the grey pixels.";
}

/** "VAE", "autoencoder", "conditional VAE", "adversarial autoencoder", "hierarchical VAE", "recurrent VAE". */
export const kindName = (vae) =>
  ({ vae: "VAE", autoencoder: "autoencoder", conditional: "conditional VAE", adversarial: "adversarial autoencoder", hierarchical: "hierarchical VAE", recurrent: "recurrent VAE" })[vae.kind] ?? vae.kind;
