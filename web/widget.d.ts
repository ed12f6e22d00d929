// Types of the <vae-playground> element (widget.js). The attribute list is widget-settings.js.

export type WidgetView = "draw" | "latent" | "sample" | "manifold" | "walk" | "dims" | "arith" | "cvae" | "compare" | "full" | "train" | "aae" | "hvae" | "vrae";
/** The adversarial autoencoder's prior (view="aae"). */
export type WidgetPrior = "ring" | "ring-guided" | "gaussian" | "swissroll";
export type WidgetErrorType = "load" | "panic" | "csp" | "file-protocol" | "worker" | "storage";

/** What getState() returns and setState() takes: the attributes set, plus what the view shows. */
export interface WidgetState {
  version: 1;
  view?: string;
  model?: string;
  latent?: string | number[];
  walk?: string;
  speed?: string;
  seed?: string;
  digit?: string;
  prior?: string;
  kind?: string;
  latentSize?: string;
  hiddenUnits?: string;
  likelihood?: string;
  sigma?: string;
  sigmaRule?: string;
  beta?: string;
  lr?: string;
  batchSize?: string;
  epochs?: string;
  group?: string;
  controls?: string;
  theme?: string;
  backend?: string;
  persist?: string;
  alt?: string;
  /** 784 grey values of the model's input (ink = 1), or null when the pad is empty. */
  drawing?: number[] | null;
  playing?: boolean;
  frames?: number;
  /** The arithmetic view's stored points (A, B, C); setState puts them back and decodes A − B + C. */
  slots?: Partial<Record<"A" | "B" | "C", number[]>>;
  /** The walk view's morph ends, each a latent point or null; setState puts them back. */
  walkEnds?: { from: number[] | null; to: number[] | null };
  /** The vrae view's position in the series (a sample index). */
  sample?: number;
}

/** What a training view trains: "vae" for view="train" (a VAE, plain autoencoder or conditional VAE). */
export type TrainingKind = "vae" | "aae" | "hvae" | "vrae";

export interface TrainProgressDetail {
  kind: TrainingKind;
  steps: number;
  /** Epochs done, fractional; null for the last figures after a pause. */
  epoch: number | null;
  /** Means over the steps since the last event of what trainBatch returns (every ~250 ms)… */
  stats?: Record<string, number>;
  /** …or, every ~2 s, the held-out figures of testScores()/analyse()… */
  scores?: Record<string, number>;
  /** …with the weights they are of (safetensors; a copy, yours to keep or hand to loadSafetensors()). */
  weights?: Uint8Array;
}

export interface TrainEndDetail {
  kind: TrainingKind;
  steps: number;
  /** asked: stopTraining() or Pause; finished: the `epochs` asked for are done (view="train"); diverged: a step was rolled back; failed: the run could not start or its worker crashed. */
  reason: "asked" | "finished" | "diverged" | "failed";
  message: string | null;
}

export interface ChangeDetail {
  source: "drawing" | "map" | "sliders" | "arithmetic" | "series" | "settings";
  /** "settings" (view="train"): the run's settings as its controls now show them, getState's keys. */
  settings?: Partial<Pick<WidgetState, "kind" | "latentSize" | "hiddenUnits" | "likelihood" | "sigma" | "sigmaRule" | "beta" | "lr" | "batchSize" | "epochs" | "seed">>;
  /** Absent for "series" (the recurrent VAE's drawn window), whose score is a number. */
  z?: number[];
  mu?: number[];
  logvar?: number[] | null;
  /** Nats: a VAE's ELBO and importance-weighted log p(x), or an autoencoder's reconstruction error. */
  /** `percentBelow`: the share of 200 test digits (%) the drawing is more unusual than, by the same score, once they are scored. */
  score?: { elbo: number; logLikelihood: number; draws: number; percentBelow?: number } | { reconstructionError: number; percentBelow?: number } | number;
}

export interface WidgetEventMap {
  load: CustomEvent<{ view: WidgetView; model: string; latentDim: number | null; kind: string | null }>;
  /** "training": a message of the train/aae/hvae/vrae views' training worker ("started", "progress", "snapshot", "paused", "failed"). */
  progress: CustomEvent<{ stage: "module" | "model" } | { stage: "training"; kind: TrainingKind; message: string }>;
  error: CustomEvent<{ type: WidgetErrorType; message: string }>;
  input: CustomEvent<{ source: "pad" | "map" | "series"; sample?: number }>;
  change: CustomEvent<ChangeDetail>;
  trainprogress: CustomEvent<TrainProgressDetail>;
  trainend: CustomEvent<TrainEndDetail>;
  /** Each frame of a `walk` view: the walker's latent point and the frame's ms (advance, decode, draw). */
  walk: CustomEvent<{ z: number[]; ms: number }>;
}

export declare class VaePlayground extends HTMLElement {
  static readonly version: string;
  /** How many wasm objects (models, projections, walks) the page's widgets hold now. */
  static liveObjects(): Promise<number>;
  view: string;
  model: string;
  latent: string | null;
  walk: string;
  speed: string;
  seed: string;
  digit: string;
  prior: string;
  /** view="train": what a fresh run trains and how (widget-settings.js): "vae" | "autoencoder" | "conditional". */
  kind: string;
  /** "2" | "5" | "10" | "20". */
  latentSize: string;
  /** "64" | "128" | "256" | "400". */
  hiddenUnits: string;
  /** "bernoulli" | "gaussian". */
  likelihood: string;
  /** σₓ of a Gaussian run: "0.05" | "0.1" | "0.2" | "0.5" | "0.7071". */
  sigma: string;
  /** "fixed" | "learned". */
  sigmaRule: string;
  /** 0 to 10 in steps of 0.25. */
  beta: string;
  lr: string;
  /** "32" | "64" | "128" | "256". */
  batchSize: string;
  /** 1 to 500: the run pauses, finished, after so many epochs. */
  epochs: string;
  group: string | null;
  controls: string;
  theme: string;
  loading: string;
  /** "auto" (a hardware GPU if one answers, else the CPU) | "cpu" | "webgpu" (any WebGPU adapter): where the training panel trains. */
  backend: string;
  /** An IndexedDB key: the widget keeps its state and last run there; null keeps nothing. */
  persist: string | null;
  alt: string | null;
  readonly ready: Promise<VaePlayground>;
  getState(): WidgetState;
  setState(state: WidgetState): Promise<WidgetState>;
  setDrawing(pixels: ArrayLike<number> | null): void;
  clear(): void;
  setLatent(z: ArrayLike<number>): void;
  sample(): Promise<void>;
  play(): void;
  pause(): void;
  /** The training run of an aae, hvae or vrae view: resumes a paused run, else goes on from the
   * run kept by `persist`, else starts a fresh one. Rejects with the reason when it cannot start. */
  train(): Promise<void>;
  stopTraining(): void;
  toSafetensors(): Promise<Uint8Array>;
  /** Shows the model in `bytes` (a safetensors file) instead of the widget's own. The sample and
   * manifold views redraw in place (no flicker: a page may hand each snapshot of a run in training);
   * the others are rebuilt around it. Resolves when it is shown. */
  loadSafetensors(bytes: Uint8Array): Promise<VaePlayground>;
  addEventListener<K extends keyof WidgetEventMap>(type: K, listener: (this: VaePlayground, ev: WidgetEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

export declare const VERSION: string;

declare global {
  interface HTMLElementTagNameMap {
    "vae-playground": VaePlayground;
  }
}
