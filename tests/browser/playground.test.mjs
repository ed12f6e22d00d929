// The playground's deeper parts as a person uses them, in headless Chromium: training in the tab
// (the loss falls, the map reorganises, the page keeps its frame rate, the run survives a reload and
// round-trips through a downloaded file), a diverging run, the tools built on the current latent
// point, the autoencoder-vs-VAE and conditional-VAE lessons, keyboard access and URL state.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, canvasInk, digest, drawZero, launch, serve, watchErrors } from "./helpers.mjs";

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh context (its own IndexedDB) and a started page. */
async function openPage(query = "") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(server.url + query);
  await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
  return { context, page, errors };
}

const history = (page) => page.evaluate(() => window.vaePlayground.training.history);
/** Section 3, the latent map: a <vae-playground> element shown the page's model. */
const MAP = "#map-card vae-playground";
/** Section 6, the walk: a <vae-playground> element shown the page's model. */
const WALK = "#walk-card vae-playground";
/** Section 7, every dimension: the element's dims view. */
const DIMS = "#dims-card vae-playground";
const inkCount = async (page, id, level = 0.3) => (await canvasInk(page, id)).filter((v) => v > level).length;

/** rAF intervals over `ms` milliseconds, measured in the page. */
function frameIntervals(page, ms) {
  return page.evaluate(
    (ms) =>
      new Promise((resolve) => {
        const gaps = [];
        let last = performance.now();
        const end = last + ms;
        const tick = (now) => {
          gaps.push(now - last);
          last = now;
          if (now < end) requestAnimationFrame(tick);
          else resolve(gaps);
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

test("training in the tab: the loss falls, the map reorganises, frames keep coming, and the run survives a reload", async () => {
  const { context, page, errors } = await openPage("?epochs=3");
  const mapBefore = await digest(page, [MAP, 'canvas[aria-label="Latent map"]']);
  // Sections 4 and 5 (the element) are handed every snapshot and redraw in place.
  await page.waitForFunction(() => [...document.querySelectorAll("#sample-card vae-playground, #manifold-card vae-playground")].every((w) => w.dataset.ready === "true"));
  const samplesCanvas = await page.evaluateHandle(() => document.querySelector("#sample-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Samples"]'));
  // The models the page's elements hold that were handed over as bytes (the page's own sections of
  // the shared runtime: the same module instance as app.js's).
  const heldAsBytes = () => page.evaluate(async () => {
    const rt = await (await import("/web/widget-runtime.js")).runtime();
    return [...rt.models.keys()].filter((key) => key.includes(" bytes:")).length;
  });
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-training=running]");
  // The walk plays while the model trains; the frame rate is measured meanwhile.
  await page.getByRole("button", { name: "Play" }).click();
  await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1, null, { timeout: 60000 });
  const gaps = await frameIntervals(page, 5000);
  const within = gaps.filter((g) => g <= 50).length / gaps.length;
  console.log(
    `frames during training: ${gaps.length} in 5 s, p50 ${percentile(gaps, 50).toFixed(1)} ms, p95 ${percentile(gaps, 95).toFixed(1)} ms, ` +
      `${(100 * within).toFixed(1)}% within 50 ms`,
  );
  await page.getByRole("button", { name: "Pause", exact: true }).click();

  await page.waitForFunction(() => window.vaePlayground.training.history.epoch.length >= 1, null, { timeout: 120000 });
  const sps = await page.evaluate(() => window.vaePlayground.stepsPerSecond);
  console.log(`training speed: ${sps.toFixed(1)} steps/s at batch 128 (${(128 * sps).toFixed(0)} digits/s), latent 2, hidden 256`);
  assert.equal(await page.locator("#model-select").inputValue(), "yours", "the page follows the model being trained");
  assert.notEqual(await digest(page, [MAP, 'canvas[aria-label="Latent map"]']), mapBefore, "the map shows the new model's codes");
  assert.match(await page.locator("#train-progress-text").textContent(), /Epoch \d of 3 · step \d+ · [\d.]+ steps\/s/);
  assert.ok((await page.locator("#train-progress").evaluate((p) => p.value)) > 0);

  await page.waitForSelector("body[data-training=finished]", { timeout: 180000 });
  // Every replaced version of the model was let go: the elements' runtime keeps statistics (their
  // wasm projection) and the test digits' scores only for models it still holds, however many
  // snapshots arrived.
  const live = await page.evaluate(async () => {
    const rt = await (await import("/web/widget-runtime.js")).runtime();
    const keys = [...rt.stats.keys(), ...rt.scores.keys()];
    return { stats: rt.stats.size, stray: keys.filter((v) => !rt.objects.has(v)).length, snapshots: Number(document.body.dataset.snapshots) };
  });
  console.log(`after ${live.snapshots} snapshots the elements' runtime holds statistics of ${live.stats} models`);
  assert.ok(live.snapshots >= 3);
  assert.equal(live.stray, 0, `statistics kept for ${live.stray} replaced models`);
  const h = await history(page);
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const early = mean(h.loss.slice(0, 10));
  const late = mean(h.loss.slice(-10));
  console.log(`loss: first 10 steps ${early.toFixed(1)} → last 10 steps ${late.toFixed(1)} nats; test −ELBO per epoch ${h.testNegElbo.map((v) => v.toFixed(1)).join(", ")}`);
  assert.ok(late < 0.7 * early, `the loss falls (${early} → ${late})`);
  assert.equal(h.testNegElbo.length, 3);
  assert.ok(h.testNegElbo[2] < h.testNegElbo[0], "test −ELBO improves over the epochs");
  assert.ok(h.testNegElbo[2] < 200, `a recognisable model after 3 epochs (test −ELBO ${h.testNegElbo[2]})`);
  assert.match(await page.locator("#train-status").textContent(), /Finished 3 epochs/);
  // Section 4 (the element) decodes the prior with the trained model.
  await page.waitForSelector("body[data-elements-show=yours]");
  assert.ok((await inkCount(page, ["#sample-card vae-playground", 'canvas[aria-label="Samples"]'])) > 40, "the prior samples are digits, not blank");
  assert.ok(await samplesCanvas.evaluate((c) => c.isConnected), "section 4 redrew each snapshot in place, never rebuilt");
  const snapshots = Number(await page.evaluate(() => document.body.dataset.snapshots));
  assert.equal(await heldAsBytes(), 1, `after ${snapshots} snapshots, sections 1 to 8 share one model, the newest: every replaced one was let go`);
  // The trained model reconstructs a drawing, and once the model stops changing, ranks it among
  // the test digits (not for every snapshot while it trained).
  await drawZero(page);
  await page.waitForFunction(() => document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("elbo-text").textContent !== "—");
  await page.waitForFunction(() => /more unusual than \d+% of 200 test digits/.test(document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("logp-text").textContent), null, { timeout: 60000 });
  await page.waitForSelector("body[data-saved]");
  const steps = h.step.length;

  // Reload: the model, its history and its settings are back.
  await page.reload();
  await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
  await page.waitForFunction(() => window.vaePlayground.training?.weights);
  assert.match(await page.locator("#train-status").textContent(), /is back \(\d+ steps, 3 epochs\)/);
  assert.equal((await history(page)).step.length, steps, "the loss history survived the reload");
  assert.equal(await page.locator("#model-select").inputValue(), "yours", "the URL brought back the view of your model");
  assert.equal(await page.getByRole("button", { name: "Resume training" }).isEnabled(), true);
  assert.equal(await page.locator("#train-latent").isDisabled(), true, "the architecture is fixed for a trained model");

  // Download it, then upload a broken file (rejected, nothing changes) and the real one.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download .safetensors" }).click()]);
  const file = join(tmpdir(), `vae-test-${process.pid}.safetensors`);
  await download.saveAs(file);
  const bytes = await readFile(file);
  assert.ok(bytes.length > 100000, `the download holds the weights (${bytes.length} bytes)`);
  const bad = join(tmpdir(), `vae-bad-${process.pid}.safetensors`);
  await writeFile(bad, bytes.subarray(0, 5000));
  const weightsBefore = await page.evaluate(() => window.vaePlayground.training.weights.length);
  await page.locator("#train-upload").setInputFiles(bad);
  await page.waitForSelector("body[data-upload=rejected]");
  assert.match(await page.locator("#train-status").textContent(), /Could not load .*Nothing was changed/);
  assert.equal(await page.evaluate(() => window.vaePlayground.training.weights.length), weightsBefore);
  // A checkpoint saved by PyTorch (the parity fixture: hidden 16, latent 3) loads as it is.
  await page.locator("#train-upload").setInputFiles(join(ROOT, "crates/core/tests/fixtures/parity_vae.safetensors"));
  await page.waitForSelector("body[data-upload=ok]");
  assert.match(await page.locator("#train-status").textContent(), /Loaded parity_vae\.safetensors: a vae with latent 3 and hidden 16/);
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("your latent-3 VAE"));
  await page.evaluate(() => delete document.body.dataset.upload);
  await page.locator("#train-upload").setInputFiles(file);
  await page.waitForSelector("body[data-upload=ok]");
  assert.match(await page.locator("#train-status").textContent(), /Loaded .*a vae with latent 2 and hidden 256/);

  // Reset asks twice, then forgets the model.
  await page.getByRole("button", { name: "Reset" }).click();
  assert.match(await page.locator("#train-status").textContent(), /click again/);
  await page.getByRole("button", { name: "Really reset? Click again" }).click();
  await page.waitForSelector("body[data-training=reset]");
  assert.equal(await page.locator("#model-select option[value=yours]").count(), 0);
  assert.equal(await page.getByRole("button", { name: "Train", exact: true }).isEnabled(), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a diverging run stops, says so, and keeps finite weights", async () => {
  const { context, page, errors } = await openPage("?lr=1");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-training=diverged]", { timeout: 60000 });
  const status = await page.locator("#train-status").textContent();
  console.log(`divergence message: ${status}`);
  assert.match(status, /Training stopped — training diverged: (the loss became (NaN|inf)|the (reconstruction|KL) term jumped to [\d.e+]+ nats)/i);
  assert.match(status, /rolled back/);
  // The rolled-back model still works, and is the sound one, not an exploded one: a drawing's
  // ELBO is in the minus hundreds of nats (the exploded weights gave ~−10⁸).
  await drawZero(page);
  await page.waitForFunction(() => /^−\d+\.\d nats/.test(document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("elbo-text").textContent));
  const elbo = Number((await page.locator("#elbo-text").textContent()).match(/^−([\d.]+) nats/)[1]);
  assert.ok(elbo < 2000, `the kept model's ELBO of a drawing is −${elbo} nats`);
  assert.equal(await page.getByRole("button", { name: "Resume training" }).isEnabled(), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a request the trainer refuses fails where it was made: the panel says why, nothing is left waiting, and a sound setting then trains", async () => {
  const { context, page, errors } = await openPage("?epochs=1");
  // A width the controls never offer, as a damaged control would send it: the worker refuses the
  // create request (the module checks its options before it allocates).
  await page.evaluate(() => {
    const hidden = document.getElementById("train-hidden");
    hidden.add(new Option("0", "0"));
    hidden.value = "0";
  });
  const outcome = await page.evaluate(() => Promise.race([
    window.vaePlayground.training.start().then(() => "settled"),
    new Promise((resolve) => setTimeout(() => resolve("still waiting after 30 s"), 30000)),
  ]));
  assert.equal(outcome, "settled", "start() settles when the worker refuses its request");
  const status = await page.locator("#train-status").textContent();
  console.log(`after a refused create request: ${status}`);
  assert.match(status, /^Training stopped: invalid input: option hidden must be from 1 to \d+, got 0\. Your model is unchanged\.$/);
  assert.equal(await page.evaluate(() => window.vaePlayground.training.requests.pending), 0, "no request is left open");
  assert.notEqual(await page.evaluate(() => document.body.dataset.training), "running");
  // The same worker takes the next request: a sound width trains.
  await page.locator("#train-hidden").selectOption("64");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-training=running]", { timeout: 60000 });
  await page.waitForFunction(() => window.vaePlayground.training.history.step.length > 3, null, { timeout: 60000 });
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a crash in the training worker restarts it on a fresh module from the last snapshot, and training goes on", async () => {
  const { context, page, errors } = await openPage("?epochs=2");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1, null, { timeout: 60000 });
  // A failed allocation: wasm aborts without running the panic hook, the hardest case to notice.
  await page.evaluate(() => window.vaePlayground.training.worker.postMessage({ type: "debugCrash", how: "alloc" }));
  await page.waitForSelector("body[data-restarted]", { timeout: 60000 });
  const status = await page.locator("#train-status").textContent();
  console.log(`after the worker crashed: ${status}`);
  assert.match(status, /The training module crashed \(.*\)\. It was restarted from your last saved weights \(step \d+\) and training goes on/);
  const from = Number(await page.evaluate(() => document.body.dataset.restarted));
  await page.waitForFunction((from) => window.vaePlayground.training.steps > from + 5 && document.body.dataset.training === "running", from, { timeout: 60000 });
  const h = await history(page);
  assert.ok(h.step.every((s, i) => i === 0 || s > h.step[i - 1]), "the loss history has no steps twice after the restart");
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a damaged saved record is refused whole and can be cleared; a second tab cannot overwrite a run in training", async () => {
  const { context, page, errors } = await openPage();
  // Puts a record in the page's IndexedDB, built in the page: `spec.raw` as it is, or the shipped
  // weights (cut short if `spec.cut`) with `spec.history` and `spec.steps`.
  const weights = [...(await readFile(join(ROOT, "web/assets/vae-latent2.safetensors")))];
  const store = (spec) =>
    page.evaluate(
      ({ spec, weights }) =>
        new Promise((resolve, reject) => {
          const bytes = new Uint8Array(spec.cut ? weights.slice(0, 3000) : weights);
          const record = spec.raw ?? { weights: bytes, settings: { kind: "vae" }, history: spec.history, steps: spec.steps, savedAt: 0 };
          const open = indexedDB.open("vae-playground", 1);
          open.onupgradeneeded = () => open.result.createObjectStore("runs");
          open.onsuccess = () => {
            const tx = open.result.transaction("runs", "readwrite");
            tx.objectStore("runs").put(record, "current");
            tx.oncomplete = () => resolve(open.result.close());
            tx.onerror = () => reject(tx.error);
          };
        }),
      { spec, weights },
    );
  const damaged = [
    [{ raw: { weights: "not bytes", settings: {} } }, /its weights are missing/],
    [{ raw: 42 }, /it is not a saved run/],
    [{ history: { step: [1, 2], loss: [3], recon: [1, 2], kl: [1, 2] } }, /its loss history has columns of different lengths/],
    [{ history: { step: ["1"], loss: [3], recon: [1], kl: [1] } }, /its loss history \(step\) is damaged/],
    [{ steps: -3 }, /its step or epoch count is not a whole number/],
    [{ cut: true }, /truncated/],
  ];
  for (const [index, [spec, expected]] of damaged.entries()) {
    await store(spec);
    // The first is found as the page starts; the others by the same restore() called again
    // (a reload each took ~8 s and tests nothing more).
    if (index === 0) {
      await page.reload();
      await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
    } else {
      assert.equal(await page.evaluate(() => window.vaePlayground.training.restore()), false);
    }
    const status = await page.locator("#train-status").textContent();
    assert.match(status, /Your saved model could not be restored: .*Nothing of it was applied/, status);
    assert.match(status, expected, status);
    assert.equal(await page.evaluate(() => window.vaePlayground.training.weights), null, "nothing of the damaged record was applied");
    assert.equal((await history(page)).step.length, 0);
  }
  // Reset clears the damaged copy; the next load is clean.
  await page.getByRole("button", { name: "Reset" }).click();
  await page.getByRole("button", { name: "Really reset? Click again" }).click();
  await page.waitForSelector("body[data-training=reset]");
  await page.reload();
  await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
  assert.doesNotMatch(await page.locator("#train-status").textContent(), /could not be restored/);

  // A run saved before the test columns were named for what they hold comes back under today's names.
  const old = { step: [1, 2], loss: [300, 250], recon: [290, 240], kl: [10, 10], epoch: [1], elboSampled: [210.5], elboMean: [205.25] };
  await store({ history: old, steps: 2 });
  await page.reload();
  await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
  assert.match(await page.locator("#train-status").textContent(), /is back \(2 steps/);
  const restored = await history(page);
  assert.deepEqual([restored.testNegElbo, restored.testScoreAtMean, restored.elboSampled], [[210.5], [205.25], undefined]);
  await page.getByRole("button", { name: "Reset" }).click();
  await page.getByRole("button", { name: "Really reset? Click again" }).click();
  await page.waitForSelector("body[data-training=reset]");

  // Two tabs: while one trains, the other can neither train, upload nor reset, and hears of saves.
  const other = await context.newPage();
  const otherErrors = watchErrors(other);
  await other.goto(server.url);
  await other.waitForSelector("body[data-started=true]", { timeout: 60000 });
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForSelector("body[data-saved]", { timeout: 60000 });
  await other.waitForSelector("body[data-other-tab=saved]", { timeout: 30000 });
  assert.match(await other.locator("#train-status").textContent(), /Another tab of this playground saved its model/);
  await other.getByRole("button", { name: "Train", exact: true }).click();
  await other.getByRole("button", { name: "Train", exact: true }).click(); // confirmed: train anyway
  await other.waitForSelector("body[data-lock-refused=training]");
  assert.match(await other.locator("#train-status").textContent(), /Training already runs in another tab/);
  await other.locator("#train-upload").setInputFiles(join(ROOT, "crates/core/tests/fixtures/parity_vae.safetensors"));
  await other.waitForFunction(() => /^Loading parity_vae\.safetensors has to wait/.test(document.getElementById("train-status").textContent));
  assert.equal(await other.evaluate(() => window.vaePlayground.training.weights), null, "the refused upload changed nothing");
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
  await page.waitForFunction(() => window.vaePlayground.training.lockRelease === null);
  // Once the first tab paused, the second may take over.
  await other.evaluate(() => delete document.body.dataset.lockRefused);
  await other.locator("#train-upload").setInputFiles(join(ROOT, "crates/core/tests/fixtures/parity_vae.safetensors"));
  await other.waitForSelector("body[data-upload=ok]");
  assert.deepEqual(errors, []);
  assert.deepEqual(otherErrors, []);
  await context.close();
});

test("the current point drives the sliders, the walk's ends and latent arithmetic; the map works from the keyboard", async () => {
  const { context, page, errors } = await openPage("?model=20");
  // Section 7 is the element's dims view (its shadow root keeps the ids #sliders and #kl-bars).
  await page.locator("#dims-card vae-playground .view.dims[data-kl='20']").waitFor();
  assert.equal(await page.locator("#sliders input").count(), 20, "one slider per latent dimension");
  assert.equal(await page.locator("#kl-bars li").count(), 20, "per-dimension KL of the latent-20 model");
  assert.match(await page.locator("#dims-card vae-playground").getByText(/nats in all;/).textContent(), /^\d+\.\d nats in all; \d+ of 20 dimensions carry more than 0\.1 nats/);
  // The map of a 20-D space is a PCA projection; arrow keys pick points on it.
  const map = page.getByLabel("Latent map");
  await map.focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowUp");
  await page.waitForSelector("body[data-picked]");
  const picked = (await page.evaluate(() => document.body.dataset.picked)).split(",").map(Number);
  assert.ok(picked[0] > 0 && picked[1] > 0, `arrow keys move the pick right and up (${picked})`);
  // The picked point is the sliders' point too.
  await page.waitForFunction(() => {
    const z = window.vaePlayground.state.current?.z;
    const outputs = [...document.querySelector("#dims-card vae-playground").shadowRoot.querySelectorAll("#sliders output")];
    return window.vaePlayground.state.current?.source === "map" && outputs.length === 20 && outputs.every((o, i) => o.textContent === Number(z[i]).toFixed(2));
  }, null, { timeout: 10000 });

  // A slider moved from the keyboard changes the decoded point.
  const view = await digest(page, [DIMS, 'canvas[aria-label="Decoded current point"]']);
  const slider = page.getByLabel("z1", { exact: true });
  await slider.focus();
  for (let i = 0; i < 30; i++) await page.keyboard.press("ArrowRight");
  await page.waitForTimeout(200);
  assert.notEqual(await digest(page, [DIMS, 'canvas[aria-label="Decoded current point"]']), view, "moving z1 changes the decoded digit");
  // The slider's point becomes the page's current point, decoded in section 2, which says so.
  await page.waitForFunction(() => window.vaePlayground.state.current?.source === "sliders");
  await page.waitForFunction(() => /set with the sliders$/.test(document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("mu-text").textContent));
  const moved = await page.evaluate(() => Array.from(window.vaePlayground.state.current.z));
  assert.equal(moved.length, 20);

  // Start of the walk from a drawing, end from a test digit; the morph plays between them.
  await drawZero(page);
  await page.waitForFunction(() => window.vaePlayground.state.current?.source === "drawing");
  // The map (section 3) places the drawing at the μ the page found for it.
  await page.waitForFunction(() => {
    const shown = document.querySelector("#map-card vae-playground").getState().latent;
    const z = window.vaePlayground.state.current.z;
    return shown?.length === 20 && shown.every((v, i) => Math.abs(v - z[i]) < 1e-5);
  }, null, { timeout: 10000 });
  await page.getByRole("button", { name: "Start ← current point" }).click();
  await page.getByRole("button", { name: "A ← current" }).click();
  await page.getByRole("button", { name: "Load a test digit" }).click();
  await page.waitForFunction(() => window.vaePlayground.updates > 1);
  await page.waitForTimeout(200);
  await page.getByRole("button", { name: "End ← current point" }).click();
  await page.getByRole("button", { name: "B ← current" }).click();
  assert.equal(await page.getByLabel("Path").inputValue(), "morph");
  assert.ok((await inkCount(page, [WALK, 'canvas[aria-label="Walk start"]'], 0.3)) > 5 && (await inkCount(page, [WALK, 'canvas[aria-label="Walk end"]'], 0.3)) > 5);
  await page.evaluate(() => (window.vaePlayground.walkFrames.length = 0));
  await page.getByRole("button", { name: "Play" }).click();
  await page.waitForFunction(() => window.vaePlayground.walkFrames.length > 20);
  const a = await digest(page, [WALK, 'canvas[aria-label="Latent walk"]']);
  await page.waitForFunction(() => window.vaePlayground.walkFrames.length > 80);
  assert.notEqual(await digest(page, [WALK, 'canvas[aria-label="Latent walk"]']), a, "the morph animates");
  await page.getByRole("button", { name: "Pause", exact: true }).click();

  // C from a point on the map, then A − B + C appears.
  await map.focus();
  await page.keyboard.press("ArrowLeft");
  await page.getByRole("button", { name: "C ← current" }).click();
  await page.waitForSelector("body[data-arithmetic=done]");
  assert.ok((await inkCount(page, ["#arith-card vae-playground", 'canvas[aria-label="A minus B plus C"]'], 0.3)) > 5, "the result is decoded");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the lessons side by side: the autoencoder's codes sprawl, the VAE's fill the prior; the conditional VAE draws the digit asked for", async () => {
  const { context, page, errors } = await openPage();
  // Sections 10 and 11 are the <vae-playground> element.
  const widgetReady = (card) => page.waitForFunction((card) => document.querySelector(`${card} vae-playground`).dataset.ready === "true", card, { timeout: 30000 });
  await page.locator("#compare-card").scrollIntoViewIfNeeded();
  await widgetReady("#compare-card");
  const notes = await page.locator("#compare-card vae-playground").evaluate((w) =>
    Object.fromEntries([...w.shadowRoot.querySelectorAll("figure")].map((f) => [f.querySelector("figcaption").textContent.split(":")[0], f.querySelector("p").textContent])));
  const share = (title) => Number(notes[title].match(/(\d+)% of test codes/)[1]);
  const [ae, vae] = [share("Autoencoder"), share("VAE")];
  console.log(`test codes inside the prior's 95% circle: autoencoder ${ae}%, VAE ${vae}%`);
  assert.ok(vae > 60 && ae < vae - 20, `the VAE's codes fill the prior (${vae}%), the autoencoder's do not (${ae}%)`);

  await page.locator("#cvae-card").scrollIntoViewIfNeeded();
  await widgetReady("#cvae-card");
  const samples = ["#cvae-card vae-playground", 'canvas[aria-label="Generated digits"]'];
  const updates = () => page.locator("#cvae-card vae-playground").evaluate((w) => Number(w.dataset.updates ?? 0));
  const shown = await updates();
  await page.getByLabel("Digit", { exact: true }).selectOption("7");
  await page.waitForFunction((shown) => {
    const w = document.querySelector("#cvae-card vae-playground");
    return w.digit === "7" && Number(w.dataset.updates) > shown;
  }, shown);
  const before = await digest(page, samples);
  assert.ok((await inkCount(page, samples)) > 40);
  await page.getByRole("button", { name: "New styles" }).click();
  await page.waitForFunction((b) => {
    const c = document.querySelector("#cvae-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Generated digits"]');
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i]) | 0;
    return h !== b;
  }, before);
  assert.deepEqual(errors, []);
  await context.close();
});

test("junk in the URL is left out: the page starts with its defaults and trains", async () => {
  const junk = "?model=%3Cscript%3E&walk=..%2F&speed=Infinity&digit=11&label=x&latent=abc&hidden=-1&likelihood=poisson" +
    "&beta=NaN&lr=1e9&batch=0.5&epochs=1e9&seed=1e300&backend=gpu!!&kind=__proto__";
  const { context, page, errors } = await openPage(junk);
  const values = await page.evaluate(() =>
    Object.fromEntries(["model-select", "train-latent", "train-hidden", "train-likelihood", "train-beta", "train-lr", "train-batch", "train-epochs", "train-seed", "train-backend", "train-kind"].map((id) => [id, document.getElementById(id).value])),
  );
  const defaults = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("select, input")].filter((el) => el.id).map((el) => [el.id, el.tagName === "SELECT" ? ([...el.options].find((o) => o.defaultSelected) ?? el.options[0]).value : el.defaultValue])),
  );
  for (const [id, value] of Object.entries(values)) assert.equal(value, defaults[id], `${id} kept its default, not the URL's junk`);
  assert.equal(await page.locator("#cvae-card vae-playground").getAttribute("digit"), "3", "the conditional VAE's section kept its digit, not digit=11");
  assert.equal(await page.locator("#draw-card vae-playground").getAttribute("digit"), "2", "section 1 kept its digit, not label=x");
  assert.equal(await page.locator(WALK).getAttribute("walk"), null, "the walk kept its path, not walk=../");
  assert.equal(await page.locator(WALK).getAttribute("speed"), null, "the walk kept its speed, not speed=Infinity");
  assert.equal(await page.getByLabel("Path").inputValue(), "circle");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForFunction(() => window.vaePlayground.training.history.step.length > 3, null, { timeout: 60000 });
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("the URL carries the view and the settings; every control has an accessible name", async () => {
  const { context, page, errors } = await openPage("?model=20&walk=random&digit=7&label=4&beta=4&lr=0.0003");
  assert.equal(await page.locator("#model-select").inputValue(), "20");
  // An old link's "random" is the element's "wander".
  assert.equal(await page.getByLabel("Path").inputValue(), "wander");
  assert.equal(await page.locator("#cvae-card vae-playground").getAttribute("digit"), "7", "the link's digit reaches section 11's element");
  assert.equal(await page.locator("#train-beta").inputValue(), "4");
  assert.equal(await page.locator("#train-lr").inputValue(), "0.0003");
  // The link's label is the digit section 1 tells a conditional model, and the map's too.
  assert.equal(await page.locator("#draw-card vae-playground").getAttribute("digit"), "4");
  await page.waitForFunction(() => document.querySelector("#map-card vae-playground").getAttribute("digit") === "4");
  await page.getByLabel("Path").selectOption("circle");
  await page.getByLabel("Model", { exact: true }).selectOption("2");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("latent-2"));
  const query = new URLSearchParams(new URL(page.url()).search);
  assert.equal(query.get("walk"), null, "a default value leaves the URL");
  assert.equal(query.get("model"), null);
  assert.equal(query.get("beta"), "4");
  assert.equal(query.get("digit"), "7");
  assert.equal(query.get("label"), "4");
  // Section 11's element shows the link's digit, and the digit chosen there goes into the URL.
  await page.locator("#cvae-card").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#cvae-card vae-playground").dataset.ready === "true", null, { timeout: 30000 });
  const digit = page.locator("#cvae-card").getByLabel("Digit", { exact: true });
  assert.equal(await digit.inputValue(), "7");
  await digit.selectOption("5");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("digit") === "5");
  await digit.selectOption("3");
  await page.waitForFunction(() => !new URL(location.href).searchParams.has("digit"));
  assert.equal(new URL(page.url()).searchParams.get("beta"), "4", "the other settings stay in the URL");

  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll("button, input, select, canvas, progress")]
      .filter((el) => !el.closest("[hidden]") && !el.parentElement.closest("[role=img][aria-label]"))
      .filter((el) => {
        const name = el.getAttribute("aria-label") || el.labels?.[0]?.textContent || (el.tagName === "BUTTON" && el.textContent.trim());
        return !name || !name.trim();
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, [], "controls without an accessible name");
  // Tab reaches the map and the sliders.
  const focusable = await page.evaluate(() => [document.querySelector("#map-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Latent map"]').tabIndex, document.querySelector("#draw-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Drawing pad"]').tabIndex]);
  assert.deepEqual(focusable, [0, 0]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a Gaussian model with a learned σₓ trains in the tab, shows its σₓ, and says its nats are a density's", async () => {
  const { context, page, errors } = await openPage("?likelihood=gaussian&sigma=0.2&sigma-rule=learned&lr=0.003");
  assert.equal(await page.getByLabel("σₓ (Gaussian)").inputValue(), "0.2");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 1, null, { timeout: 90000 });
  await page.waitForFunction(() => /σₓ = [\d.]+/.test(document.getElementById("train-progress-text").textContent), null, { timeout: 60000 });
  await page.getByRole("button", { name: "Pause training" }).click();
  await page.waitForSelector("body[data-training=paused]", { timeout: 60000 });
  const shown = Number((await page.locator("#train-progress-text").textContent()).match(/σₓ = ([\d.]+)/)[1]);
  console.log(`learned σₓ after ${(await history(page)).step.length} steps: ${shown} (from 0.2)`);
  // Untrained reconstructions miss by far more than 0.2 per pixel at first, then by less: either
  // way a learned σₓ moves off its start.
  assert.ok(Math.abs(shown - 0.2) > 0.005 && shown > 0.01 && shown < 1, `σₓ = ${shown}`);
  assert.equal(await page.locator("#model-select").inputValue(), "yours");
  await drawZero(page);
  await page.waitForFunction(() => /Gaussian density/.test(document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("score-note").textContent), null, { timeout: 30000 });
  const note = await page.locator("#score-note").textContent();
  assert.match(note, /σₓ = 0\.\d{3}, its constant 392·ln\(2πσₓ²\) included.*cannot be compared with a Bernoulli model's/);
  assert.deepEqual(errors, []);
  await context.close();
});
