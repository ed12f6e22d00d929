// What a widget with `persist="key"` keeps across reloads, in IndexedDB: one record per key holding
// its view's state (the drawing, the latent point, …) and, for the views that train, the weights of
// the person's last run. Nothing here is touched by a widget without `persist`.

const DB = "vae-playground-widgets";
const STORE = "widgets";
// Tells the other tabs of this origin when a widget keeps a run snapshot under a key.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(DB) : null;

function open(name, store) {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(name, 1);
    } catch (e) {
      // An opaque origin (a sandboxed iframe) or storage switched off: the browser refuses at once.
      return reject(e);
    }
    request.onupgradeneeded = () => request.result.createObjectStore(store);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("the browser's storage is blocked by another tab"));
  });
}

/** Runs `work(objectStore)` in one transaction of database `name` (version 1, one object store
 * `store`); resolves to the result of the request `work` returns, once the transaction commits.
 * The page's saved run (store.js) goes through here too. */
export async function transaction(name, store, mode, work) {
  const db = await open(name, store);
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("the save was aborted"));
    });
  } finally {
    db.close();
  }
}

/** Why `record` cannot be what a widget saved, or null when it can. */
function problem(record) {
  if (typeof record !== "object" || record === null) return "it is not a widget's record";
  if (typeof record.view !== "string") return "its view is missing";
  if (typeof record.state !== "object" || record.state === null) return "its state is missing";
  const run = record.run;
  if (run != null) {
    if (!(run.weights instanceof Uint8Array) || run.weights.length < 8) return "its run's weights are missing";
    if (!Number.isInteger(run.steps) || run.steps < 0) return "its run's step count is not a whole number";
  }
  return null;
}

/** The record saved under `key`: `{ view, prior, state, run: { weights, steps, backend } | null,
 * savedAt }`, or null. Throws with the reason when the stored record is damaged. */
export async function loadWidget(key) {
  const record = (await transaction(DB, STORE, "readonly", (store) => store.get(key))) ?? null;
  if (record === null) return null;
  const why = problem(record);
  if (why) throw Object.assign(new Error(`what was saved under persist="${key}" is damaged: ${why}`), { damaged: true, why });
  return record;
}

/** Saves `record` under `key`. `keepStoredRun`: the record's run is the one stored now (another tab
 * may have saved a newer one since this widget read it), not `record.run`, unless none is stored
 * or it is damaged. Resolves to the time saved. */
export async function saveWidget(key, record, { keepStoredRun = false } = {}) {
  const savedAt = Date.now();
  await transaction(DB, STORE, "readwrite", (store) => {
    if (!keepStoredRun) return store.put({ ...record, savedAt }, key);
    // Read and write in one transaction, so no other tab's save comes in between.
    const read = store.get(key);
    read.onsuccess = () => {
      const stored = read.result;
      const run = stored && !problem(stored) && stored.run ? stored.run : record.run;
      store.put({ ...record, run, savedAt }, key);
    };
    return read;
  });
  if (!keepStoredRun && record.run) channel?.postMessage({ key, run: runKey(record.run), steps: record.run.steps, savedAt });
  return savedAt;
}

/** `listener({ key, run, steps, savedAt })` when another tab keeps a run snapshot under `key`
 * (`run`: its runKey). Returns the function that stops listening. */
export function watchKept(key, listener) {
  const hear = ({ data }) => data?.key === key && listener(data);
  channel?.addEventListener("message", hear);
  return () => channel?.removeEventListener("message", hear);
}

/** What tells one kept run from another: its id (each snapshot kept gets one), or for a record
 * saved before runs had ids, its step count and size. */
export const runKey = (run) => (run ? run.id ?? `steps ${run.steps}, ${run.weights?.length} bytes` : null);

export function forgetWidget(key) {
  return transaction(DB, STORE, "readwrite", (store) => store.delete(key));
}

/** Takes the Web Lock `name` and holds it until the returned `release()` is called; resolves to
 * that function, or to null at once if another tab (or another widget of this page) holds it.
 * Without Web Locks (old browsers) there is nothing to hold: it resolves to a no-op. */
export function holdLock(name) {
  if (!navigator.locks?.request) return Promise.resolve(() => {});
  return new Promise((resolve) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(null);
        return new Promise((release) => resolve(release));
      })
      .catch(() => resolve(null));
  });
}
