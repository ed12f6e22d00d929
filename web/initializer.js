// Trunk's loader hooks: show download progress of the wasm module, and report a failed load so the
// page can show its error panel at once instead of waiting for a timeout.
export default function initializer() {
  return {
    onProgress({ current, total }) {
      const status = document.getElementById("status");
      if (status && total && !document.body.dataset.ready) {
        status.textContent = `Loading the model… ${Math.min(100, Math.round((100 * current) / total))}%`;
      }
    },
    onFailure(reason) {
      window.vaeLoadError = reason;
      dispatchEvent(new CustomEvent("vae-load-failed", { detail: reason }));
    },
  };
}
