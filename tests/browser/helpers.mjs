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

/** Serves `mounts` ({ urlPrefix: directory }) on 127.0.0.1; resolves to { url, close }. */
export async function serve(mounts = { "/": join(ROOT, "dist"), "/pkg/": join(ROOT, "pkg") }) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/favicon.ico") return res.writeHead(204).end(); // pages without an icon link ask for it
    const prefix = prefixes.find((p) => path.startsWith(p));
    const base = mounts[prefix];
    let file = normalize(join(base, path.slice(prefix.length)));
    if (!file.startsWith(base)) return res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
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

/** Collects console errors and uncaught page errors. */
export function watchErrors(page) {
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}
