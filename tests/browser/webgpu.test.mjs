// WebGPU in the page, in headless Chromium: with --enable-unsafe-webgpu (SwiftShader's adapter,
// WebGPU on the CPU: correct but slow, so the models here are small) the trainer reports the GPU
// and trains; without it the page says it uses the CPU and why; a lost GPU device mid-run moves
// training to the CPU with the last weights; the backend can be switched without losing the model.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, serve, watchErrors } from "./helpers.mjs";

let server;
before(async () => {
  server = await serve();
});
after(async () => {
  await server?.close();
});

const SMALL = "?hidden=64&batch=32&epochs=1";
const steps = (page) => page.evaluate(() => window.vaePlayground.training.history.step.length);

async function openPage(browser, query) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(120000);
  const errors = watchErrors(page);
  await page.goto(server.url + query);
  await page.waitForSelector("body[data-started=true]");
  return { page, errors };
}

test("with a WebGPU adapter the trainer runs on the GPU; a lost device moves it to the CPU with the weights intact", async () => {
  const browser = await launch({ webgpu: true });
  // SwiftShader is a software adapter, which "auto" passes over: ask for WebGPU by name.
  const { page, errors } = await openPage(browser, `${SMALL}&backend=webgpu`);
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-train-backend=webgpu]");
  assert.equal(await page.locator("#train-backend-status").textContent(), "Training runs on your GPU (WebGPU).");
  await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1 && window.vaePlayground.training.history.step.length >= 3);
  const before = await page.evaluate(() => window.vaePlayground.training.steps);
  console.log(`WebGPU (SwiftShader): ${await steps(page)} steps before the device is lost`);

  await page.evaluate(() => window.vaePlayground.training.worker.postMessage({ type: "debugLoseDevice" }));
  await page.waitForSelector("body[data-recovered=true]");
  await page.waitForSelector("body[data-train-backend=cpu]");
  const status = await page.locator("#train-status").textContent();
  console.log(`after the device loss: ${status}`);
  assert.match(status, /Your GPU stopped working .*Training goes on on the CPU from the last saved weights \(step \d+\)/);
  assert.match(await page.locator("#train-backend-status").textContent(), /on the CPU \(WebAssembly\) since the GPU failed/);
  // Training goes on from the saved step, not from scratch, and finishes its epoch on the CPU.
  await page.waitForSelector("body[data-training=finished]", { timeout: 240000 });
  const h = await page.evaluate(() => window.vaePlayground.training.history);
  assert.ok(h.step.at(-1) > before, "steps continue after the recovery");
  assert.ok(h.testNegElbo.length === 1 && Number.isFinite(h.testNegElbo[0]) && h.testNegElbo[0] < 300, `test −ELBO ${h.testNegElbo}`);
  assert.ok(h.loss.every(Number.isFinite));
  assert.deepEqual(errors, []);
  await browser.close();
});

test("a GPU that computes wrong answers is caught by the spot-check; training goes on on the CPU from the last agreeing snapshot", async () => {
  const browser = await launch({ webgpu: true });
  const { page, errors } = await openPage(browser, `${SMALL}&backend=webgpu`);
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-train-backend=webgpu]");
  await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1);
  const agreed = await page.evaluate(() => window.vaePlayground.training.weightsStep);
  // From now on every read from the GPU comes back 1% off, as from a kernel that was skipped.
  await page.evaluate(() => window.vaePlayground.training.worker.postMessage({ type: "debugGpuFault" }));
  await page.waitForSelector("body[data-recovered=true]");
  await page.waitForSelector("body[data-train-backend=cpu]");
  const status = await page.locator("#train-status").textContent();
  console.log(`after the injected GPU fault: ${status}`);
  assert.match(status, /Your GPU stopped working \(.*the GPU's answers disagreed with the CPU's at step \d+ .*\)\. Training goes on on the CPU from the last saved weights \(step (\d+)\)/);
  const resumedFrom = Number(status.match(/last saved weights \(step (\d+)\)/)[1]);
  assert.ok(resumedFrom >= agreed, `resumed from step ${resumedFrom}, the last agreeing snapshot was at ${agreed} or later`);
  // Training goes on on the CPU from there, with sane losses.
  await page.waitForFunction((from) => window.vaePlayground.training.steps > from + 10, resumedFrom);
  const h = await page.evaluate(() => window.vaePlayground.training.history);
  assert.ok(h.loss.every((v) => Number.isFinite(v) && v < 1000), `losses ${h.loss.slice(-5)}`);
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]");
  assert.deepEqual(errors, []);
  await browser.close();
});

test("without WebGPU the page says it trains on the CPU and why", async () => {
  const browser = await launch();
  const { page, errors } = await openPage(browser, SMALL);
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-train-backend=cpu]");
  const text = await page.locator("#train-backend-status").textContent();
  console.log(`without the flag: ${text}`);
  assert.match(text, /^Training runs on the CPU \(WebAssembly\) — WebGPU not available: (no WebGPU adapter is available|this browser does not offer WebGPU)\.$/);
  await page.waitForFunction(() => window.vaePlayground.training.history.step.length > 5);
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]");
  assert.deepEqual(errors, []);
  await browser.close();
});

test("with only a software WebGPU adapter, \"auto\" trains on the CPU and says why", async () => {
  const browser = await launch({ webgpu: true });
  const { page, errors } = await openPage(browser, SMALL);
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-train-backend=cpu]");
  const text = await page.locator("#train-backend-status").textContent();
  console.log(`auto with SwiftShader: ${text}`);
  assert.match(text, /^Training runs on the CPU \(WebAssembly\) — WebGPU not available: the only adapter is a software renderer, slower than the CPU/);
  await page.waitForFunction(() => window.vaePlayground.training.history.step.length > 5);
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]");
  assert.deepEqual(errors, []);
  await browser.close();
});

test("switching backend mid-run keeps the model and its step count", async () => {
  const browser = await launch({ webgpu: true });
  const { page, errors } = await openPage(browser, `${SMALL}&backend=cpu`);
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-train-backend=cpu]");
  await page.waitForFunction(() => window.vaePlayground.training.history.step.length > 20);
  await page.getByLabel("Train on").selectOption("webgpu");
  await page.waitForSelector("body[data-train-backend=webgpu]");
  const at = await page.evaluate(() => window.vaePlayground.training.steps);
  const seen = await steps(page);
  await page.waitForFunction((n) => window.vaePlayground.training.history.step.length > n + 1, seen);
  const h = await page.evaluate(() => window.vaePlayground.training.history);
  assert.ok(at > 20, `the WebGPU worker took over at step ${at}`);
  assert.ok(h.step.at(-1) > at, "steps continue from there");
  // Same model: its loss carries on near where the CPU left it rather than restarting high.
  const cpuLast = h.loss[seen - 1];
  const gpuFirst = h.loss[seen];
  console.log(`loss at the switch: CPU ${cpuLast.toFixed(1)} → WebGPU ${gpuFirst.toFixed(1)} (a fresh model starts near 540)`);
  assert.ok(gpuFirst < 1.3 * cpuLast, `the loss carries on (${cpuLast} → ${gpuFirst})`);
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]");
  assert.deepEqual(errors, []);
  await browser.close();
});

test("the page's adversarial autoencoder (section 12) trains a fresh model on WebGPU in its worker, its weights can be saved, and when the GPU device is lost the run goes on on the CPU from its last snapshot", async () => {
  const browser = await launch({ webgpu: true });
  const { page, errors } = await openPage(browser, "");
  const widget = page.locator("#aae-card vae-playground");
  await widget.scrollIntoViewIfNeeded();
  await widget.getByLabel("Where to train").selectOption("webgpu");
  await widget.getByRole("button", { name: "Train a fresh one here" }).click();
  // The worker loads the WebGPU build from the folder's gpu/, and the model's self-check there
  // agrees with the CPU before a step is taken.
  await widget.locator(".training[data-backend=webgpu]").waitFor();
  const status = await widget.getByRole("status").filter({ hasText: "Training on" }).textContent();
  console.log(`AAE on WebGPU: ${status}`);
  assert.match(status, /in a Web Worker, on the GPU \(WebGPU\)\.$/);
  assert.equal(await widget.getByLabel("Where to train").isDisabled(), false, "while a run exists it moves the run");
  // Steps go on, and the test codes' figures come back from the GPU.
  await page.waitForFunction(() => {
    const rows = document.querySelector("#aae-card vae-playground").shadowRoot.querySelector(".training").dataset.snapshots ?? "";
    return rows.split(";").some((row) => Number(row.split(":")[0]) >= 3);
  }, null, { timeout: 240000, polling: 500 });
  const rows = await widget.evaluate((w) => w.shadowRoot.querySelector(".training").dataset.snapshots.split(";"));
  for (const row of rows) {
    const mmd2 = Number(row.match(/mmd2=([^,]+)/)[1]);
    const recon = Number(row.match(/recon=([^,]+)/)[1]);
    assert.ok(Number.isFinite(mmd2) && recon > 0 && recon < 2000, row);
  }
  const download = page.waitForEvent("download");
  await widget.getByRole("button", { name: "Save weights" }).click();
  const file = await download;
  assert.match(file.suggestedFilename(), /^adversarial-autoencoder-step\d+\.safetensors$/);

  // The GPU device is lost mid-run (destroyed in the worker, as a driver reset would): the run goes
  // on on the CPU from its last snapshot, and the steps count on from there.
  const worker = page.workers().find((w) => w.url().endsWith("/family-worker.js"));
  const before = await snapshotSteps(widget);
  await worker.evaluate(() => {
    const create = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (...args) {
      if (!globalThis.lost) {
        globalThis.lost = true;
        this.destroy();
      }
      return create.apply(this, args);
    };
  });
  await widget.locator(".training[data-backend=cpu]").waitFor({ timeout: 120000 });
  const goneOn = await widget.getByRole("status").filter({ hasText: "The GPU failed" }).textContent();
  console.log(`AAE after the GPU was lost: ${goneOn}`);
  assert.match(goneOn, /^The GPU failed at step \d+ \(.+\)\. Training goes on in a new worker on the CPU \(WebAssembly\) from the last snapshot, step (\d+); the optimiser's state starts afresh\.$/);
  const from = Number(goneOn.match(/from the last snapshot, step (\d+)/)[1]);
  assert.ok(from >= Math.max(...before), `went on from step ${from}, the last snapshot before the loss was ${Math.max(...before)}`);
  await page.waitForFunction((from) => {
    const rows = document.querySelector("#aae-card vae-playground").shadowRoot.querySelector(".training").dataset.snapshots.split(";");
    return rows.some((row) => Number(row.split(":")[0]) > from + 20);
  }, from, { timeout: 60000, polling: 250 });
  const after = await snapshotSteps(widget);
  assert.ok(after.every((step, i) => i === 0 || step >= after[i - 1]), `snapshot steps never go back: ${after}`);
  await widget.getByRole("button", { name: "Pause" }).click();
  await widget.getByRole("button", { name: "Resume" }).waitFor({ timeout: 60000 });
  console.log(`console errors after the device was destroyed: ${JSON.stringify(errors)}`);
  assert.deepEqual(errors, []);
  await browser.close();
});

test("view=train moves a run from the CPU to WebGPU mid-run, its steps counting on; a GPU that computes wrong answers is caught by the spot-check before its snapshot is shown, and the run goes on on the CPU from the last one that agreed", async () => {
  const browser = await launch({ webgpu: true });
  // The iframe route's page holds the one element (the page's folder, as dist/web/ ships it).
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(120000);
  const errors = watchErrors(page);
  await page.goto(`${server.url}web/embed.html?view=train&backend=cpu&hidden-units=64&batch-size=32`);
  await page.evaluate(() => (document.querySelector("vae-playground").id = "gpu-train"));
  const widget = page.locator("#gpu-train");
  await page.waitForFunction(() => document.querySelector("#gpu-train").dataset.ready === "true");
  await widget.getByRole("button", { name: "Train a fresh one here" }).click();
  await widget.locator(".training[data-backend=cpu]").waitFor();
  await page.waitForFunction(() => (document.querySelector("#gpu-train").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").length >= 2, null, { timeout: 60000, polling: 250 });
  // Moved to the GPU while it runs: it pauses, and a worker there goes on from where it stopped.
  await widget.getByLabel("Where to train").selectOption("webgpu");
  await widget.locator(".training[data-backend=webgpu][data-moved]").waitFor({ timeout: 120000 });
  const moved = await widget.getByRole("status").filter({ hasText: "The run moved" }).textContent();
  console.log(`view=train moved: ${moved}`);
  const [, movedAt] = moved.match(/^The run moved to the GPU \(WebGPU\) at step (\d+) and trains on there; the optimiser's state starts afresh\.$/).map(Number);
  // A snapshot past the move has agreed with the CPU and been shown.
  await page.waitForFunction((at) => document.querySelector("#gpu-train").shadowRoot.querySelector(".training").dataset.snapshots.split(";").some((row) => Number(row.split(":")[0]) > at), movedAt, { timeout: 120000, polling: 250 });
  const agreed = Math.max(...(await snapshotSteps(widget)));
  const steps = await snapshotSteps(widget);
  assert.ok(steps.every((step, i) => i === 0 || step >= steps[i - 1]), `snapshot steps never go back: ${steps}`);
  // From now on every read from the GPU comes back 1% off, as from a kernel that was skipped.
  const worker = page.workers().filter((w) => w.url().endsWith("/family-worker.js")).at(-1);
  await worker.evaluate(() => self.onmessage({ data: { type: "debugGpuFault" } }));
  await widget.locator(".training[data-backend=cpu]").waitFor({ timeout: 120000 });
  const said = await widget.getByRole("status").filter({ hasText: "The GPU failed" }).textContent();
  console.log(`view=train after the injected GPU fault: ${said}`);
  const [, from] = said.match(/^The GPU failed at step \d+ \(the GPU's answers disagreed with the CPU's at step \d+ \(z = μ scores of 100 test digits off by up to [\d.]+%\)\)\. Training goes on in a new worker on the CPU \(WebAssembly\) from the last snapshot, step (\d+)/).map(Number);
  assert.ok(from >= agreed, `went on from step ${from}; a snapshot that agreed was at ${agreed}`);
  await page.waitForFunction((from) => document.querySelector("#gpu-train").shadowRoot.querySelector(".training").dataset.snapshots.split(";").some((row) => Number(row.split(":")[0]) > from), from, { timeout: 60000, polling: 250 });
  const negElbo = (await widget.evaluate((w) => w.shadowRoot.querySelector(".training").dataset.snapshots)).split(";").map((row) => Number(row.match(/negElbo=([^,]+)/)[1]));
  assert.ok(negElbo.every((v) => Number.isFinite(v) && v > 0 && v < 1000), `test −ELBO of every snapshot shown: ${negElbo}`);
  await widget.getByRole("button", { name: "Pause" }).click();
  await widget.getByRole("button", { name: "Resume" }).waitFor({ timeout: 60000 });
  assert.deepEqual(errors, []);
  await browser.close();
});

/** The steps of the training panel's snapshots, in order. */
const snapshotSteps = (widget) => widget.evaluate((w) => w.shadowRoot.querySelector(".training").dataset.snapshots.split(";").map((row) => Number(row.split(":")[0])));
