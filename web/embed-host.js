// For pages that embed the widget as an iframe: sizes every <iframe data-vae-playground> to its
// content (the frame reports its height), and fires each frame's events on the iframe element as
// CustomEvents ("vae-load", "vae-error", "vae-change", …). Load it once per page:
//   <script type="module" src="vae-playground/embed-host.js"></script>
// `callFrame(iframe, method, ...args)` calls an allowed method in the frame and resolves to its result.

const PROTOCOL = { type: "vae-playground", v: 1 };
const MIN_HEIGHT = 80;
const MAX_HEIGHT = 4000; // a frame cannot make itself taller than this
const pending = new Map(); // requestId → { resolve, reject }
let nextId = 1;

function frameOf(source) {
  for (const frame of document.querySelectorAll("iframe[data-vae-playground]")) {
    if (frame.contentWindow === source) return frame;
  }
  return null;
}

addEventListener("message", (e) => {
  const data = e.data;
  if (!data || data.type !== PROTOCOL.type || data.v !== PROTOCOL.v) return;
  const frame = frameOf(e.source);
  if (!frame) return; // not one of our frames: ignored
  if (data.event === "resize") {
    const height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Number(data.height) || 0));
    frame.style.height = `${height}px`;
  } else if (data.event === "response") {
    const call = pending.get(data.requestId);
    if (!call || call.frame !== frame) return;
    pending.delete(data.requestId);
    if (data.ok) call.resolve(data.result);
    else call.reject(new Error(data.error));
  } else if (typeof data.event === "string") {
    frame.dispatchEvent(new CustomEvent(`vae-${data.event}`, { detail: data.detail ?? null }));
  }
});

/** Calls `method` in the frame; rejects if the frame answers with an error or not within `timeoutMs`. */
export function callFrame(frame, method, ...args) {
  const requestId = `${Date.now()}-${nextId++}`;
  return new Promise((resolve, reject) => {
    pending.set(requestId, { resolve, reject, frame });
    setTimeout(() => {
      if (pending.delete(requestId)) reject(new Error(`the frame did not answer ${method} within 10 s`));
    }, 10000);
    frame.contentWindow.postMessage({ ...PROTOCOL, call: { requestId, method, args } }, "*");
  });
}
