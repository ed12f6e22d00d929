// The <vae-playground> element's figures in headless Chromium (not a test: it prints numbers), run
// by ./scripts/bench: how long a draw widget takes to become interactive once it scrolls into view
// (cold: a fresh browser context, nothing loaded; warm: a second widget on a page whose module and
// model are loaded), frame times with ten walk widgets animating at once, and the bytes a draw
// widget and the whole folder transfer (gzip). The folder is pkg/ (PKG=… for another copy).
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, launch, serve } from "../tests/browser/helpers.mjs";

const RUNS = Number(process.env.RUNS ?? 5);
const PKG = process.env.PKG ?? join(ROOT, "pkg");
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const pct = (v, p) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))];

const server = await serve({ "/static/vae-playground/": PKG, "/notes/": join(ROOT, "tests/browser/pages/notes") });
const browser = await launch();
const blank = `${server.url}notes/unit-1/lesson/blank.html`;

/** Adds a draw widget below a tall spacer, scrolls to it, and times scroll → `load`. */
const timeToInteractive = (page) =>
  page.evaluate(async () => {
    await customElements.whenDefined("vae-playground");
    const spacer = document.createElement("div");
    spacer.style.height = "3000px";
    const widget = document.createElement("vae-playground");
    widget.setAttribute("view", "draw");
    document.getElementById("content").append(spacer, widget);
    await new Promise((r) => setTimeout(r, 100));
    const loaded = new Promise((r) => widget.addEventListener("load", r, { once: true }));
    const start = performance.now();
    widget.scrollIntoView();
    await loaded;
    return performance.now() - start;
  });

const cold = [];
const warm = [];
const bytes = new Map(); // path → gzip bytes, for a draw widget's requests
for (let run = 0; run < RUNS; run++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requested = [];
  page.on("requestfinished", (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(blank);
  cold.push(await timeToInteractive(page));
  if (run === 0) for (const path of requested) bytes.set(path, null);
  warm.push(await timeToInteractive(page));
  await context.close();
}

async function gzipSize(file) {
  return gzipSync(await readFile(file), { level: 9 }).length;
}
let widgetBytes = 0;
for (const path of bytes.keys()) {
  if (!path.startsWith("/static/vae-playground/")) continue;
  widgetBytes += await gzipSize(join(PKG, path.slice("/static/vae-playground/".length)));
}
async function walk(dir) {
  let raw = 0;
  let gz = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) {
      const [r, g] = await walk(file);
      raw += r;
      gz += g;
    } else {
      raw += (await stat(file)).size;
      gz += await gzipSize(file);
    }
  }
  return [raw, gz];
}
const [folderRaw, folderGz] = await walk(PKG);

// Ten walk widgets animating at once: frame intervals and long tasks over 3 s.
const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
await page.goto(blank);
const frames = await page.evaluate(async () => {
  await customElements.whenDefined("vae-playground");
  const content = document.getElementById("content");
  content.style.display = "grid";
  content.style.gridTemplateColumns = "repeat(5, 300px)";
  const widgets = [];
  for (let k = 0; k < 10; k++) {
    const widget = document.createElement("vae-playground");
    widget.setAttribute("view", "walk");
    widget.setAttribute("model", k % 2 ? "vae-20" : "vae-2");
    widget.setAttribute("walk", ["circle", "wander", "morph"][k % 3]);
    widget.setAttribute("loading", "eager");
    widget.setAttribute("controls", "none");
    content.append(widget);
    widgets.push(widget);
  }
  await Promise.all(widgets.map((w) => w.ready));
  const longTasks = [];
  new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
  widgets.forEach((w) => w.play());
  await new Promise((r) => setTimeout(r, 500));
  const intervals = [];
  let last = performance.now();
  const end = last + 3000;
  await new Promise((resolve) => {
    const tick = (now) => {
      intervals.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick);
      else resolve();
    };
    requestAnimationFrame(tick);
  });
  const decoded = widgets.map((w) => w.getState().frames);
  return { intervals, longTasks, decoded };
});
await browser.close();
await server.close();

const ms = (x) => `${x.toFixed(0)} ms`;
console.log(`draw widget, scroll into view → interactive (load event), median of ${RUNS}:`);
console.log(`  cold (fresh context: module and model fetched, wasm compiled)    : ${ms(median(cold))}  (runs: ${cold.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`  warm (second widget on the page: module and model loaded):       ${ms(median(warm))}  (runs: ${warm.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`ten walk widgets animating: frame interval p50 ${frames.intervals.length ? median(frames.intervals).toFixed(1) : "?"} ms, p95 ${pct(frames.intervals, 0.95).toFixed(1)} ms over ${frames.intervals.length} frames; long tasks > 50 ms: ${frames.longTasks.length}${frames.longTasks.length ? ` (max ${Math.max(...frames.longTasks).toFixed(0)} ms)` : ""}; decoded frames per widget: ${frames.decoded.join(", ")}`);
console.log(`bytes: a draw widget transfers ${(widgetBytes / 1e6).toFixed(2)} MB gzip (${[...bytes.keys()].filter((p) => p.startsWith("/static/")).map((p) => relative("/static/vae-playground", p)).join(", ")})`);
console.log(`       the whole folder: ${(folderRaw / 1e6).toFixed(2)} MB raw, ${(folderGz / 1e6).toFixed(2)} MB gzip`);
