// CPU vs WebGPU in headless Chromium with a WebGPU adapter (SwiftShader here: WebGPU on the CPU,
// so its speed says little about a real GPU). Not a test: it prints numbers.
// For each backend, the 784-400-20 VAE: training throughput at batch 128 on the shipped training
// digits (after warm-up, median of per-step rates), and encode+decode of one digit including the
// readback (median and p90). Also the sizes of both builds.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { ROOT, launch, serve } from "../tests/browser/helpers.mjs";

const size = (file) => {
  const bytes = readFileSync(join(ROOT, "dist", file));
  return `${(bytes.length / 1e6).toFixed(2)} MB raw, ${(gzipSync(bytes, { level: 9 }).length / 1e6).toFixed(2)} MB gzip`;
};
console.log(`CPU build    (dist/vae-wasm_bg.wasm):    ${size("vae-wasm_bg.wasm")}`);
console.log(`WebGPU build (dist/gpu/vae-gpu_bg.wasm): ${size("gpu/vae-gpu_bg.wasm")}`);

const server = await serve();
const browser = await launch({ webgpu: true });
const page = await browser.newPage();
page.setDefaultTimeout(600000);
await page.goto(server.url);
await page.waitForSelector("body[data-ready=true]");

const STEPS = { cpu: Number(process.env.CPU_STEPS ?? 40), webgpu: Number(process.env.GPU_STEPS ?? 6) };
const CALLS = { cpu: 200, webgpu: 40 };
for (const backend of ["cpu", "webgpu"]) {
  const r = await page.evaluate(
    async ({ backend, steps, calls }) => {
      const cpu = window.vaePlayground.wasm;
      const gpu = await import("./gpu/vae-gpu.js");
      await gpu.default({ module_or_path: new URL("gpu/vae-gpu_bg.wasm", location.href) });
      const wasm = backend === "webgpu" ? gpu : cpu;
      const response = await fetch("web/assets/digits.bin.gz");
      const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
      const digits = new Uint8Array(await new Response(stream).arrayBuffer());
      const vae = await wasm.Vae.create({ latentDim: 20, hidden: 400, seed: 1, backend });
      vae.setTrainingDigits(digits, 1);
      const options = { lr: 1e-3, batchSize: 128 };
      for (let i = 0; i < 3; i++) await vae.trainBatch(options); // warm-up (shader compilation on WebGPU)
      const rates = [];
      for (let i = 0; i < steps; i++) {
        const t = performance.now();
        await vae.trainBatch(options);
        rates.push((128 * 1000) / (performance.now() - t));
      }
      const x = wasm.testDigits(digits).pixels.slice(0, 784);
      for (let i = 0; i < 5; i++) await vae.decode((await vae.encode(x, 1)).mu, 1);
      const codec = [];
      for (let i = 0; i < calls; i++) {
        const t = performance.now();
        await vae.decode((await vae.encode(x, 1)).mu, 1);
        codec.push(performance.now() - t);
      }
      return { rates, codec, backend: vae.backend };
    },
    { backend, steps: STEPS[backend], calls: CALLS[backend] },
  );
  const sorted = (v) => [...v].sort((a, b) => a - b);
  const median = (v) => sorted(v)[Math.floor(v.length / 2)];
  const p90 = (v) => sorted(v)[Math.min(v.length - 1, Math.floor(v.length * 0.9))];
  console.log(
    `${r.backend.padEnd(6)}: training ${median(r.rates).toFixed(0)} samples/s (784-400-20, batch 128, median of ${r.rates.length} steps); ` +
      `encode+decode of one digit median ${median(r.codec).toFixed(2)} ms, p90 ${p90(r.codec).toFixed(2)} ms (${r.codec.length} calls)`,
  );
}
await browser.close();
await server.close();
