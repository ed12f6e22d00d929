// Whether a WebGPU adapter answers, for the training panels' backend choice (settings table row
// `backend`): "auto" takes the GPU only when a hardware adapter answers; "webgpu" takes any. Used on
// the page's thread by the element's panels and in the page's training worker.

const ADAPTER_TIMEOUT_MS = 5000;

/** `promise`, or a rejection with `message` after `ms`. */
export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Null when a WebGPU adapter answers (for "auto", a hardware one); otherwise why not, in words. */
export async function probeWebGpu(choice) {
  if (!globalThis.navigator?.gpu) return "this browser does not offer WebGPU";
  try {
    const adapter = await withTimeout(navigator.gpu.requestAdapter(), ADAPTER_TIMEOUT_MS, "timeout");
    if (!adapter) return "no WebGPU adapter is available";
    // A software adapter (SwiftShader) runs WebGPU on the CPU, ~60× slower than the CPU build for
    // this model (bench/run.mjs), so "auto" does not pick it; "webgpu" still may.
    const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter;
    if (choice === "auto" && fallback) {
      return "the only adapter is a software renderer, slower than the CPU (choose “GPU (WebGPU)” to use it anyway)";
    }
    return null;
  } catch (e) {
    return e.message === "timeout" ? `the WebGPU adapter did not answer within ${ADAPTER_TIMEOUT_MS / 1000} s` : `the adapter request failed (${String(e?.message ?? e)})`;
  }
}
