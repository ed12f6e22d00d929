// Keeps the user's trained model across reloads: one record in IndexedDB holding the weights
// (safetensors bytes), the training settings and the loss history.
//
// One tab at a time owns the run: a tab trains, uploads or resets only while it holds the Web Lock
// `RUN_LOCK`, so two tabs never overwrite each other's model every few seconds, and a Reset in one
// tab is not undone by another's next save. Every change is announced on a BroadcastChannel so the
// other tabs can say that the saved model changed under them.

import { holdLock, transaction as idbTransaction } from "./widget-store.js";

const DB = "vae-playground";
const STORE = "runs";
const KEY = "current";
const RUN_LOCK = "vae-playground-run";
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("vae-playground-run") : null;
export const TAB = crypto.randomUUID?.() ?? String(Math.random());

const transaction = (mode, work) => idbTransaction(DB, STORE, mode, work);

const isCount = (v) => Number.isInteger(v) && v >= 0;
const HISTORY = ["step", "loss", "recon", "kl", "epoch", "testNegElbo", "testScoreAtMean"];
// Runs saved before the test columns were named for what they hold.
const RENAMED = { elboSampled: "testNegElbo", elboMean: "testScoreAtMean" };

/** `run` with its history's columns under today's names (a copy; the stored record is untouched). */
export function upgradeRun(run) {
  const h = run?.history;
  if (typeof h !== "object" || h === null) return run;
  const history = { ...h };
  for (const [old, now] of Object.entries(RENAMED)) {
    if (old in history) {
      history[now] ??= history[old];
      delete history[old];
    }
  }
  return { ...run, history };
}

/** Why a stored record cannot be a saved run, or null when it can. */
export function recordProblem(run) {
  if (typeof run !== "object" || run === null) return "it is not a saved run";
  if (!(run.weights instanceof Uint8Array) || run.weights.length < 8) return "its weights are missing";
  if (typeof run.settings !== "object" || run.settings === null) return "its settings are missing";
  if (!isCount(run.steps ?? 0) || !isCount(run.epochsDone ?? 0)) return "its step or epoch count is not a whole number";
  const h = run.history ?? {};
  for (const key of HISTORY) {
    const values = h[key] ?? [];
    if (!Array.isArray(values) || !values.every((v) => typeof v === "number")) return `its loss history (${key}) is damaged`;
  }
  const lengths = (keys) => new Set(keys.map((k) => (h[k] ?? []).length));
  if (lengths(["step", "loss", "recon", "kl"]).size > 1 || lengths(["epoch", "testNegElbo", "testScoreAtMean"]).size > 1) {
    return "its loss history has columns of different lengths";
  }
  return null;
}

/** The saved run `{ settings, history, weights (Uint8Array), steps, epochsDone, savedAt }`, or
 * null. Throws with the reason if the stored record is damaged or from another version. */
export async function loadRun() {
  const stored = (await transaction("readonly", (store) => store.get(KEY))) ?? null;
  if (stored === null) return null;
  const run = upgradeRun(stored);
  const problem = recordProblem(run);
  if (problem) throw new Error(`the saved model is damaged: ${problem}`);
  return run;
}

export async function saveRun(run) {
  const record = { ...run, savedAt: Date.now(), tab: TAB };
  await transaction("readwrite", (store) => store.put(record, KEY));
  channel?.postMessage({ type: "saved", tab: TAB, steps: run.steps });
}

export async function deleteRun() {
  await transaction("readwrite", (store) => store.delete(KEY));
  channel?.postMessage({ type: "reset", tab: TAB });
}

/** `onChange({ type, steps })` when another tab saves or resets the run. */
export function watchOtherTabs(onChange) {
  channel?.addEventListener("message", ({ data }) => {
    if (data?.tab !== TAB) onChange(data);
  });
}

/** Runs `work` holding the run's lock, or resolves to `busy` at once if another tab holds it.
 * Without Web Locks (old browsers) `work` just runs. */
export async function withRunLock(work, busy) {
  if (!navigator.locks?.request) return work();
  return navigator.locks.request(RUN_LOCK, { ifAvailable: true }, (lock) => (lock ? work() : busy()));
}

/** Takes the run's lock and holds it until `release()` is called; resolves to that function, or to
 * null if another tab holds it. */
export const holdRunLock = () => holdLock(RUN_LOCK);
