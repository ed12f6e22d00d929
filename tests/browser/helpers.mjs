// Shared by the browser tests and the benchmark: a static server for dist/ and pkg/ on loopback,
// and headless Debian Chromium through playwright-core (no browser download).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".gz": "application/gzip",
  ".safetensors": "application/octet-stream",
};

/** Serves `mounts` ({ urlPrefix: directory, or { dir, headers } to add response headers }) on
 * 127.0.0.1; resolves to { url, close }. `isolated` adds the COOP/COEP headers that make pages
 * cross-origin isolated (finer timers). */
export async function serve(mounts = { "/": join(ROOT, "dist"), "/pkg/": join(ROOT, "pkg") }, { isolated = false } = {}) {
  const extra = isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/favicon.ico") return res.writeHead(204).end(); // pages without an icon link ask for it
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (!prefix) return res.writeHead(404).end("not found");
    const mount = mounts[prefix];
    const base = typeof mount === "string" ? mount : mount.dir;
    const headers = typeof mount === "string" ? {} : mount.headers ?? {};
    let file = normalize(join(base, path.slice(prefix.length)));
    if (!file.startsWith(base)) return res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store", ...extra, ...headers });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Headless Chromium with the flags this machine needs (Playwright gives it a fresh temporary
 * profile); `webgpu` adds the WebGPU adapter. */
export async function launch({ webgpu = false } = {}) {
  const args = [
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args, headless: true });
}

/** Counts, from the page's first script on, every compile of a wasm module in `window.__compiles`
 * (instantiating an already compiled WebAssembly.Module is not one). */
export function countCompiles(page) {
  return page.addInitScript(() => {
    window.__compiles = 0;
    for (const name of ["compile", "compileStreaming", "instantiateStreaming"]) {
      const original = WebAssembly[name];
      WebAssembly[name] = function (...args) {
        window.__compiles++;
        return original.apply(this, args);
      };
    }
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = function (source, ...rest) {
      if (!(source instanceof WebAssembly.Module)) window.__compiles++;
      return instantiate.call(this, source, ...rest);
    };
  });
}

/** Collects console errors and uncaught page errors. */
export function watchErrors(page) {
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

// ---- acting on the page as a person would ------------------------------------------------------

/** A canvas by its id, on the page or in the shadow root of the first widget that has it (the
 * page's sections 1 and 2 keep their canvases' ids inside the element), or inside a widget as
 * `[host selector, selector in its shadow root]`. */
const canvasIn = (page, where) =>
  page.evaluateHandle((where) => {
    if (Array.isArray(where)) return document.querySelector(where[0]).shadowRoot.querySelector(where[1]);
    const roots = [...document.querySelectorAll("vae-playground")].map((w) => w.shadowRoot).filter(Boolean);
    return document.getElementById(where) ?? roots.map((root) => root.getElementById(where)).find(Boolean);
  }, where);

/** A canvas (see canvasIn) as 28×28 ink values (0 = white, 1 = black), sampling cell centres. */
export async function canvasInk(page, where) {
  return (await canvasIn(page, where)).evaluate((canvas) => {
    const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const out = [];
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const px = Math.floor(((x + 0.5) * width) / 28);
        const py = Math.floor(((y + 0.5) * height) / 28);
        out.push(1 - data[(py * width + px) * 4] / 255);
      }
    return out;
  });
}

export function correlation(a, b) {
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Draws a "0": an ellipse traced with the mouse in 40 moves, on the pad inside `scope` (a locator,
 * such as one widget) or the page's only pad. */
export async function drawZero(page, scope = page) {
  const pad = scope.getByLabel("Drawing pad");
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  const [cx, cy, rx, ry] = [box.x + box.width / 2, box.y + box.height / 2, box.width * 0.25, box.height * 0.33];
  await page.mouse.move(cx + rx, cy);
  await page.mouse.down();
  for (let k = 1; k <= 40; k++) {
    const t = (2 * Math.PI * k) / 40;
    await page.mouse.move(cx + rx * Math.cos(t), cy + ry * Math.sin(t), { steps: 2 });
  }
  await page.mouse.up();
}

/** A digest of a canvas's pixels (see canvasIn), to see that it changed. */
export const digest = async (page, where) =>
  (await canvasIn(page, where)).evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i]) | 0;
    return h;
  });

