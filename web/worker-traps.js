// What both training workers (train-worker.js, family-worker.js) do about a trap in their module.
// A trap (a panic, or a failed allocation that skips the panic hook) can leave the promise of the
// call that trapped unsettled: it surfaces as an uncaught error or rejection of the worker instead.
// Every call a training loop awaits is raced against `death`, which rejects as soon as the worker
// sees the trap, so the loop always ends and the page hears that the module crashed.

export const isTrap = (e) => e instanceof WebAssembly.RuntimeError || /^RuntimeError/.test(String(e));
/** "a WebAssembly trap: unreachable", from a RuntimeError or its text. */
export const trapText = (e) => `a WebAssembly trap: ${String(e?.message ?? e).replace(/^RuntimeError:\s*/, "")}`;

let dead = null; // why the module died, once it has
let die;
const death = new Promise((_, reject) => (die = reject));
death.catch(() => {});
const listeners = [];

/** Marks the module dead (once): every `alive` call rejects, and each `onDeath` listener hears why. */
export function moduleDied(reason) {
  if (dead) return;
  dead = reason;
  for (const listener of listeners) listener(reason);
  die(new Error(`the module crashed (${reason})`));
}

/** `promise`, or a rejection as soon as the module dies. */
export const alive = (promise) => Promise.race([promise, death]);

/** Why the module died, or null while it lives. */
export const deadReason = () => dead;

/** `listener(reason)` when the module dies. */
export const onDeath = (listener) => listeners.push(listener);

addEventListener("error", (e) => {
  if (isTrap(e.error ?? e.message)) {
    e.preventDefault();
    moduleDied(trapText(e.error ?? e.message));
  }
});
addEventListener("unhandledrejection", (e) => {
  if (isTrap(e.reason)) {
    e.preventDefault();
    moduleDied(trapText(e.reason));
  }
});
