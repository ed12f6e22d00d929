// What the playground page downloads and compiles of the wasm, in headless Chromium (not a test: it
// prints numbers): on load, then after scrolling through every section (the <vae-playground>
// elements start as they near the viewport). Prints the wasm requests and their bytes (as served:
// uncompressed by this test server), the compiles, navigation → ready, and when all its elements
// are ready. DIST as in bench/run.mjs; LOADS (default 5) page loads, medians printed.
import { join } from "node:path";
import { ROOT, countCompiles, launch, serve } from "../tests/browser/helpers.mjs";

const LOADS = Number(process.env.LOADS ?? 5);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const server = await serve({ "/": process.env.DIST ?? join(ROOT, "dist") });
const browser = await launch();
const rows = [];
for (let i = 0; i < LOADS; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await countCompiles(page);
  const wasm = []; // one entry per request of a .wasm file; its bytes once it has finished
  page.on("request", (r) => {
    if (!new URL(r.url()).pathname.endsWith(".wasm")) return;
    const entry = { path: new URL(r.url()).pathname, bytes: 0 };
    wasm.push(entry);
    r.response().then((response) => response?.body()).then((body) => (entry.bytes = body?.length ?? 0), () => {});
  });
  const start = Date.now();
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
  const ready = Date.now() - start;
  const atLoad = { requests: wasm.length, bytes: wasm.reduce((s, w) => s + w.bytes, 0), compiles: await page.evaluate(() => window.__compiles) };
  for (const card of ["#compare-card", "#cvae-card", "#aae-card", "#hvae-card", "#vrae-card"]) {
    await page.locator(card).scrollIntoViewIfNeeded();
    // (An older build, to compare with, may have a section here that is not an element.)
    await page.waitForFunction((card) => (document.querySelector(`${card} vae-playground`)?.dataset.ready ?? "true") === "true", card, { timeout: 60000 });
  }
  const allReady = Date.now() - start;
  const elements = await page.evaluate(() => document.querySelectorAll("vae-playground").length);
  const after = { requests: wasm.length, bytes: wasm.reduce((s, w) => s + w.bytes, 0), compiles: await page.evaluate(() => window.__compiles), paths: [...new Set(wasm.map((w) => w.path))] };
  rows.push({ ready, allReady, atLoad, after, elements });
  await context.close();
}
const last = rows.at(-1);
console.log(`wasm on load: ${last.atLoad.requests} request(s), ${(last.atLoad.bytes / 1e6).toFixed(2)} MB, ${last.atLoad.compiles} compile(s)`);
console.log(`wasm after every section has started: ${last.after.requests} request(s), ${(last.after.bytes / 1e6).toFixed(2)} MB, ${last.after.compiles} compile(s) (${last.after.paths.join(", ")})`);
console.log(`navigation → page ready: median ${median(rows.map((r) => r.ready))} ms; → all ${last.elements} elements ready (scrolled through): median ${median(rows.map((r) => r.allReady))} ms (${LOADS} loads)`);
await browser.close();
await server.close();
