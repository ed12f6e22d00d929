// The embeddable package (pkg/) used the way a course page would: import it, create a model,
// load the shipped weights, encode/decode/train through the documented JS contract.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, launch, serve, watchErrors } from "./helpers.mjs";

let server;
let browser;
before(async () => {
  server = await serve({ "/pkg/": join(ROOT, "pkg"), "/": join(ROOT, "web") });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("the package's JS contract works in the browser", async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}pkg/package.json`);
  const result = await page.evaluate(async () => {
    const { default: init, Vae, panicked } = await import("/pkg/vae_playground.js");
    await init();
    const vae = await Vae.create({ latentDim: 2, hidden: 400, seed: 1, backend: "cpu" });
    const shape = [vae.backend, vae.latentDim, vae.hidden];
    const weights = new Uint8Array(await (await fetch("/assets/vae-latent2.safetensors")).arrayBuffer());
    vae.loadSafetensors(weights);
    const saved = await vae.toSafetensors();

    const digits = new Float32Array(2 * 784);
    for (let i = 0; i < 784; i++) {
      const [x, y] = [i % 28, Math.floor(i / 28)];
      digits[i] = Math.abs(x - 14) < 2 && y > 4 && y < 24 ? 1 : 0; // a "1"
      digits[784 + i] = Math.abs(Math.hypot((x - 14) / 6, (y - 14) / 9) - 1) < 0.2 ? 1 : 0; // a "0"
    }
    const { mu, logvar } = await vae.encode(digits, 2);
    const images = await vae.decode(mu, 2);
    const step = await vae.trainStep(digits, 2, { lr: 1e-3, beta: 1 });

    const rejections = [];
    for (const bad of [
      () => vae.encode(new Float32Array(5), 1),
      () => vae.encode(new Float32Array(784).fill(NaN), 1),
      () => vae.decode(new Float32Array(2), 0),
      () => vae.trainStep(digits, 2, { lr: Infinity }),
    ]) {
      try {
        await bad();
        rejections.push("resolved");
      } catch (e) {
        rejections.push(e instanceof Error ? e.message : `not an Error: ${e}`);
      }
    }
    let loadError = null;
    try {
      vae.loadSafetensors(weights.slice(0, 100));
    } catch (e) {
      loadError = e.message;
    }
    const unchanged = (await vae.toSafetensors()).length === saved.length;
    return {
      shape,
      muLength: mu.length,
      logvarLength: logvar.length,
      imagesLength: images.length,
      step,
      rejections,
      loadError,
      unchanged,
      panicked: panicked(),
    };
  });
  assert.deepEqual(result.shape, ["cpu", 2, 400]);
  assert.equal(result.muLength, 4);
  assert.equal(result.logvarLength, 4);
  assert.equal(result.imagesLength, 2 * 784);
  assert.ok(result.step.loss > 0 && Math.abs(result.step.loss - result.step.recon - result.step.kl) < 1e-2);
  for (const message of result.rejections) assert.match(message, /invalid input/);
  assert.match(result.loadError, /truncated/);
  assert.ok(result.unchanged);
  assert.equal(result.panicked, false);
  assert.deepEqual(errors, []);
  await page.close();
});
