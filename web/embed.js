// The iframe route: embed.html?view=draw&model=vae-2 shows one <vae-playground> for platforms that
// allow iframes but strip scripts. Protocol (every message is {type: "vae-playground", v: 1, …}):
//   frame → host: {event: "ready"}, {event: "resize", height}, {event: "load"|"error"|"change"|…, detail}
//   host → frame: {call: {requestId, method, args}} → frame → host: {event: "response", requestId, ok, result | error}
// Only messages from the embedding window are read; only the methods in CALLABLE can be called.
import "./widget.js";
import { SETTINGS } from "./widget-settings.js";

const PROTOCOL = { type: "vae-playground", v: 1 };
const CALLABLE = new Set(["getState", "setState", "setDrawing", "clear", "setLatent", "sample", "play", "pause", "train", "stopTraining"]);
const FORWARDED = ["load", "error", "change", "progress", "trainprogress", "trainend"];
const host = window.parent !== window ? window.parent : null;

function post(message) {
  // The host may be any site (the frame cannot know it), and nothing sent is private: "*" is right.
  host?.postMessage({ ...PROTOCOL, ...message }, "*");
}

/** Plain JSON of an event's detail (typed arrays become arrays). */
const plain = (value) => JSON.parse(JSON.stringify(value, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v)));

const widget = document.createElement("vae-playground");
const query = new URLSearchParams(location.search);
for (const { attr } of SETTINGS) {
  if (query.has(attr) && attr !== "loading") widget.setAttribute(attr, query.get(attr));
}
widget.setAttribute("loading", "eager"); // the frame itself is what the host lazy-loads
// A snapshot's weights (a megabyte, every two seconds) stay in the frame: the events are plain JSON.
const forwarded = (detail) => (detail && typeof detail === "object" && "weights" in detail ? { ...detail, weights: undefined } : detail);
for (const type of FORWARDED) widget.addEventListener(type, (e) => post({ event: type, detail: plain(forwarded(e.detail)) }));
document.body.append(widget);

let lastHeight = 0;
new ResizeObserver(() => {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height !== lastHeight) post({ event: "resize", height: (lastHeight = height) });
}).observe(document.documentElement);

addEventListener("message", async (e) => {
  if (!host || e.source !== host) return;
  const data = e.data;
  if (!data || data.type !== PROTOCOL.type || data.v !== PROTOCOL.v || !data.call) return;
  const { requestId, method, args = [] } = data.call;
  try {
    if (!CALLABLE.has(method)) throw new Error(`"${method}" cannot be called through the frame; allowed: ${[...CALLABLE].join(", ")}`);
    if (!Array.isArray(args)) throw new Error("args must be an array");
    const result = await widget[method](...args);
    post({ event: "response", requestId, ok: true, result: result === widget || result === undefined ? null : plain(result) });
  } catch (error) {
    post({ event: "response", requestId, ok: false, error: String(error?.message ?? error) });
  }
});

post({ event: "ready" });
