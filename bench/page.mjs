// The playground page's own update path in headless Chromium (not a test: it prints numbers), run
// by ./scripts/bench after bench/run.mjs (which prints sizes, navigation → ready and the TensorFlow.js
// comparison). Prints the latency of one draw → reconstruction update (the pad's pixels, MNIST
// preprocessing, and one reconstruct call: encode, decode at z = μ, −ELBO — what the page does per
// update), plus encode+decode alone, as median and p90 over many calls. DIST as in bench/run.mjs.
import { join } from "node:path";
import { ROOT, launch, serve } from "../tests/browser/helpers.mjs";

const CALLS = Number(process.env.CALLS ?? 500);

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const pct = (v, p) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))];
const ms = (x) => `${x.toFixed(3)} ms`;

const server = await serve({ "/": process.env.DIST ?? join(ROOT, "dist") });
const browser = await launch();

const page = await browser.newPage();
await page.goto(server.url);
await page.waitForSelector("body[data-ready=true]");
// A stroke on the pad, so the update works on a real drawing.
const box = await page.getByLabel("Drawing pad").boundingBox();
await page.mouse.move(box.x + 140, box.y + 40);
await page.mouse.down();
await page.mouse.move(box.x + 140, box.y + 240, { steps: 20 });
await page.mouse.up();

for (const latent of [2, 20]) {
  const result = await page.evaluate(
    async ({ latent, calls }) => {
      const { wasm } = window.vaePlayground;
      // The pad of section 1 (the draw view), read as the view reads it.
      const { DrawingPad } = await import(new URL("web/draw.js", location.href).href);
      const pad = new DrawingPad(document.querySelector("#draw-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Drawing pad"]'));
      const bytes = new Uint8Array(await (await fetch(`web/assets/vae-latent${latent}.safetensors`)).arrayBuffer());
      const vae = await wasm.Vae.fromSafetensors(bytes, { backend: "cpu" });
      const update = [];
      const full = [];
      const codec = [];
      const x = wasm.rgbaToMnist(pad.rgba(), pad.readSize, pad.readSize);
      for (let i = 0; i < 50; i++) await vae.decode((await vae.encode(x, 1)).mu, 1); // warm-up
      // Chromium coarsens performance.now() (to 0.1 ms here), so time batches of 20 calls and
      // report the per-call mean of each batch.
      const batch = 20;
      for (let i = 0; i < calls / batch; i++) {
        let t = performance.now();
        for (let k = 0; k < batch; k++) {
          const input = wasm.rgbaToMnist(pad.rgba(), pad.readSize, pad.readSize);
          await vae.reconstruct(input, 1); // exactly what the page does per update
        }
        update.push((performance.now() - t) / batch);
        t = performance.now();
        for (let k = 0; k < batch; k++) {
          const input = wasm.rgbaToMnist(pad.rgba(), pad.readSize, pad.readSize);
          const { mu, logvar } = await vae.reconstruct(input, 1);
          await vae.posteriorDraws(mu, logvar, 8, 7); // the page then adds 8 draws from q(z|x)
        }
        full.push((performance.now() - t) / batch);
        t = performance.now();
        for (let k = 0; k < batch; k++) await vae.decode((await vae.encode(x, 1)).mu, 1);
        codec.push((performance.now() - t) / batch);
      }
      vae.free();
      return { update, codec, full };
    },
    { latent, calls: CALLS },
  );
  console.log(
    `latent ${latent}: draw → reconstruction update median ${ms(median(result.update))}, p90 ${ms(pct(result.update, 0.9))}; ` +
      `encode+decode median ${ms(median(result.codec))}, p90 ${ms(pct(result.codec, 0.9))}; ` +
      `with the 8 q(z|x) draws median ${ms(median(result.full))} (${CALLS} calls)`,
  );
}
console.log("(each figure: median / p90 over batches of 20 calls, per call)");
await browser.close();
await server.close();
