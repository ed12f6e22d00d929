// The protocols of the two training workers, in one place, and the request/answer bookkeeping
// both sides use.
//
// Every message names its `type`. A request (a message the page sends and waits on) carries an
// `id`, a number unique among that worker's requests; the worker answers it exactly once, with
// its answer type or with `{ type: "failed", id, message }`, both carrying the same `id`. So a
// request that fails rejects where it was made instead of leaving a promise that never settles;
// and a worker that dies (its script fails, a crash, `terminate()`) rejects every request still
// open. Messages without an `id` are notices: the page sends them and does not wait (settings,
// pause), or the worker sends them on its own (progress, snapshots, a run that stopped).
//
// ## train-worker.js: the page's training panel (web/training.js)
//
// requests (page → worker, answer ← worker)
//   start  { backend: "auto" | "webgpu" | "cpu", module?: WebAssembly.Module }  ← ready
//          loads the build (from `module`, the page's compiled CPU build, when given) and the
//          digits. Every later message waits for it; after a failed start every request fails.
//   create { settings: TrainSettings }                                  ← created
//   load   { settings: TrainSettings, weights: ArrayBuffer (safetensors) } ← created
//          a fresh model, or one read from `weights`; "backend" is posted before the answer
// notices (page → worker)
//   { type: "settings", settings }   merged into the run's settings from the next step
//   { type: "run" }                  trains until paused, the epochs are done, or a step fails
//   { type: "pause" } | { type: "reset" }   stop (reset also frees the model)
//   { type: "debugLoseDevice" } | { type: "debugGpuFault" } | { type: "debugCrash", how: "panic" | "alloc" }
//                                    test hooks
// notices (worker → page)
//   { type: "running" }
//   { type: "loading", what, loaded, total }      download progress of the WebGPU build
//   { type: "backend", backend, reason }          where the model runs; reason: why not on the GPU
//   { type: "progress", points: [step, loss, recon, kl][], epoch, step, stepInEpoch?,
//     stepsPerEpoch?, stepsPerSecond?, memory?, sigmaX }   every ~250 ms and when a run stops
//   { type: "epoch", epoch, step, scores }        the test scores after each epoch
//   { type: "snapshot", step, epoch, latent, kind, likelihood, weights: Uint8Array }
//                                                 every ~2 s and when a run stops
//   { type: "stopped", reason, message?, epoch }  reason: "paused", "finished", "diverged", "error",
//                                                 "gpu-failed" (the page goes on on the CPU) or
//                                                 "crashed" (it restarts on a fresh worker)
//   { type: "device-lost", message, reason }      the GPUDevice was lost mid-run
//
// TrainSettings: the training panel's fields (the `name`s of web/widget-settings.js: kind, latent, hidden,
// likelihood, sigmaX, sigmaRule, beta, lr, batchSize, epochs, seed), with epochsDone? and
// stepOffset? when a run goes on from saved weights.
//
// ## family-worker.js: the element's `train`, `aae`, `hvae` and `vrae` views (web/widget-family.js)
//
// requests (page → worker, answer ← worker)
//   start  { module: WebAssembly.Module, glue: string (the glue's URL), data: Uint8Array
//            (decompressed digits.bin; series.bin for "vrae"), kind: "vae" | "aae" | "hvae" | "vrae",
//            model: VaeOptions | AaeOptions | HvaeOptions | VraeOptions,
//            train: BatchOptions | FamilyStepOptions | VraeStepOptions,
//            backend: "cpu" | "webgpu", gpu: { glue, wasm } (URLs of the WebGPU build),
//            weights?: Uint8Array, steps?: number, epoch?: number }
//          ← started { examples, what, stepsPerEpoch, backend }
//          builds a fresh model (or reads `weights`, a snapshot's, to go on from it: the optimiser
//          starts afresh, steps count on from `steps`) and starts training; for "webgpu" in the
//          WebGPU build, which the worker fetches and instantiates itself (the model's self-check
//          there must agree with the CPU, else the start fails and says why). examples: training
//          digits or windows; backend: where the model runs
//   pause  {}                        ← paused { reason: "asked" }, after a last snapshot of the
//                                       weights where it stopped
//   save   {}                        ← weights { bytes: Uint8Array (safetensors) }
// notices (page → worker)
//   { type: "resume", train? }       goes on (with the step's settings changed, if given)
//   { type: "settings", train }      the step's settings (learning rate, β) from the next step;
//                                    does not resume a paused run
//   { type: "debugCrash", how: "panic" | "alloc" } | { type: "debugGpuFault" }
//                                    test hooks: the next step crashes the module; every GPU read
//                                    from now on comes back 1% off (a test posts them from inside
//                                    the worker, through Playwright's worker.evaluate)
// notices (worker → page)
//   { type: "progress", steps, epoch, stats, stepsPerSecond?, stepsPerEpoch? }   every ~250 ms:
//       the mean of each figure of trainBatch's result over the steps since the last message
//       (discriminatorWins: the share of those steps it held), and the pace since the run (or its
//       resume) began, snapshots included; the last one after a pause has epoch null and no pace
//   { type: "snapshot", steps, epoch, epochEnd: boolean, codes: Float32Array, scores, weights: Uint8Array }
//       every ~2 s and at each epoch's end (epochEnd: true): the 1,000 test digits' codes (the VAE's μ; the AAE's z;
//       the HVAE's μ₂ at μ₁), testScores() and the weights (safetensors), so the page shows this
//       model. A VAE's snapshot on the GPU is posted only if the CPU, from the same weights, agrees
//       on the z = μ scores of 100 test digits within 0.1%; else the run fails (started: true). For "vrae": codes is null, scores holds analyse(16)'s figures (negElbo, recon, kl,
//       auc, normalP99, anomalousMedian) and analysis its arrays (starts, scores, anomalous,
//       reconstruction)
//   { type: "paused", reason: "diverged", message }   a step was rolled back by the module and
//       training waits for the person (a lower learning rate, then resume)
//   { type: "failed", message, crashed: boolean, started: boolean }   (no id: the run itself
//       failed) crashed: the module panicked or trapped; started: it failed mid-run (a lost GPU,
//       say), not at the start. The worker is done and the page starts another
//
// A failed answer of either worker may carry more than `message` (family-worker's `crashed` and
// `started`); the rejection's error keeps the whole answer as `answer`.

/**
 * @typedef {{ type: string, id?: number, [field: string]: unknown }} Message
 * @typedef {{ resolve: (answer: Message) => void, reject: (error: Error) => void, type: string }} Open
 */

/** The page's side: sends requests with ids and settles each when its answer arrives. */
export class Requests {
  /** @param {(message: Message, transfer: Transferable[]) => void} post how a message reaches the worker */
  constructor(post) {
    this.post = post;
    this.next = 1;
    /** @type {Map<number, Open>} */
    this.open = new Map();
  }

  /** Sends `message` as a request. Resolves with the answer; rejects with the failure's message
   * (the answer as `error.answer`), or when the worker is gone first.
   * @param {Message} message @param {Transferable[]} [transfer] @returns {Promise<Message>} */
  send(message, transfer = []) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.open.set(id, { resolve, reject, type: message.type });
      try {
        this.post({ ...message, id }, transfer);
      } catch (e) {
        this.open.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Settles the request that `data` answers. False for a notice (no id, or not one of ours).
   * @param {Message} data @returns {boolean} */
  settle(data) {
    const open = typeof data?.id === "number" ? this.open.get(data.id) : undefined;
    if (!open) return false;
    this.open.delete(/** @type {number} */ (data.id));
    if (data.type === "failed") open.reject(Object.assign(new Error(String(data.message)), { answer: data }));
    else open.resolve(data);
    return true;
  }

  /** The worker is gone: every open request rejects with `why`, as if `answer` (a failure) had
   * answered it, or else marked `ended` (the page ended the worker: nothing to report). Returns
   * how many were open.
   * @param {string} why @param {Message} [answer] @returns {number} */
  abandon(why, answer) {
    const open = [...this.open.values()];
    this.open.clear();
    for (const o of open) o.reject(Object.assign(new Error(`${why} (the ${o.type} request had no answer)`), answer ? { answer } : { ended: true }));
    return open.length;
  }

  /** How many requests wait for an answer (a test reads it: none may be left hanging). */
  get pending() {
    return this.open.size;
  }
}
