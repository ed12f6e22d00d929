// Keeps the user's trained model across reloads: one record in IndexedDB holding the weights
// (safetensors bytes), the training settings and the loss history.

const DB = "vae-playground";
const STORE = "runs";
const KEY = "current";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transaction(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("the save was aborted"));
    });
  } finally {
    db.close();
  }
}

/** The saved run `{ settings, history, weights (Uint8Array), savedAt }`, or null. */
export async function loadRun() {
  return (await transaction("readonly", (store) => store.get(KEY))) ?? null;
}

export async function saveRun(run) {
  await transaction("readwrite", (store) => store.put({ ...run, savedAt: Date.now() }, KEY));
}

export async function deleteRun() {
  await transaction("readwrite", (store) => store.delete(KEY));
}
