// What a course author writes against pkg/, type-checked (tsc --strict) against the generated
// .d.ts: the option and result types exist under these names, have these fields, and are strict
// enough to refuse the mistakes marked @ts-expect-error (each of those lines must fail to compile,
// or tsc reports the directive as unused).
import init, {
  Vae,
  percentBelow,
  testDigits,
  type BackendChoice,
  type BatchResult,
  type Bounds,
  type Encoding,
  type Likelihood,
  type ModelKind,
  type PosteriorDraws,
  type Reconstruction,
  type StepResult,
  type TestDigits,
  type TestScores,
  type TrainStepOptions,
  type VaeOptions,
} from "../../pkg/vae_playground.js";

export async function lesson(digitsBin: Uint8Array, pixels: Float32Array): Promise<number> {
  await init();
  const kind: ModelKind = "conditional";
  const likelihood: Likelihood = "gaussian";
  const backend: BackendChoice = "cpu";
  const options: VaeOptions = { latentDim: 2, hidden: 64, kind, likelihood, sigmaX: 0.1, seed: 3, backend };
  const vae: Vae = await Vae.create(options);
  const fromFile: Vae = await Vae.fromSafetensors(await vae.toSafetensors(), { backend: "auto" });

  const encoding: Encoding = await vae.encode(pixels, 1);
  const mu: Float32Array = encoding.mu;
  const logvar: Float32Array | null = encoding.logvar;
  const r: Reconstruction = await fromFile.reconstruct(pixels, 1);
  const score: Float32Array = r.scoreAtMean;
  const recon: Float32Array = r.recon;
  const sigma: Float32Array | null = r.sigma;
  const draws: PosteriorDraws = await vae.posteriorDraws(mu, logvar, 8, 7);
  const images: Float32Array = draws.images;
  const b: Bounds = await vae.bounds(pixels, 1, 256, 1);
  const k: number = b.draws;
  const gap = b.negElbo[0] - b.negLogLikelihood[0] + b.floor[0];

  const step: TrainStepOptions = { lr: 1e-3, beta: 1, labels: new Uint8Array([3]), learnSigmaX: true };
  const s: StepResult = await vae.trainStep(pixels, 1, step);
  const sigmaX: number | null = s.sigmaX;
  vae.setTrainingDigits(digitsBin, 1);
  const batch: BatchResult = await vae.trainBatch({ batchSize: 64 });
  const stepLoss: number = batch.loss;
  const ends: boolean = batch.endsEpoch;
  const t: TestScores = await vae.testScores();
  const test: TestDigits = testDigits(digitsBin);
  const labels: Uint8Array = test.labels;

  // @ts-expect-error: no such model kind
  const gan: VaeOptions = { kind: "gan" };
  // @ts-expect-error: the likelihood is named, not numbered
  const numbered: VaeOptions = { likelihood: 1 };
  // @ts-expect-error: labels are a Uint8Array
  const listed: TrainStepOptions = { labels: [1, 2] };
  // @ts-expect-error: the z = μ score is not called negElbo
  r.negElbo;
  // @ts-expect-error: logvar may be null (the plain autoencoder)
  const certain: Float32Array = encoding.logvar;

  void [gan, numbered, listed, certain, score, recon, sigma, images, k, gap, sigmaX, stepLoss, ends, labels];
  return percentBelow(t.scoreAtMean, score);
}
