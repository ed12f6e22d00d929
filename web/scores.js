// A drawing's scores, as the element's draw view (the page's sections 1 and 2) shows them: for a VAE the
// ELBO and the importance-weighted estimate of log p(x) from the same draws of q(z|x), their gap,
// the floor, and the drawing's rank among test digits by the same estimate (an anomaly score); for a
// plain autoencoder, which has neither q(z|x) nor a prior, its reconstruction error alone. The
// numbers come from the wasm module; this module only chooses the calls and writes the words.

import { likelihoodNote, nats } from "./labels.js";

// 256 draws of q(z|x): enough that the importance-weighted estimate of a typical digit moves by
// ~0.2 nats from seed to seed (crates/core/tests/suite/bounds.rs). The seed is fixed, so the same
// drawing always shows the same numbers.
export const SCORE_DRAWS = 256;
export const SCORE_SEED = 1;
// The drawing is ranked among this many test digits, scored one at a time (256 draws, ~20 ms on the
// CPU build; four at a time made 80 ms long tasks) with a turn of the event loop between.
export const RANK_DIGITS = 200;
const RANK_CHUNK = 1;

/** A turn of the event loop: `scheduler.yield()` where the browser has it (no 4 ms clamp of nested
 * timers, which 200 chunks would pay), else a timer. */
export const yieldToPage = () => (globalThis.scheduler?.yield ? globalThis.scheduler.yield() : new Promise((resolve) => setTimeout(resolve)));

/**
 * The anomaly scores of the first RANK_DIGITS test digits, by the drawing's own estimator: a VAE's
 * −log p(x) estimate (SCORE_DRAWS draws, its own seed per chunk), an autoencoder's −log p(x|z = μ).
 * `call(work)` runs each chunk (the caller's guard); when it gives back undefined (the model was
 * replaced, the module died) this stops and resolves to null.
 */
export async function testScores(vae, { pixels, labels }, call) {
  const conditional = vae.kind === "conditional";
  if (vae.kind === "autoencoder") {
    const r = await call(() => vae.reconstruct(pixels.subarray(0, RANK_DIGITS * 784), RANK_DIGITS, conditional ? labels.subarray(0, RANK_DIGITS) : undefined));
    return r ? Float32Array.from(r.scoreAtMean) : null;
  }
  const scores = new Float32Array(RANK_DIGITS);
  for (let start = 0; start < RANK_DIGITS; start += RANK_CHUNK) {
    const m = Math.min(RANK_CHUNK, RANK_DIGITS - start);
    const b = await call(() => vae.bounds(pixels.subarray(start * 784, (start + m) * 784), m, SCORE_DRAWS, SCORE_SEED + 1 + start,
      conditional ? labels.subarray(start, start + m) : undefined));
    if (!b) return null;
    scores.set(b.negLogLikelihood, start);
    await yieldToPage(); // let a stroke and a frame in between chunks
  }
  return scores;
}

/**
 * What the number fields say of the drawing `x` (784 values): `{ elboLabel, elbo, logp, gap, floor,
 * note, score }`, `score` being what a `change` event reports. `atMean` is the reconstruction pass's
 * score (for the autoencoder, −log p(x|z = μ)); `reference`, the test digits' scores by the same
 * estimator (testScores), ranks the drawing among them when given.
 */
export async function drawingScores(wasm, vae, x, labels, atMean, reference) {
  const rankOf = (score) => (reference ? wasm.percentBelow(score, reference) : null);
  const rankText = (percent) => (percent === null ? "" : ` — more unusual than ${Math.round(percent)}% of ${reference.length} test digits`);
  const floorText = (floor) => `${nats(-floor)}: log p(x|z) of a decoder that reproduced this drawing exactly`;
  if (vae.kind === "autoencoder") {
    const percent = rankOf(atMean);
    return {
      elboLabel: "Reconstruction error",
      elbo: `${nats(atMean)}, −log p(x|z = μ)${rankText(percent)}`,
      logp: "— (no q(z|x) and no prior: no ELBO, no log p(x))",
      gap: "—",
      floor: floorText(wasm.reconstructionFloor(x, 1, vae.likelihood, vae.sigmaX)[0]),
      note: `A plain autoencoder is scored by how well it redraws the input. ${likelihoodNote(vae)}`,
      score: { reconstructionError: atMean, ...(percent === null ? {} : { percentBelow: percent }) },
    };
  }
  const b = await vae.bounds(x, 1, SCORE_DRAWS, SCORE_SEED, labels);
  const [elbo, logp] = [-b.negElbo[0], -b.negLogLikelihood[0]];
  const percent = rankOf(-logp);
  return {
    elboLabel: "ELBO",
    elbo: `${nats(elbo)}, averaged over ${b.draws} draws z ~ q(z|x)`,
    logp: `≈ ${nats(logp)} (importance-weighted, ${b.draws} draws)${rankText(percent)}`,
    gap: `${nats(logp - elbo)} ≈ KL(q(z|x) ‖ p(z|x)), what the ELBO gives away`,
    floor: floorText(b.floor[0]),
    note: `The ELBO is a lower bound on log p(x); the importance-weighted estimate (Burda et al., 2016) is a tighter one, and the gap between them is what the bound gives away. ${likelihoodNote(vae)}`,
    score: { elbo, logLikelihood: logp, draws: b.draws, ...(percent === null ? {} : { percentBelow: percent }) },
  };
}
