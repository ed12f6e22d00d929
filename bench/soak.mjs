// The soak benchmark (not a test: it prints curves). Does the playground's memory stay flat over a
// long session? In headless Chromium on the built page (dist/):
//   1. trains in the tab for STEPS training steps (default 10,000) with the page's own settings and
//      its snapshot every ~2 s (the page rebuilds its copy of the model from each), sampling every
//      SAMPLE_S seconds the wasm memory of the page's module and of the training worker's module
//      (`memoryBytes()`: wasm memory only grows, so a leak shows as a rising line) and the page's
//      JS heap;
//   2. then makes CALLS encode+decode calls (default 100,000) on the page's model, sampling every
//      10,000 calls.
// It prints both curves and, for each memory, the final figure against where it settled after
// warm-up (the sample at WARMUP of the run, default 20%): the playground's bar is within 5%.
// Run: ./scripts/bench builds the page; then `node bench/soak.mjs` (or SOAK=1 ./scripts/bench).
import { join } from "node:path";
import { ROOT, launch, serve } from "../tests/browser/helpers.mjs";

const STEPS = Number(process.env.STEPS ?? 10000);
const CALLS = Number(process.env.CALLS ?? 100000);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 15);
const WARMUP = Number(process.env.WARMUP ?? 0.2);
const DIST = process.env.DIST ?? join(ROOT, "dist");
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

const server = await serve({ "/": DIST });
const browser = await launch();
const context = await browser.newContext();
const page = await context.newPage();
page.on("pageerror", (e) => console.log(`page error: ${e}`));
// Enough epochs that the run does not finish before STEPS (70 steps per epoch at batch 128).
await page.goto(`${server.url}?epochs=${Math.min(500, Math.ceil(STEPS / 70) + 3)}`);
await page.waitForSelector("body[data-started=true]", { timeout: 60000 });

const sample = () =>
  page.evaluate(() => {
    const g = window.vaePlayground;
    return {
      steps: g.training.steps,
      snapshots: Number(document.body.dataset.snapshots ?? 0),
      page: g.wasm.memoryBytes(),
      worker: g.training.workerMemory ?? 0,
      heap: performance.memory?.usedJSHeapSize ?? 0,
    };
  });

console.log(`Soak 1: ${STEPS} training steps in the tab, snapshots every ~2 s; a sample every ${SAMPLE_S} s`);
console.log("   time   steps  snapshots  page wasm MiB  worker wasm MiB  page JS heap MiB");
const started = Date.now();
await page.getByRole("button", { name: "Train", exact: true }).click();
const training = [];
for (;;) {
  await page.waitForTimeout(SAMPLE_S * 1000);
  const s = { t: (Date.now() - started) / 1000, ...(await sample()) };
  training.push(s);
  console.log(`${s.t.toFixed(0).padStart(6)} s ${String(s.steps).padStart(7)} ${String(s.snapshots).padStart(10)} ${mb(s.page).padStart(14)} ${mb(s.worker).padStart(16)} ${mb(s.heap).padStart(17)}`);
  if (s.steps >= STEPS) break;
  const state = await page.evaluate(() => document.body.dataset.training);
  if (state !== "running") throw new Error(`training stopped early: ${state}`);
}
if ((await page.evaluate(() => document.body.dataset.training)) === "running") {
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
}

console.log(`\nSoak 2: ${CALLS} encode+decode calls on the page's model; a sample every 10,000 calls`);
console.log("   calls  page wasm MiB  page JS heap MiB  ms per call");
const calls = [];
for (let done = 0; done < CALLS; ) {
  const batch = Math.min(10000, CALLS - done);
  const took = await page.evaluate(async (batch) => {
    const { state, testDigits } = window.vaePlayground;
    const vae = state.vae;
    const { pixels } = await testDigits();
    const t = performance.now();
    for (let i = 0; i < batch; i++) {
      const x = pixels.subarray(784 * (i % 1000), 784 * (i % 1000 + 1));
      const { mu } = await vae.encode(x, 1);
      await vae.decode(mu, 1);
    }
    return performance.now() - t;
  }, batch);
  done += batch;
  const s = { calls: done, ...(await sample()), perCall: took / batch };
  calls.push(s);
  console.log(`${String(s.calls).padStart(8)} ${mb(s.page).padStart(14)} ${mb(s.heap).padStart(17)} ${s.perCall.toFixed(3).padStart(12)}`);
}

function verdict(label, series, key) {
  const at = Math.min(series.length - 1, Math.floor(series.length * WARMUP));
  const settled = series[at][key];
  const end = series.at(-1)[key];
  const change = (100 * (end - settled)) / settled;
  // Wasm memory only grows: where it last grew tells a one-off high-water mark from a leak.
  const last = series.findLastIndex((s, i) => i > 0 && s[key] !== series[i - 1][key]);
  const grew = last < 0 ? "never changed after the first sample" : `last changed at sample ${last + 1} of ${series.length}`;
  console.log(`  ${label.padEnd(30)} settled ${mb(settled).padStart(7)} MiB → end ${mb(end).padStart(7)} MiB (${change >= 0 ? "+" : ""}${change.toFixed(1)}%; bar ±5%); ${grew}`);
}
console.log("\nMemory at the end against where it settled after warm-up:");
verdict("training: page wasm", training, "page");
verdict("training: worker wasm", training, "worker");
verdict("training: page JS heap", training, "heap");
verdict("encode+decode: page wasm", calls, "page");
verdict("encode+decode: page JS heap", calls, "heap");
await browser.close();
await server.close();
