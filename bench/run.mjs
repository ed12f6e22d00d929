// The benchmark (not a test: it prints numbers). Run it with ./scripts/bench, which builds the page.
// In headless Chromium on this machine it measures the playground's wasm against TensorFlow.js in the
// same run — our CPU build against tfjs-wasm (one thread, SIMD), our WebGPU build against
// tfjs-webgpu — and prints the ratios, which survive a noisy shared machine better than raw figures:
//   training throughput, 784-400-20 VAE at batch 128 on the shipped training digits (median of the
//     per-step rates over one epoch after 3 warm-up steps, loss read back every step);
//   encode+decode of one test digit (median and p90, ≥ 200 calls, μ and pixels read back);
//   decode of 16 latent points (one walk frame), median and p90;
//   navigation → ready to draw (cold loads of the playground page), and the wasm sizes.
// Environment: STEPS / GPU_STEPS (training steps timed, default 70 = one epoch), CALLS / GPU_CALLS
// (default 200), LOADS (default 7), BACKENDS (default "cpu,webgpu"), DIST (the built page, default
// dist/: point it at a copy of another build to compare two builds), SMOKE=1 (a few of each, to
// check that the benchmark itself still runs).
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { ROOT, launch, serve } from "../tests/browser/helpers.mjs";

const smoke = process.env.SMOKE === "1";
const num = (name, fallback) => Number(process.env[name] ?? (smoke ? Math.min(fallback, 5) : fallback));
const STEPS = { cpu: num("STEPS", 70), webgpu: num("GPU_STEPS", 70) };
const CALLS = { cpu: num("CALLS", 200), webgpu: num("GPU_CALLS", 200) };
const LOADS = num("LOADS", 7);
const BACKENDS = (process.env.BACKENDS ?? "cpu,webgpu").split(",");
const DIST = process.env.DIST ?? join(ROOT, "dist");
const REFERENCE = { cpu: "wasm", webgpu: "webgpu" }; // tfjs's backend for each of ours

const sorted = (v) => [...v].sort((a, b) => a - b);
const median = (v) => sorted(v)[Math.floor(v.length / 2)];
const p90 = (v) => sorted(v)[Math.min(v.length - 1, Math.floor(v.length * 0.9))];
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

function sizes(label, file) {
  const bytes = readFileSync(file.startsWith("dist/") ? join(DIST, file.slice(5)) : join(ROOT, file));
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`  ${label.padEnd(34)} ${mb(bytes.length).padStart(9)} raw  ${mb(gz).padStart(8)} gzip   (${file})`);
  return { raw: bytes.length, gzip: gz };
}

console.log("Sizes");
sizes("our CPU build (first paint)", "dist/web/vae_playground_bg.wasm");
sizes("our WebGPU build (on demand)", "dist/web/gpu/vae-gpu_bg.wasm");
sizes("tfjs-backend-wasm SIMD (reference)", "node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
sizes("tf.min.js (reference)", "node_modules/@tensorflow/tfjs/dist/tf.min.js");

const results = {};
const browser = await launch({ webgpu: true });
try {
  // Navigation → ready: the playground page, cold (a fresh context each load, nothing cached).
  const site = await serve({ "/": DIST });
  const ready = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url);
    await page.waitForSelector("body[data-ready=true]");
    ready.push(await page.evaluate(() => window.vaePlayground.readyMs));
    await context.close();
  }
  await site.close();
  results.ready = ready;
  console.log(`\nNavigation → ready to draw (cold, ${LOADS} loads): median ${median(ready).toFixed(0)} ms, max ${Math.max(...ready).toFixed(0)} ms`);

  // The engines, each in a fresh page of a cross-origin isolated origin (5 µs timers instead of 100 µs).
  const benchServer = await serve(
    { "/": DIST, "/bench/": join(ROOT, "bench"), "/tfjs/": join(ROOT, "node_modules/@tensorflow") },
    { isolated: true },
  );
  const run = async (engine, backend, ours) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(1_800_000);
    page.on("pageerror", (e) => console.error(`  page error: ${e}`));
    page.on("console", (m) => m.type() === "error" && console.error(`  console error: ${m.text().slice(0, 2000)}`));
    await page.goto(`${benchServer.url}bench/`);
    await page.waitForSelector("body[data-ready=true]");
    if (!(await page.evaluate(() => window.bench.crossOriginIsolated))) throw new Error("bench page is not cross-origin isolated");
    const options = { steps: STEPS[ours], calls: CALLS[ours] };
    const r = await page.evaluate(({ engine, backend, options }) => window.bench.run(engine, backend, options), { engine, backend, options });
    await context.close();
    const flags = r.flags ? ` [${Object.entries(r.flags).map(([k, v]) => `${k} ${v}`).join(", ")}]` : "";
    console.log(
      `  ${`${engine} ${backend}`.padEnd(12)} training ${median(r.rates).toFixed(0).padStart(5)} samples/s (${r.rates.length} steps, loss ${r.firstLoss.toFixed(1)} → ${r.lastLoss.toFixed(1)}); ` +
        `encode+decode ${median(r.codec).toFixed(3)} / ${p90(r.codec).toFixed(3)} ms; walk frame ${median(r.walk).toFixed(3)} / ${p90(r.walk).toFixed(3)} ms (median / p90, ${r.codec.length} calls)${flags}`,
    );
    if (!Number.isFinite(r.lastLoss)) throw new Error(`${engine} ${backend}: the loss is not finite`);
    if (r.family) {
      const vae = median(r.rates) / 128;
      console.log(
        `  ${"ours family".padEnd(12)} training steps/s of 128 (CPU, as the widgets train them): adversarial autoencoder ${median(r.family.aae).toFixed(1)} ` +
          `(${(median(r.family.aae) / vae).toFixed(2)}× the 784-400-20 VAE's ${vae.toFixed(1)}), hierarchical VAE ${median(r.family.hvae).toFixed(1)} (${(median(r.family.hvae) / vae).toFixed(2)}×); ` +
          `recurrent VAE ${median(r.family.vrae).toFixed(1)} steps/s of 64 windows × 64 samples (${(median(r.family.vrae) / vae).toFixed(2)}×)`,
      );
    }
    return r;
  };
  for (const ours of BACKENDS) {
    console.log(`\n${ours === "cpu" ? "CPU: our wasm vs tfjs-wasm" : "WebGPU: ours vs tfjs-webgpu (SwiftShader here: WebGPU on the CPU)"}`);
    const mine = await run("ours", ours, ours);
    const theirs = await run("tfjs", REFERENCE[ours], ours);
    results[ours] = { mine, theirs };
    console.log(
      `  ratios (ours ÷ tfjs speed, > 1 = ours faster): training ${(median(mine.rates) / median(theirs.rates)).toFixed(2)}×, ` +
        `encode+decode ${(median(theirs.codec) / median(mine.codec)).toFixed(2)}×, walk frame ${(median(theirs.walk) / median(mine.walk)).toFixed(2)}×`,
    );
  }
  await benchServer.close();
} finally {
  await browser.close();
}

// The targets, judged on this run (a smoke run has too few samples to judge anything).
if (smoke) {
  console.log("\nSmoke run: the benchmark runs end to end; too few samples to judge the targets.");
  process.exit(0);
}
console.log("\nTargets (this run)");
const verdict = (ok) => (ok ? "met " : "MISSED");
const line = (ok, text) => console.log(`  ${verdict(ok)}  ${text}`);
line(median(results.ready) <= 500, `navigation → ready ${median(results.ready).toFixed(0)} ms ≤ 500 ms`);
if (results.cpu) {
  const { mine, theirs } = results.cpu;
  const train = median(mine.rates) / median(theirs.rates);
  line(train >= 3, `CPU training ${train.toFixed(2)}× tfjs-wasm ≥ 3×`);
  line(median(mine.codec) <= median(theirs.codec) && median(mine.codec) <= 1,
    `encode+decode ${median(mine.codec).toFixed(3)} ms ≤ tfjs-wasm ${median(theirs.codec).toFixed(3)} ms and ≤ 1 ms`);
  line(median(mine.walk) <= 1, `walk frame ${median(mine.walk).toFixed(3)} ms ≤ 1 ms`);
}
if (results.webgpu) {
  const { mine, theirs } = results.webgpu;
  const train = median(mine.rates) / median(theirs.rates);
  line(train >= 1, `WebGPU training ${train.toFixed(2)}× tfjs-webgpu ≥ 1×`);
}
