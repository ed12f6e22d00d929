// The playground page as a person uses it, in headless Chromium: it loads, a stroke drawn with the
// mouse is reconstructed into something that resembles it, the latent map fills in, sampling and
// the model switch work, and a broken module shows the error panel.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { canvasInk, correlation, countCompiles, digest, drawZero, launch, serve, watchErrors } from "./helpers.mjs";

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

async function openPage() {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  return { page, errors };
}

test("a drawn stroke is reconstructed and resembles the drawing", async () => {
  const { page, errors } = await openPage();
  const status = await page.locator("#status").textContent();
  assert.match(status, /Ready/);
  assert.match(status, /CPU/);
  const readyMs = await page.evaluate(() => window.vaePlayground.readyMs);
  console.log(`navigation → ready: ${readyMs.toFixed(0)} ms`);

  await drawZero(page);
  await page.waitForFunction(() => window.vaePlayground.updates > 0 && document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("elbo-text").textContent !== "—");
  // Let the last queued update land.
  await page.waitForTimeout(200);
  const input = await canvasInk(page, "input28");
  const recon = await canvasInk(page, "recon");
  assert.ok(input.reduce((s, v) => s + v, 0) > 20, "the 28×28 input shows the stroke");
  const r = correlation(input, recon);
  console.log(`correlation of reconstruction with input: ${r.toFixed(3)}`);
  assert.ok(r > 0.6, `the reconstruction should resemble the drawing (correlation ${r})`);
  assert.match(await page.locator("#mu-text").textContent(), /^\(-?\d+\.\d\d, -?\d+\.\d\d\)$/);
  // The scores: ELBO ≤ log p(x) (estimated) ≤ the floor's log p(x|z), the gap their difference.
  const text = async (id) => page.locator(`#${id}`).textContent();
  const signed = (t) => Number(t.match(/(−?)(\d+\.\d) nats/).slice(1).join("").replace("−", "-"));
  await page.waitForFunction(() => document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("logp-text").textContent.includes("importance-weighted"));
  const [elbo, logp, gap, floor] = [await text("elbo-text"), await text("logp-text"), await text("gap-text"), await text("floor-text")];
  console.log(`drawn 0: ELBO ${elbo} | log p(x) ${logp} | gap ${gap} | floor ${floor}`);
  assert.match(elbo, /^−\d+\.\d nats, averaged over 256 draws z ~ q\(z\|x\)$/);
  assert.match(logp, /^≈ −\d+\.\d nats \(importance-weighted, 256 draws\)/);
  assert.ok(signed(elbo) < signed(logp) && signed(logp) < signed(floor), `${elbo} < ${logp} < ${floor}`);
  assert.ok(Math.abs(signed(gap) - (signed(logp) - signed(elbo))) <= 0.11, gap);
  assert.match(await text("score-note"), /lower bound on log p\(x\).*Bernoulli likelihood of the grey pixels/);
  // Draws from q(z|x) appear beside it.
  await page.waitForFunction(() => {
    const c = document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("draws");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) ink += d[i] < 128;
    return ink > 200;
  });

  // The latent map fills with the test digits.
  await page.waitForSelector("body[data-map=ready]", { timeout: 30000 });
  const mapInk = await canvasInk(page, ["#map-card vae-playground", 'canvas[aria-label="Latent map"]']);
  assert.ok(mapInk.filter((v) => v > 0.1).length > 50, "the latent map shows points");

  // Clear empties the reconstruction.
  await page.getByRole("button", { name: "Clear" }).click();
  await page.waitForFunction(() => document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("elbo-text").textContent === "—");
  assert.ok((await canvasInk(page, "recon")).every((v) => v < 0.01));
  assert.deepEqual(errors, []);
  await page.close();
});

test("sampling and the model switch work", async () => {
  const { page, errors } = await openPage();
  // Sections 4 and 5 are the element, shown the page's model.
  const SAMPLES = ["#sample-card vae-playground", 'canvas[aria-label="Samples"]'];
  const MANIFOLD = ["#manifold-card vae-playground", 'canvas[aria-label="Manifold"]'];
  const updates = (card) => page.locator(`${card} vae-playground`).evaluate((w) => Number(w.dataset.updates ?? 0));
  const updated = (card, after) => page.waitForFunction(({ card, after }) => Number(document.querySelector(`${card} vae-playground`).dataset.updates ?? 0) > after, { card, after }, { timeout: 10000 });
  await updated("#sample-card", 0);
  await updated("#manifold-card", 0);
  const samplesInk = await canvasInk(page, SAMPLES);
  assert.ok(samplesInk.filter((v) => v > 0.3).length > 40, "the first samples are drawn on load");
  const before = await digest(page, SAMPLES);
  const shown = await updates("#sample-card");
  await page.getByRole("button", { name: "Sample" }).click();
  await updated("#sample-card", shown);
  assert.notEqual(await digest(page, SAMPLES), before, "Sample draws new digits");

  const manifoldInk = await canvasInk(page, MANIFOLD);
  assert.ok(manifoldInk.filter((v) => v > 0.3).length > 60, "the latent-2 manifold is drawn");

  const sampled = await digest(page, SAMPLES);
  await page.getByLabel("Model", { exact: true }).selectOption("20");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("Ready — latent-20"), null, { timeout: 10000 });
  await page.waitForSelector("body[data-elements-show='20']", { timeout: 10000 });
  assert.match(await page.locator("#map-note").textContent(), /20-D space seen flat/);
  assert.match(await page.locator("#manifold-card vae-playground").evaluate((w) => w.shadowRoot.querySelector("p.note").textContent), /pick a latent-2 model/);
  assert.notEqual(await digest(page, SAMPLES), sampled, "section 4 now decodes with the latent-20 model");
  assert.ok((await canvasInk(page, SAMPLES)).filter((v) => v > 0.3).length > 40, "its samples are digits");
  await drawZero(page);
  await page.waitForFunction(() => document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("mu-text").textContent.includes("…"), null, { timeout: 10000 });
  // A click on the 20-D map decodes the point under it, lifted by the nearby test codes.
  await page.waitForSelector("body[data-map=ready]", { timeout: 30000 });
  assert.match(await page.locator("#map-note").textContent(), /other 18 coordinates blended from the test codes drawn nearest/);
  const map = page.getByLabel("Latent map");
  await map.scrollIntoViewIfNeeded();
  const mbox = await map.boundingBox();
  await page.mouse.click(mbox.x + mbox.width * 0.4, mbox.y + mbox.height * 0.45);
  await page.waitForSelector("body[data-picked]");
  assert.match(await page.locator("#mu-text").textContent(), /picked on the map/);
  assert.ok((await canvasInk(page, "recon")).filter((v) => v > 0.3).length > 40, "the picked point decodes to a digit");

  // The plain autoencoder's one number is its reconstruction error, not an ELBO.
  await page.getByLabel("Model", { exact: true }).selectOption("ae");
  await page.waitForFunction(() => document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("elbo-label").textContent === "Reconstruction error", null, { timeout: 10000 });
  assert.match(await page.locator("#elbo-text").textContent(), /^\d+\.\d nats, −log p\(x\|z = μ\)/);
  assert.match(await page.locator("#logp-text").textContent(), /no ELBO, no log p\(x\)/);
  assert.match(await page.locator("#floor-text").textContent(), /^−\d+\.\d nats: log p\(x\|z\) of a decoder/);

  // The conditional VAE is told the digit in section 1, and the map, walk, sliders and arithmetic
  // are told the same one; the link keeps it.
  const told = page.locator("#draw-card").getByLabel("The digit the conditional model is told");
  assert.equal(await told.isVisible(), false, "only a conditional model asks for the digit");
  await page.getByLabel("Model", { exact: true }).selectOption("cvae");
  await page.waitForSelector("body[data-elements-show='cvae']", { timeout: 10000 });
  await told.waitFor({ state: "visible" });
  await told.selectOption("7");
  await page.waitForFunction(() => ["map", "walk", "dims", "arith"].every((card) => document.querySelector(`#${card}-card vae-playground`).getAttribute("digit") === "7"));
  await page.waitForFunction(() => new URL(location.href).searchParams.get("label") === "7");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a module that fails to load shows the error panel", async () => {
  const page = await browser.newPage();
  await page.route("**/*.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.goto(server.url);
  await page.waitForSelector("#error-panel:not([hidden])", { timeout: 30000 });
  assert.ok((await page.locator("#error-message").textContent()).length > 0);
  assert.ok(await page.getByRole("button", { name: "Restart the playground" }).isVisible());
  await page.close();
});

test("a crash inside the module shows the error panel", async () => {
  const { page } = await openPage();
  await page.evaluate(() => {
    try {
      window.vaePlayground.wasm.debugPanic();
    } catch {
      // The panic surfaces here as a RuntimeError; the page learns of it on its next call.
    }
  });
  assert.equal(await page.evaluate(() => window.vaePlayground.wasm.panicked()), true);
  await drawZero(page);
  await page.waitForSelector("#error-panel:not([hidden])", { timeout: 10000 });
  assert.match(await page.locator("#error-message").textContent(), /crashed[\s\S]*debugPanic was called/);
  await page.close();
});

test("a trap that skips the panic hook (a failed allocation) never leaves the page waiting; restart brings it back", async () => {
  const { page } = await openPage();
  const outcome = await page.evaluate(async () => {
    const g = window.vaePlayground;
    return Promise.race([
      g.guard(() => g.wasm.debugCrashLater("alloc", 20), "crash").then(() => "settled"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting after 10 s"), 10000)),
    ]);
  });
  assert.equal(outcome, "settled");
  await page.waitForSelector("#error-panel:not([hidden])", { timeout: 10000 });
  assert.match(await page.locator("#error-message").textContent(), /crashed and must be restarted/);
  assert.equal(await page.evaluate(() => window.vaePlayground.wasm.panicked()), false, "the panic hook never ran: the page saw the trap itself");
  // Later work fails at once instead of hanging on the dead module.
  assert.equal(await page.evaluate(() => window.vaePlayground.guard(() => new Promise(() => {}), "wait").then(() => "settled")), "settled");
  await page.getByRole("button", { name: "Restart the playground" }).click();
  await page.waitForSelector("body[data-started=true]", { timeout: 60000 });
  await drawZero(page);
  await page.waitForFunction(() => window.vaePlayground.updates > 0, null, { timeout: 10000 });
  await page.close();
});

test("the anomaly score ranks a scribble above a clean digit, and the map decodes a clicked point", async () => {
  const { page, errors } = await openPage();
  await page.waitForSelector("body[data-stats=ready]", { timeout: 30000 });
  const unusual = async () => {
    await page.waitForFunction(() => /more unusual than \d+% of 200 test digits/.test(document.querySelector("#draw-card vae-playground").shadowRoot.getElementById("logp-text").textContent), null, { timeout: 60000 });
    await page.waitForTimeout(200); // let the last queued update land
    return Number((await page.locator("#logp-text").textContent()).match(/more unusual than (\d+)%/)[1]);
  };
  await drawZero(page);
  const zero = await unusual();
  console.log(`the 200 test digits' log p(x) estimates (256 draws each) took ${(await page.evaluate(() => window.vaePlayground.rankSeconds)).toFixed(1)} s`);
  await page.getByRole("button", { name: "Clear" }).click();
  // A zigzag scribble over the whole pad.
  const pad = page.getByLabel("Drawing pad");
  const box = await pad.boundingBox();
  await page.mouse.move(box.x + 20, box.y + 20);
  await page.mouse.down();
  for (let k = 0; k < 12; k++) await page.mouse.move(box.x + (k % 2 ? 260 : 20), box.y + 20 + k * 20, { steps: 4 });
  await page.mouse.up();
  const scribble = await unusual();
  console.log(`more unusual than: drawn 0 → ${zero}%, scribble → ${scribble}%`);
  assert.ok(scribble > zero, `a scribble (${scribble}%) should rank as more unusual than a 0 (${zero}%)`);
  assert.ok(scribble >= 90, `a scribble should be more unusual than most digits (${scribble}%)`);

  // Clicking the map's centre decodes z ≈ (0, 0).
  const before = await digest(page, "recon");
  const map = page.getByLabel("Latent map");
  await map.scrollIntoViewIfNeeded();
  const mbox = await map.boundingBox();
  await page.mouse.click(mbox.x + mbox.width / 2, mbox.y + mbox.height / 2);
  await page.waitForSelector("body[data-picked]");
  const [zx, zy] = (await page.evaluate(() => document.body.dataset.picked)).split(",").map(Number);
  assert.ok(Math.abs(zx) < 0.1 && Math.abs(zy) < 0.1, `picked (${zx}, ${zy})`);
  assert.match(await page.locator("#mu-text").textContent(), /picked on the map/);
  assert.notEqual(await digest(page, "recon"), before, "the picked point is decoded into the reconstruction view");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the latent walk plays, animates the decoded frame and pauses", async () => {
  const { page, errors } = await openPage();
  const play = page.getByRole("button", { name: "Play" });
  await play.scrollIntoViewIfNeeded();
  const WALK = ["#walk-card vae-playground", 'canvas[aria-label="Latent walk"]']; // section 6 is the element
  const MAP = ["#map-card vae-playground", 'canvas[aria-label="Latent map"]']; // section 3, in the walk's group
  for (const path of ["circle", "wander", "morph"]) {
    await page.getByLabel("Path").selectOption(path);
    await page.evaluate(() => (window.vaePlayground.walkFrames.length = 0));
    await page.getByRole("button", { name: "Play" }).click();
    await page.waitForFunction(() => window.vaePlayground.walkFrames.length > 20);
    const [first, mapFirst] = [await digest(page, WALK), await digest(page, MAP)];
    await page.waitForFunction(() => window.vaePlayground.walkFrames.length > 60);
    assert.notEqual(await digest(page, WALK), first, `${path}: the decoded frame changes as the walk moves`);
    assert.notEqual(await digest(page, MAP), mapFirst, `${path}: the walker moves on the map`);
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await page.waitForTimeout(100);
    const paused = await page.evaluate(() => window.vaePlayground.walkFrames.length);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.vaePlayground.walkFrames.length), paused, `${path}: pause stops it`);
    const frames = await page.evaluate(() => [...window.vaePlayground.walkFrames].sort((a, b) => a - b));
    console.log(`${path} walk: ${frames.length} frames, median ${frames[frames.length >> 1].toFixed(2)} ms per frame (advance + decode + draw)`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("sections 10 to 14 are the embeddable element, sharing the page's one module instance: the comparison, the conditional VAE, the adversarial autoencoder, the hierarchical VAE and the recurrent VAE load and show their pictures", async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await countCompiles(page);
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  for (const [card, label] of [["#compare-card", "VAE test codes"], ["#cvae-card", "Generated digits"], ["#aae-card", "Adversarial autoencoder latent map"], ["#hvae-card", "Top-layer latent map (z₂)"], ["#vrae-card", "Anomaly score along time"]]) {
    const widget = page.locator(`${card} vae-playground`);
    await page.locator(card).scrollIntoViewIfNeeded();
    await page.waitForFunction((card) => document.querySelector(`${card} vae-playground`).dataset.ready === "true", card, { timeout: 30000 });
    await widget.getByLabel(label, { exact: true }).waitFor();
  }
  assert.match(await page.locator("#aae-card vae-playground").evaluate((w) => w.shadowRoot.textContent), /MMD² between the test codes and prior samples: 0\.\d{3}/);
  await page.waitForFunction(() => document.querySelector("#vrae-card vae-playground").shadowRoot.querySelector('canvas[aria-label="Anomaly score along time"]').dataset.auc);
  assert.match(await page.locator("#vrae-card vae-playground").evaluate((w) => w.shadowRoot.textContent), /ROC AUC, anomalous against normal windows0\.9\d\d/);
  // The page's own sections and its five elements: one download and one compile of the CPU build,
  // and the first model's file fetched once.
  const wasm = requests.filter((path) => path.endsWith(".wasm"));
  assert.deepEqual(wasm, ["/web/vae_playground_bg.wasm"], "the wasm is fetched once, from the widget folder");
  assert.equal(await page.evaluate(() => window.__compiles), 1, "the wasm is compiled once");
  assert.equal(requests.filter((path) => path.endsWith("/vae-latent2.safetensors")).length, 1, "the latent-2 VAE's file is fetched once");
  assert.deepEqual(errors, []);
  await page.close();
});
