// The <vae-playground> element and its iframe route, used the way course notes use them: pages
// served from a deeper path than the widget folder (pkg/, mounted at /static/vae-playground/).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, correlation, countCompiles, drawZero, launch, serve, watchErrors } from "./helpers.mjs";

const PKG = join(ROOT, "pkg");
const NOTES = join(ROOT, "tests/browser/pages/notes");
const LESSON = "notes/unit-1/lesson";
const STRICT_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data: blob:; require-trusted-types-for 'script'";
const NO_WASM_CSP = STRICT_CSP.replace(" 'wasm-unsafe-eval'", "");

let server; // the course site: notes and the widget folder
let other; // another origin serving the widget folder, for the iframes
let browser;
let noWasmDir;
before(async () => {
  // A copy of the folder without its wasm file, for the "missing wasm" failure.
  noWasmDir = await mkdtemp(join(tmpdir(), "vae-nowasm-"));
  await cp(PKG, noWasmDir, { recursive: true, filter: (src) => !src.endsWith(".wasm") });
  server = await serve({
    "/static/vae-playground/": PKG,
    "/notes/": NOTES,
    "/strict/static/vae-playground/": { dir: PKG, headers: { "content-security-policy": STRICT_CSP } },
    "/strict/notes/": { dir: NOTES, headers: { "content-security-policy": STRICT_CSP } },
    "/nowasm-csp/static/vae-playground/": { dir: PKG, headers: { "content-security-policy": NO_WASM_CSP } },
    "/nowasm-csp/notes/": { dir: NOTES, headers: { "content-security-policy": NO_WASM_CSP } },
    "/missing/static/vae-playground/": noWasmDir,
    "/missing/notes/": NOTES,
    "/files/": join(ROOT, "web/assets"),
  });
  // Module scripts and fetches from a sandboxed (opaque-origin) frame are cross-origin requests:
  // the folder's server must allow them, as GitHub Pages and most static hosts do.
  other = await serve({ "/static/vae-playground/": { dir: PKG, headers: { "access-control-allow-origin": "*" } } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await other?.close();
  await rm(noWasmDir, { recursive: true, force: true });
});

/** A page that counts wasm compiles and CSP violations from its first script on. */
async function openPage(path, { prefix = "" } = {}) {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await countCompiles(page);
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
    window.__events = [];
    for (const type of ["load", "error", "change", "input", "trainend"]) {
      document.addEventListener(type, (e) => {
        if (e.target?.localName === "vae-playground") window.__events.push({ type, id: e.target.id, detail: e.detail });
      }, true);
    }
  });
  await page.goto(`${server.url}${prefix}${path}`);
  return { page, errors, requests };
}

const allReady = (page, timeout = 60000) =>
  page.waitForFunction(() => [...document.querySelectorAll("vae-playground")].every((w) => w.dataset.ready === "true"), null, { timeout });

/** Adds widgets to #content: `specs` are attribute objects. */
const addWidgets = (page, specs) =>
  page.evaluate((specs) => {
    for (const spec of specs) {
      const widget = document.createElement("vae-playground");
      for (const [k, v] of Object.entries(spec)) widget.setAttribute(k, v);
      document.getElementById("content").append(widget);
    }
  }, specs);

/** A canvas inside a widget's shadow root as 28×28 ink values. */
const widgetInk = (page, selector, label) =>
  page.evaluate(({ selector, label }) => {
    const canvas = document.querySelector(selector).shadowRoot.querySelector(`canvas[aria-label="${label}"]`);
    const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const out = [];
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) out.push(1 - data[(Math.floor(((y + 0.5) * height) / 28) * width + Math.floor(((x + 0.5) * width) / 28)) * 4] / 255);
    return out;
  }, { selector, label });

/** Draws a "0" on the pad of the widget `selector` with the mouse. */
const drawZeroIn = (page, selector) => drawZero(page, page.locator(selector));

const inkSum = (ink) => ink.reduce((s, v) => s + v, 0);
const count = (requests, suffix) => requests.filter((p) => p.endsWith(suffix)).length; // suffix from a "/" where names nest
const updates = (page, selector) => page.evaluate((s) => Number(document.querySelector(s).dataset.updates ?? 0), selector);

test("two widgets of a group share the drawing; a third, ungrouped, does not; one wasm compile, one fetch per file", async () => {
  const { page, errors, requests } = await openPage(`${LESSON}/two.html`);
  await allReady(page);
  assert.equal(count(requests, ".wasm"), 1);
  assert.equal(await page.evaluate(() => window.__compiles), 1, "the module is compiled once for all widgets");
  assert.equal(count(requests, "/vae-latent2.safetensors"), 1);
  assert.equal(count(requests, "digits.bin.gz"), 1);
  assert.equal(count(requests, "/widget-store.js"), 0, "storage code is fetched only by a widget with persist");

  // The accessible names of the page live on inside the shadow roots.
  await page.locator("#pad").getByRole("button", { name: "Clear" }).waitFor();
  await page.locator("#pad").getByLabel("Reconstruction").waitFor();

  const mapBefore = await updates(page, "#map");
  await drawZeroIn(page, "#pad");
  await page.waitForFunction(() => window.__events.some((e) => e.type === "change" && e.id === "pad"), null, { timeout: 20000 });
  await page.waitForFunction((n) => Number(document.querySelector("#map").dataset.updates ?? 0) > n, mapBefore, { timeout: 20000 });
  const drawn = await widgetInk(page, "#pad", "Model input (28×28)");
  const recon = await widgetInk(page, "#pad", "Reconstruction");
  assert.ok(correlation(drawn, recon) > 0.5, `the reconstruction looks like the drawing (r = ${correlation(drawn, recon).toFixed(2)})`);
  const change = await page.evaluate(() => window.__events.find((e) => e.type === "change" && e.id === "pad").detail);
  assert.equal(change.mu.length, 2);
  assert.ok(change.score.elbo < 0 && change.score.logLikelihood >= change.score.elbo - 1e-3, JSON.stringify(change.score));
  const numbers = await page.locator("#pad").locator("dl").innerText();
  assert.match(numbers, /ELBO\s+−\d+\.\d nats, averaged over 256 draws/);
  // The map's decoded point is the drawing's μ decoded: a "0"-like picture, not blank.
  const mapped = await widgetInk(page, "#map", "Decoded point");
  assert.ok(correlation(mapped, recon) > 0.8, `the grouped map decodes the drawing's μ (r = ${correlation(mapped, recon).toFixed(2)})`);
  // The ungrouped widget heard nothing.
  assert.equal(inkSum(await widgetInk(page, "#alone", "Reconstruction")), 0);
  assert.equal(await updates(page, "#alone"), 0);

  // A pick on the grouped map shows in the pad widget's reconstruction.
  const padRecon = await widgetInk(page, "#pad", "Reconstruction");
  const map = page.locator("#map").getByLabel("Latent map");
  await map.focus();
  for (let k = 0; k < 6; k++) await page.keyboard.press("ArrowRight");
  await page.waitForFunction(() => window.__events.filter((e) => e.type === "change" && e.id === "map").length >= 6, null, { timeout: 20000 });
  await page.waitForTimeout(200);
  const picked = await widgetInk(page, "#pad", "Reconstruction");
  assert.ok(correlation(picked, padRecon) < 0.98, "the pad widget shows the point picked on the map");
  assert.deepEqual(errors, []);
  await page.close();
});

test("ten widgets on one page: one wasm compile, one request per model file, and they animate together", async () => {
  const { page, errors, requests } = await openPage(`${LESSON}/ten.html`);
  // Tall enough that all ten are on screen (widgets off screen stop animating).
  await page.setViewportSize({ width: 1280, height: 2400 });
  await allReady(page, 90000);
  assert.equal(count(requests, ".wasm"), 1);
  assert.equal(await page.evaluate(() => window.__compiles), 1);
  for (const file of ["vae-latent2", "vae-latent20", "ae-latent2", "cvae-latent2"]) assert.equal(count(requests, `/${file}.safetensors`), 1, file);
  const walkers = await page.evaluate(() => {
    const walks = [...document.querySelectorAll("vae-playground[view=walk]")];
    walks.forEach((w) => w.play());
    return walks.length;
  });
  assert.equal(walkers, 2);
  await page.waitForTimeout(1500);
  const frames = await page.evaluate(() => [...document.querySelectorAll("vae-playground[view=walk]")].map((w) => w.getState().frames));
  assert.ok(frames.every((f) => f > 5), `both walks advance: ${frames}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("under the strict Content-Security-Policy: no violation, no console error, and the pad still reconstructs", async () => {
  const { page, errors } = await openPage(`${LESSON}/two.html`, { prefix: "strict/" });
  await allReady(page);
  await drawZeroIn(page, "#pad");
  await page.waitForFunction(() => window.__events.some((e) => e.type === "change" && e.id === "pad"), null, { timeout: 20000 });
  assert.ok(inkSum(await widgetInk(page, "#pad", "Reconstruction")) > 20);
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("content swapped in and out (instant navigation): widgets come back, removed ones free their wasm objects", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  const live = () => page.evaluate(() => customElements.get("vae-playground").liveObjects());
  const specs = [{ view: "walk", loading: "eager" }, { view: "latent", model: "vae-20", loading: "eager" }, { view: "draw", loading: "eager" }];
  const counts = [];
  for (let round = 0; round < 3; round++) {
    await addWidgets(page, specs);
    await allReady(page);
    counts.push(await live());
    await page.evaluate(() => document.getElementById("content").replaceChildren()); // "navigate away"
    await page.waitForTimeout(100);
    counts.push(await live());
  }
  // In: two models, a projection of the 20-D codes, one walk; out: nothing.
  assert.deepEqual(counts, [4, 0, 4, 0, 4, 0]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("lazy widgets fetch nothing until they near the viewport, and stop animating off screen", async () => {
  const { page, requests } = await openPage(`${LESSON}/blank.html`);
  await page.evaluate(() => {
    const spacer = document.createElement("div");
    spacer.style.height = "4000px";
    const widget = document.createElement("vae-playground");
    widget.id = "far";
    widget.setAttribute("view", "walk");
    widget.setAttribute("model", "vae-20");
    document.getElementById("content").append(spacer, widget);
  });
  await page.waitForTimeout(1500);
  assert.equal(count(requests, ".wasm"), 0, "nothing fetched while the widget is far below");
  assert.equal(count(requests, ".safetensors"), 0);
  await page.locator("#far").scrollIntoViewIfNeeded();
  await allReady(page);
  await page.evaluate(() => document.getElementById("far").play());
  await page.waitForTimeout(800);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(500);
  const a = await page.evaluate(() => document.getElementById("far").getState().frames);
  await page.waitForTimeout(1000);
  const b = await page.evaluate(() => document.getElementById("far").getState().frames);
  assert.ok(a > 0 && b === a, `off screen the walk stops (${a} → ${b} frames)`);
  await page.close();
});

test("bad values and failures: a visible message and an error event within 5 s, and the other widgets keep working", async () => {
  const { page } = await openPage(`${LESSON}/blank.html`);
  await page.route("**/bad/not-weights.safetensors", (route) => route.fulfill({ status: 200, body: "this is not a safetensors file" }));
  const cases = [
    [{ view: "nonsense" }, "load", /view="nonsense" is not valid: it must be one of "draw"/],
    [{ view: "latent", latent: "a,b" }, "load", /latent="a,b" is not valid: it must be numbers separated by commas/],
    [{ view: "draw", model: "/files/missing.safetensors" }, "load", /could not be fetched .*HTTP 404/],
    [{ view: "draw", model: "/bad/not-weights.safetensors" }, "load", /is not a weights file this playground can load/],
    [{ view: "cvae", model: "vae-2" }, "load", /needs a conditional model/],
  ];
  await addWidgets(page, [{ id: "good", view: "sample", loading: "eager" }, ...cases.map(([attrs], i) => ({ id: `bad${i}`, loading: "eager", ...attrs }))]);
  const started = Date.now();
  for (const [i, [, type, message]] of cases.entries()) {
    const panel = page.locator(`#bad${i}`).getByRole("alert");
    await panel.waitFor({ timeout: 5000 });
    assert.match(await panel.innerText(), message);
    const event = await page.evaluate((id) => window.__events.find((e) => e.type === "error" && e.id === id)?.detail, `bad${i}`);
    assert.equal(event?.type, type);
    assert.match(event.message, message);
  }
  assert.ok(Date.now() - started < 5000);
  await page.waitForFunction(() => document.getElementById("good").dataset.ready === "true", null, { timeout: 20000 });
  // Fixing the attribute brings the widget back.
  await page.evaluate(() => document.getElementById("bad0").setAttribute("view", "manifold"));
  await page.waitForFunction(() => document.getElementById("bad0").dataset.ready === "true", null, { timeout: 20000 });
  await page.close();

  // The folder's wasm missing; a page whose CSP forbids WebAssembly; a file:// page.
  for (const [prefix, type, message] of [
    ["missing/", "load", /WebAssembly module could not be fetched .*HTTP 404/],
    ["nowasm-csp/", "csp", /'wasm-unsafe-eval'/],
  ]) {
    const { page: p } = await openPage(`${LESSON}/blank.html`, { prefix });
    await p.waitForFunction(() => customElements.get("vae-playground"));
    const t0 = Date.now();
    await addWidgets(p, [{ id: "w", view: "draw", loading: "eager" }]);
    await p.locator("#w").getByRole("alert").waitFor({ timeout: 5000 });
    assert.ok(Date.now() - t0 < 5000);
    assert.match(await p.locator("#w").getByRole("alert").innerText(), message);
    assert.equal(await p.evaluate(() => window.__events.find((e) => e.type === "error")?.detail.type), type);
    await p.close();
  }
  const file = await browser.newPage();
  await file.addInitScript(() => {
    window.__errors = [];
    document.addEventListener("error", (e) => e.detail && window.__errors.push(e.detail.type), true);
  });
  await file.goto(pathToFileURL(join(ROOT, "course/index.html")).href);
  await file.getByRole("alert").first().waitFor({ timeout: 5000 });
  assert.match(await file.getByRole("alert").first().innerText(), /cannot run from a file:\/\/ page.*Serve the folder/);
  assert.ok((await file.evaluate(() => window.__errors)).every((t) => t === "file-protocol"));
  await file.close();
});

test("view=draw scores a drawing as the page does: ELBO, log p(x), their gap and the floor, and ranks it among 200 test digits; a scribble ranks above a digit; a new model re-scores the drawing in place", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "dr", view: "draw", loading: "eager" }]);
  await allReady(page);
  const field = (name) => page.evaluate((name) => {
    const dt = [...document.getElementById("dr").shadowRoot.querySelectorAll("dt")].find((d) => d.textContent === name);
    return dt.nextElementSibling.textContent;
  }, name);
  const ranked = async () => {
    await page.waitForFunction(() => /more unusual than \d+% of 200 test digits/.test(document.getElementById("dr").shadowRoot.querySelector("dl").textContent), null, { timeout: 60000 });
    await page.waitForTimeout(300); // the last queued update lands
    return Number((await field("log p(x)")).match(/more unusual than (\d+)%/)[1]);
  };
  const { pixels } = await page.evaluate(async () => {
    const { runtime } = await import("/static/vae-playground/widget-runtime.js");
    const { pixels } = await (await runtime()).testDigits();
    return { pixels: Array.from(pixels.subarray(784 * 3, 784 * 4)) };
  });
  await page.evaluate((x) => document.getElementById("dr").setDrawing(x), pixels);
  const digit = await ranked();
  const [elbo, logp, gap, floor] = await Promise.all(["ELBO", "log p(x)", "Gap", "Floor"].map(field));
  const number = (text) => Number(text.replace("−", "-").match(/-?[\d.]+/)[0]);
  console.log(`draw view: ELBO ${elbo} | log p(x) ${logp} | gap ${gap} | floor ${floor}`);
  assert.match(elbo, /^−[\d.]+ nats, averaged over 256 draws z ~ q\(z\|x\)$/);
  assert.match(gap, /^[\d.]+ nats ≈ KL\(q\(z\|x\) ‖ p\(z\|x\)\), what the ELBO gives away$/);
  assert.ok(Math.abs(number(logp.slice(2)) - number(elbo) - number(gap)) < 0.15, "the gap is log p(x) − ELBO");
  assert.ok(number(logp.slice(2)) >= number(elbo), "log p(x) ≥ ELBO");
  assert.match(floor, /^−?[\d.]+ nats: log p\(x\|z\) of a decoder that reproduced this drawing exactly$/);
  // A zigzag over the whole pad.
  await page.locator("#dr").getByRole("button", { name: "Clear" }).click();
  const box = await page.locator("#dr").getByLabel("Drawing pad").boundingBox();
  await page.mouse.move(box.x + 20, box.y + 20);
  await page.mouse.down();
  for (let k = 0; k < 12; k++) await page.mouse.move(box.x + (k % 2 ? 260 : 20), box.y + 20 + k * 20, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction((before) => !document.getElementById("dr").shadowRoot.querySelector("dl").textContent.includes(before), logp);
  const scribble = await ranked();
  console.log(`draw view, more unusual than: test digit → ${digit}%, scribble → ${scribble}%`);
  assert.ok(scribble > digit && scribble >= 90, `a scribble (${scribble}%) ranks above a test digit (${digit}%)`);
  const change = await page.evaluate(() => window.__events.filter((e) => e.type === "change" && e.id === "dr").at(-1).detail.score);
  assert.equal(Math.round(change.percentBelow), scribble, "the change event carries the rank");
  // Another model handed over: the drawing stays, scored by it (the autoencoder: no ELBO).
  const drawing = await page.evaluate(() => document.getElementById("dr").getState().drawing);
  await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch("/static/vae-playground/assets/ae-latent2.safetensors")).arrayBuffer());
    window.__aeBytes = bytes;
    await document.getElementById("dr").loadSafetensors(bytes);
  });
  await page.waitForFunction(() => /^Reconstruction error$/m.test([...document.getElementById("dr").shadowRoot.querySelectorAll("dt")].map((d) => d.textContent).join("\n")), null, { timeout: 30000 });
  assert.deepEqual(await page.evaluate(() => document.getElementById("dr").getState().drawing), drawing, "the drawing is kept");
  assert.match(await field("log p(x)"), /no ELBO, no log p\(x\)/);
  // The same array handed over again is the same model; with a byte changed, it is read again.
  const held = await page.evaluate(async () => {
    const rt = await (await import("/static/vae-playground/widget-runtime.js")).runtime();
    const keys = () => [...rt.models.keys()].filter((key) => key.includes(" bytes:"));
    const widget = document.getElementById("dr");
    const bytes = window.__aeBytes;
    const first = keys();
    await widget.loadSafetensors(bytes);
    const same = keys();
    bytes[bytes.length - 2] ^= 1; // the low byte of the last weight
    await widget.loadSafetensors(bytes);
    return { first, same, changed: keys() };
  });
  assert.equal(held.first.length, 1);
  assert.deepEqual(held.same, held.first, "the same bytes: the same model");
  assert.equal(held.changed.length, 1);
  assert.notDeepEqual(held.changed, held.first, "changed bytes: a new model, the old one let go");
  assert.deepEqual(errors, []);
  await page.close();
});

test("attributes reflect as properties, getState/setState round-trip, and the API refuses bad arguments", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "a", view: "draw", loading: "eager" }, { id: "b", view: "draw", loading: "eager" }]);
  await allReady(page);
  const result = await page.evaluate(async () => {
    const [a, b] = [document.getElementById("a"), document.getElementById("b")];
    const out = { view: a.view, model: a.model, speed: a.speed };
    const { pixels } = await (async () => {
      // a test digit: a vertical bar
      const x = new Array(784).fill(0);
      for (let y = 5; y < 23; y++) for (let c = 13; c < 16; c++) x[y * 28 + c] = 1;
      return { pixels: x };
    })();
    a.setDrawing(pixels);
    await new Promise((r) => setTimeout(r, 1500));
    const state = a.getState();
    await b.setState(state);
    await new Promise((r) => setTimeout(r, 1500));
    out.stateA = state;
    out.stateB = b.getState();
    const refusals = [];
    for (const bad of [() => a.setDrawing([1, 2]), () => a.setDrawing(new Array(784).fill(NaN)), () => a.setLatent([1]), () => a.sample(), () => a.setState({ nope: 1 })]) {
      try {
        await bad();
        refusals.push("accepted");
      } catch (e) {
        refusals.push(e.message);
      }
    }
    out.refusals = refusals;
    a.view = "sample";
    out.attr = a.getAttribute("view");
    return out;
  });
  assert.deepEqual([result.view, result.model, result.speed], ["draw", "vae-2", "1"]);
  assert.equal(result.stateA.drawing.length, 784);
  assert.deepEqual(result.stateB.drawing, result.stateA.drawing, "the drawing round-trips through getState/setState");
  assert.equal(result.attr, "sample");
  assert.match(result.refusals[0], /784 grey values .*got 2/);
  assert.match(result.refusals[1], /values in \[0, 1\]/);
  assert.match(result.refusals[2], /expects 2 coordinates, got 1/);
  assert.match(result.refusals[3], /has no sampler/);
  assert.match(result.refusals[4], /unknown key nope/);
  await page.locator("#a").getByLabel("Samples").waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("a touch stroke draws, in a widget scaled by transform: scale(0.5), where the finger went", async () => {
  const context = await browser.newContext({ hasTouch: true });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__events = [];
    document.addEventListener("change", (e) => e.target?.localName === "vae-playground" && window.__events.push({ type: "change", id: e.target.id }), true);
  });
  await page.goto(`${server.url}${LESSON}/blank.html`);
  await page.evaluate(() => {
    const box = document.createElement("div");
    box.style.transform = "scale(0.5)";
    box.style.transformOrigin = "0 0";
    box.style.width = "800px";
    const widget = document.createElement("vae-playground");
    widget.id = "scaled";
    widget.setAttribute("loading", "eager");
    box.append(widget);
    document.getElementById("content").append(box);
  });
  await allReady(page);
  const box = await page.locator("#scaled").getByLabel("Drawing pad").boundingBox();
  // A real touch stroke (Chromium's input pipeline) down the left quarter of the pad.
  const cdp = await context.newCDPSession(page);
  const [x, y0, y1] = [box.x + box.width * 0.25, box.y + box.height * 0.15, box.y + box.height * 0.85];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y: y0 }] });
  for (let k = 1; k <= 20; k++) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x, y: y0 + ((y1 - y0) * k) / 20 }] });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await page.waitForFunction(() => window.__events.some((e) => e.type === "change" && e.id === "scaled"), null, { timeout: 20000 });
  // The ink lands where the stroke went: in the left half of the pad, top to bottom.
  const ink = await page.evaluate(() => {
    const canvas = document.getElementById("scaled").shadowRoot.querySelector("canvas[aria-label='Drawing pad']");
    const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let left = 0, right = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (data[(y * width + x) * 4 + 3] > 128) (x < width / 2 ? left++ : right++);
    return { left, right };
  });
  assert.ok(ink.left > 1000 && ink.right === 0, JSON.stringify(ink));
  await context.close();
});

test("the iframe route across origins: auto-height, a call that round-trips, foreign messages ignored, sandboxed or not", async () => {
  const { page, errors } = await openPage(`${LESSON}/host.html`);
  // Both frames on screen: Chromium runs no animation frames in a cross-origin frame out of view,
  // and the draw view redraws in one.
  await page.setViewportSize({ width: 1280, height: 2400 });
  await page.waitForFunction(() => document.readyState === "complete");
  await page.evaluate((origin) => {
    for (const [id, sandbox] of [["sandboxed", "allow-scripts"], ["same-origin", "allow-scripts allow-same-origin"]]) {
      const frame = document.createElement("iframe");
      frame.id = id;
      frame.dataset.vaePlayground = "";
      frame.setAttribute("sandbox", sandbox);
      frame.style.width = "640px";
      frame.style.height = "150px";
      frame.style.border = "0";
      frame.src = `${origin}static/vae-playground/embed.html?view=draw&model=vae-2`;
      frame.addEventListener("vae-load", () => (frame.dataset.loaded = "true"));
      frame.addEventListener("vae-change", (e) => (frame.dataset.changed = JSON.stringify(e.detail.mu)));
      document.getElementById("frames").append(frame);
    }
  }, other.url);
  await page.waitForFunction(() => [...document.querySelectorAll("iframe")].every((f) => f.dataset.loaded === "true"), null, { timeout: 60000 });
  await page.waitForTimeout(300);
  const heights = await page.evaluate(() => [...document.querySelectorAll("iframe")].map((f) => f.getBoundingClientRect().height));
  assert.ok(heights.every((h) => h > 500 && h < 4000), `heights follow the content: ${heights}`);

  const calls = await page.evaluate(async () => {
    const { callFrame } = await import("/static/vae-playground/embed-host.js");
    const out = {};
    for (const frame of document.querySelectorAll("iframe")) {
      const x = new Array(784).fill(0);
      for (let y = 5; y < 23; y++) for (let c = 13; c < 16; c++) x[y * 28 + c] = 1;
      await callFrame(frame, "setDrawing", x);
      const state = await callFrame(frame, "getState");
      let refused = null;
      try {
        await callFrame(frame, "toSafetensors");
      } catch (e) {
        refused = e.message;
      }
      // train is callable through the frame; a draw view has nothing to train and says so.
      const untrained = await callFrame(frame, "train").then(() => "trained", (e) => e.message);
      out[frame.id] = { view: state.view, drawing: state.drawing?.length ?? 0, refused, untrained };
    }
    return out;
  });
  for (const id of ["sandboxed", "same-origin"]) {
    assert.equal(calls[id].view, "draw");
    assert.equal(calls[id].drawing, 784);
    assert.match(calls[id].refused, /cannot be called through the frame/);
    assert.match(calls[id].untrained, /view="draw" has no training panel/);
  }
  await page.waitForFunction(() => [...document.querySelectorAll("iframe")].every((f) => f.dataset.changed), null, { timeout: 20000 });

  // A message that is not from one of the frames (here: the page itself) changes nothing.
  // (The frames may still resize themselves meanwhile, as a late line of text arrives: what must
  // not happen is the foreign height.)
  await page.evaluate(() => window.postMessage({ type: "vae-playground", v: 1, event: "resize", height: 99 }, "*"));
  await page.waitForTimeout(200);
  const after = await page.evaluate(() => [...document.querySelectorAll("iframe")].map((f) => f.style.height));
  assert.ok(after.every((h) => h !== "99px" && parseFloat(h) > 200), `frame heights ${after}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a panic in the shared module: every widget offers Restart, and Restart brings them all back", async () => {
  const { page } = await openPage(`${LESSON}/two.html`);
  await allReady(page);
  await page.evaluate(async () => {
    const glue = await import("/static/vae-playground/vae_playground.js"); // the instance the widgets share
    try {
      glue.debugPanic();
    } catch {}
  });
  await drawZeroIn(page, "#pad");
  for (const id of ["pad", "map", "alone"]) {
    await page.locator(`#${id}`).getByRole("button", { name: "Restart" }).waitFor({ timeout: 10000 });
  }
  assert.match(await page.locator("#map").getByRole("alert").innerText(), /crashed and must be restarted/);
  await page.locator("#alone").getByRole("button", { name: "Restart" }).click();
  await allReady(page);
  assert.equal(await page.locator("#pad").getByRole("alert").isVisible(), false);
  await drawZeroIn(page, "#pad");
  await page.waitForFunction(() => window.__events.filter((e) => e.type === "change" && e.id === "pad").length >= 1, null, { timeout: 20000 });
  assert.ok(inkSum(await widgetInk(page, "#pad", "Reconstruction")) > 20);
  await page.close();
});

test("the folder's version is the package's, shown in every widget; the package lists every file of the folder", async () => {
  const pkg = JSON.parse(await readFile(join(PKG, "package.json"), "utf8"));
  // An npm install holds only what `files` names: a module left out breaks the element there.
  const unlisted = (await readdir(PKG)).filter((name) => name !== "package.json" && !pkg.files.includes(name) && !pkg.files.includes(`${name}/`));
  assert.deepEqual(unlisted, [], "files of pkg/ that package.json's `files` leaves out");
  const { page } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "v", view: "manifold", loading: "eager" }]);
  await allReady(page);
  assert.equal(await page.evaluate(() => customElements.get("vae-playground").version), pkg.version);
  assert.match(await page.locator("#v").locator(".version").innerText(), new RegExp(`vae-playground ${pkg.version.replace(/\./g, "\\.")}`));
  await page.close();
});

test("the anywidget module renders the element from a model's traits, follows their changes and cleans up", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  const result = await page.evaluate(async () => {
    // The part of anywidget's model interface the module uses: get, on/off("change:…"), send.
    const traits = { view: "sample", seed: 3, loading: "eager" };
    const handlers = new Map();
    const sent = [];
    const model = {
      get: (name) => traits[name],
      on: (event, fn) => handlers.set(event, [...(handlers.get(event) ?? []), fn]),
      off: (event, fn) => handlers.set(event, (handlers.get(event) ?? []).filter((f) => f !== fn)),
      send: (message) => sent.push(message),
    };
    const set = (name, value) => {
      traits[name] = value;
      for (const fn of handlers.get(`change:${name}`) ?? []) fn();
    };
    const { default: module } = await import("/static/vae-playground/anywidget.js");
    const el = document.getElementById("content");
    const cleanup = await module.render({ model, el });
    const widget = el.querySelector("vae-playground");
    await widget.ready;
    const first = widget.getAttribute("view");
    set("view", "manifold");
    await new Promise((r) => setTimeout(r, 50));
    await widget.ready;
    const second = widget.shadowRoot.querySelector("canvas[aria-label=Manifold]") !== null;
    cleanup();
    return { first, second, removed: !el.querySelector("vae-playground"), sent: sent.map((m) => m.event), left: [...handlers.values()].flat().length };
  });
  assert.deepEqual(result, { first: "sample", second: true, removed: true, sent: ["load", "load"], left: 0 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("latent arithmetic: each slot stores the current point, and the result is A − B + C decoded", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "ar", view: "arith", loading: "eager" }]);
  await allReady(page);
  const bar = (x0, width) => {
    const x = new Array(784).fill(0);
    for (let y = 5; y < 23; y++) for (let c = x0; c < x0 + width; c++) x[y * 28 + c] = 1;
    return x;
  };
  for (const [slot, pixels] of [["A", bar(12, 5)], ["B", bar(13, 2)], ["C", bar(8, 2)]]) {
    await page.evaluate((pixels) => document.getElementById("ar").setDrawing(pixels), pixels);
    const button = page.locator("#ar").getByRole("button", { name: `${slot} ← current` });
    await page.waitForFunction((name) => !document.getElementById("ar").shadowRoot.querySelector(`[part~=button]:disabled`), slot);
    await page.waitForTimeout(300); // the drawing is encoded in the next frame
    await button.click();
    await page.waitForFunction((name) => document.getElementById("ar").getState().slots?.[name], slot, { timeout: 10000 });
  }
  await page.waitForFunction(() => window.__events.some((e) => e.type === "change" && e.id === "ar"), null, { timeout: 10000 });
  const { slots } = await page.evaluate(() => document.getElementById("ar").getState());
  const { z } = await page.evaluate(() => window.__events.find((e) => e.type === "change" && e.id === "ar").detail);
  z.forEach((v, i) => assert.ok(Math.abs(v - (slots.A[i] - slots.B[i] + slots.C[i])) < 1e-5, `z${i}`));
  assert.notDeepEqual(slots.A, slots.B);
  assert.ok(inkSum(await widgetInk(page, "#ar", "A minus B plus C")) > 20, "the result is drawn");

  // The slots round-trip through getState/setState into another widget, which draws the same
  // result; slots that do not fit the model are refused whole, with a message.
  await addWidgets(page, [{ id: "ar2", view: "arith", loading: "eager" }]);
  await allReady(page);
  const copied = await page.evaluate(async () => {
    const state = document.getElementById("ar").getState();
    return (await document.getElementById("ar2").setState(state)).slots;
  });
  assert.deepEqual(copied, slots);
  assert.ok(inkSum(await widgetInk(page, "#ar2", "A minus B plus C")) > 20, "the copied slots' result is drawn");
  const refusals = await page.evaluate(async () => {
    const w = document.getElementById("ar2");
    const out = [];
    for (const slots of [{ A: [1, 2, 3] }, { A: [NaN, 0] }, { D: [0, 0] }, [1]]) {
      try {
        await w.setState({ slots });
        out.push("accepted");
      } catch (e) {
        out.push(e.message);
      }
    }
    return { out, kept: w.getState().slots };
  });
  assert.match(refusals.out[0], /slots\.A has 3 numbers; this model's latent space has 2/);
  assert.match(refusals.out[1], /slots\.A holds a value that is not a finite number/);
  assert.match(refusals.out[2], /slots has no D/);
  assert.match(refusals.out[3], /slots must be an object/);
  assert.deepEqual(refusals.kept, slots, "a refused state changes no slot");
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=walk: the morph's ends come from the group's current point, and the walker shows on the group's map", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "wk", view: "walk", group: "g", speed: "4", loading: "eager" }, { id: "mp", view: "latent", group: "g", loading: "eager" }]);
  await allReady(page);
  await page.evaluate(() => {
    window.__walker = [];
    document.getElementById("wk").addEventListener("walk", (e) => window.__walker.push(e.detail.z));
  });
  const walk = page.locator("#wk");
  const start = walk.getByRole("button", { name: "Start ← current point" });
  assert.ok(await start.isDisabled(), "no current point yet: nothing to take");
  // The ends: two points of norm 1.5, set on the map's widget (the group's current point).
  for (const [z, name, thumb] of [[[1.5, 0], "Start ← current point", "Walk start"], [[0, 1.5], "End ← current point", "Walk end"]]) {
    await page.evaluate((z) => document.getElementById("mp").setLatent(z), z);
    await walk.getByRole("button", { name }).click();
    await page.waitForFunction(() => document.getElementById("wk").getAttribute("walk") === "morph");
    await page.waitForTimeout(200);
    assert.ok(inkSum(await widgetInk(page, "#wk", thumb)) > 5, `${thumb} shows the point taken`);
  }
  assert.equal(await walk.getByLabel("Path").inputValue(), "morph");
  const mapPixels = () => page.evaluate(() => {
    const c = document.getElementById("mp").shadowRoot.querySelector('canvas[aria-label="Latent map"]');
    return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.join(",");
  });
  const mapBefore = await mapPixels();
  await walk.getByRole("button", { name: "Play" }).click();
  await page.waitForFunction(() => window.__walker.length > 120, null, { timeout: 30000 });
  await walk.getByRole("button", { name: "Pause", exact: true }).click();
  // Between two ends of one length, the morph turns along the circle between them.
  const zs = await page.evaluate(() => window.__walker);
  const norms = zs.map(([x, y]) => Math.hypot(x, y));
  console.log(`walk: ${zs.length} frames; |z| from ${Math.min(...norms).toFixed(3)} to ${Math.max(...norms).toFixed(3)}; x from ${Math.min(...zs.map((z) => z[0])).toFixed(2)} to ${Math.max(...zs.map((z) => z[0])).toFixed(2)}`);
  assert.ok(norms.every((n) => Math.abs(n - 1.5) < 0.01), `|z| stays 1.5: ${norms.slice(0, 5)}`);
  assert.ok(zs.every(([x, y]) => x > -0.01 && y > -0.01), "it stays in the arc between its ends");
  assert.ok(Math.max(...zs.map((z) => z[0])) - Math.min(...zs.map((z) => z[0])) > 0.3, "it moves");
  assert.notEqual(await mapPixels(), mapBefore, "the walker is drawn on the group's map");

  // The ends are part of the widget's state: a widget given it morphs between the same points.
  const state = await page.evaluate(() => document.getElementById("wk").getState());
  assert.deepEqual(state.walkEnds, { from: [1.5, 0], to: [0, 1.5] });
  await addWidgets(page, [{ id: "wk2", view: "walk", loading: "eager" }]);
  await allReady(page);
  const copied = await page.evaluate(async (state) => (await document.getElementById("wk2").setState({ ...state, playing: false })), state);
  assert.deepEqual([copied.walk, copied.walkEnds], ["morph", state.walkEnds]);
  for (const thumb of ["Walk start", "Walk end"]) assert.ok(inkSum(await widgetInk(page, "#wk2", thumb)) > 5, `the copy's ${thumb} is drawn`);
  const refused = await page.evaluate(() => document.getElementById("wk2").setState({ walkEnds: { from: [1], to: null } }).then(() => "accepted", (e) => e.message));
  assert.match(refused, /walkEnds\.from has 1 numbers; this model's latent space has 2/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=dims: a slider per dimension and the KL bars; the sliders drive the group's point, and the dimension that carries most moves the digit most", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "dm", view: "dims", model: "vae-20", group: "d", loading: "eager" }, { id: "lt", view: "latent", model: "vae-20", group: "d", loading: "eager" }]);
  await allReady(page);
  const dims = page.locator("#dm");
  await dims.locator(".view.dims[data-kl='20']").waitFor();
  assert.equal(await dims.getByRole("slider").count(), 20);
  const kl = (await dims.locator("#kl-bars li").evaluateAll((items) => items.map((li) => li.getAttribute("aria-label")))).map((label) => Number(label.match(/: ([\d.]+) nats$/)[1]));
  assert.equal(kl.length, 20);
  const note = await dims.getByText(/nats in all;/).textContent();
  const active = kl.filter((v) => v > 0.1).length;
  assert.equal(note, `${kl.reduce((a, b) => a + b, 0).toFixed(1)} nats in all; ${active} of 20 dimensions carry more than 0.1 nats (the rest are switched off).`);
  // From z = 0, one dimension moved to 2.5: the most informative one against the least.
  const order = kl.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const [low, high] = [order[0][1], order[19][1]];
  const change = async (i) => {
    await page.evaluate(() => document.getElementById("dm").setLatent(new Array(20).fill(0)));
    await page.waitForTimeout(200);
    const before = await widgetInk(page, "#dm", "Decoded current point");
    await dims.getByLabel(`z${i + 1}`, { exact: true }).fill("2.5");
    await page.waitForFunction((i) => document.getElementById("lt").getState().latent?.[i] === 2.5, i, { timeout: 10000 });
    await page.waitForTimeout(200);
    const after = await widgetInk(page, "#dm", "Decoded current point");
    return before.reduce((sum, v, k) => sum + Math.abs(v - after[k]), 0);
  };
  const [lowChange, highChange] = [await change(low), await change(high)];
  console.log(`dims: ${active} of 20 dimensions above 0.1 nats; KL ${order[0][0]} (z${low + 1}) → ink change ${lowChange.toFixed(1)}, KL ${order[19][0]} (z${high + 1}) → ${highChange.toFixed(1)}`);
  // The shipped latent-20 model uses every dimension, unequally (about 0.5 to 2 nats each).
  assert.ok(order[19][0] > 2 * order[0][0], `the KL of the dimensions differs: ${order[0][0]} to ${order[19][0]}`);
  assert.ok(highChange > 1.5 * lowChange && lowChange > 0, `the most informative dimension changes the digit more (${highChange}) than the least (${lowChange})`);
  // The slider's point is the group's: the map widget shows it, and both widgets' state holds it.
  const state = await page.evaluate(() => [document.getElementById("dm").getState().latent, document.getElementById("lt").getState().latent]);
  assert.deepEqual(state[0], state[1]);
  assert.equal(state[0][high], 2.5);
  assert.ok(await page.evaluate(() => window.__events.some((e) => e.type === "change" && e.id === "dm" && e.detail.source === "sliders")));
  assert.deepEqual(errors, []);
  await page.close();
});

// ---- the VAE's relatives: view="aae" and view="hvae" ------------------------------------------

/** The training panel's snapshots as [{ steps, name: value… }]. */
const snapshots = (page, selector) =>
  page.evaluate((s) => {
    const text = document.querySelector(s).shadowRoot.querySelector(".training").dataset.snapshots ?? "";
    return text ? text.split(";").map((row) => {
      const [steps, figures] = row.split(":");
      return { steps: Number(steps), ...Object.fromEntries(figures.split(",").map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])])) };
    }) : [];
  }, selector);

const trainingText = (page, selector) => page.evaluate((s) => document.querySelector(s).shadowRoot.querySelector(".training").textContent, selector);

test("view=aae under the strict CSP: the shipped codes fill the ring beside the VAE's; a run in a worker pulls a fresh model's codes onto the prior, pauses, and a diverging rate is rolled back", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`, { prefix: "strict/" });
  await addWidgets(page, [{ id: "aae", view: "aae", loading: "eager" }]);
  await allReady(page);
  const shadow = page.locator("#aae");
  for (const label of ["Adversarial autoencoder latent map", "VAE latent map", "Decoded prior samples"]) {
    await shadow.getByLabel(label).waitFor();
  }
  // The shipped ring model: its codes against 1,000 ring samples (about 4 for an untrained encoder).
  await page.waitForFunction(() => document.querySelector("#aae").shadowRoot.querySelector('canvas[aria-label="Adversarial autoencoder latent map"]').dataset.mmd2);
  const shipped = await page.evaluate(() => Number(document.querySelector("#aae").shadowRoot.querySelector('canvas[aria-label="Adversarial autoencoder latent map"]').dataset.mmd2));
  assert.ok(shipped < 0.5, `shipped ring model's MMD² ${shipped}`);
  assert.ok(inkSum(await widgetInk(page, "#aae", "Decoded prior samples")) > 20);
  const notes = await shadow.locator("p.note").allTextContents();
  assert.ok(notes.some((n) => /^MMD² between the test codes and N\(0, I\) samples: \d\.\d{3}$/.test(n)), notes.join(" | "));

  // Train a fresh one: the MMD² at initialisation, then after three epochs (213 steps of 128).
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => {
    const text = document.querySelector("#aae").shadowRoot.querySelector(".training").dataset.snapshots ?? "";
    return text.split(";").some((row) => Number(row.split(":")[0]) >= 213);
  }, null, { timeout: 90000, polling: 500 });
  const runs = await snapshots(page, "#aae");
  const [first, last] = [runs[0], runs.at(-1)];
  assert.equal(first.steps, 0);
  assert.ok(last.mmd2 < first.mmd2 / 3, `MMD² ${first.mmd2} at initialisation, ${last.mmd2} after ${last.steps} steps`);
  const figures = await trainingText(page, "#aae");
  for (const name of ["discriminator loss", "generator loss −log D(code)", "mean D on prior samples / on codes", "nats per digit (Bernoulli)"]) {
    assert.ok(figures.includes(name), `${name} in ${figures}`);
  }
  // Pause: the steps stop.
  await shadow.getByRole("button", { name: "Pause" }).click();
  await shadow.getByRole("button", { name: "Resume" }).waitFor({ timeout: 10000 });
  const steps = (await snapshots(page, "#aae")).length;
  await page.waitForTimeout(2500);
  assert.equal((await snapshots(page, "#aae")).length, steps, "no snapshot while paused");
  // A learning rate of 1 diverges: the step is rolled back and training waits.
  await shadow.getByLabel("Learning rate", { exact: true }).selectOption("1");
  await shadow.getByRole("button", { name: "Resume" }).click();
  await page.waitForFunction(() => /rolled back to the last sound weights/.test(document.querySelector("#aae").shadowRoot.querySelector(".training").textContent), null, { timeout: 30000 });
  await shadow.getByRole("button", { name: "Resume" }).waitFor();
  // The label-guided ring loads its own shipped file when the prior changes.
  await shadow.getByLabel("Prior", { exact: true }).selectOption("ring-guided");
  await allReady(page);
  await page.waitForFunction(() => /digit y pushed to Gaussian y/.test(document.querySelector("#aae").shadowRoot.textContent));
  assert.equal(await page.evaluate(() => document.querySelector("#aae").getAttribute("prior")), "ring-guided");
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=aae: a discriminator that learns 100× as fast as the encoder wins outright, and the panel says so", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "aae", view: "aae", prior: "ring", loading: "eager" }]);
  await allReady(page);
  const shadow = page.locator("#aae");
  const flag = shadow.locator("[part=flag]");
  await shadow.getByLabel("Learning rate", { exact: true }).selectOption("0.0001");
  await shadow.getByLabel("Discriminator's learning rate").selectOption("100");
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await flag.waitFor({ state: "visible", timeout: 90000 });
  const text = await flag.textContent();
  console.log(`the panel's flag: ${text}`);
  assert.match(text, /^The discriminator is winning outright \(D > 0\.95 on prior samples and < 0\.05 on codes in \d+% of the last steps\)/);
  assert.match(text, /Set the discriminator's learning rate back to × 1 the learning rate/);
  assert.equal(await shadow.getByRole("alert").count(), 1, "the flag is announced");
  const [dReal, dFake] = (await trainingText(page, "#aae")).match(/mean D on prior samples \/ on codes([\d.]+) \/ ([\d.]+)/).slice(1).map(Number);
  assert.ok(dReal > 0.9 && dFake < 0.1, `mean D ${dReal} / ${dFake}`);
  await shadow.getByRole("button", { name: "Pause" }).click();
  await shadow.getByRole("button", { name: "Resume" }).waitFor({ timeout: 10000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=train under the strict CSP: trains a fresh VAE in a worker, its test −ELBO falling; β applies from the next step; a run ended, the autoencoder trains and is labelled without an ELBO; persist brings it back", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`, { prefix: "strict/" });
  await page.evaluate(() => {
    window.__progress = [];
    document.addEventListener("trainprogress", (e) => window.__progress.push(e.detail));
  });
  await addWidgets(page, [{ id: "train", view: "train", loading: "eager", persist: "train-lesson" }]);
  await allReady(page);
  const shadow = page.locator("#train");
  await page.waitForFunction(() => document.querySelector("#train").dataset.updates > 0);
  // Before any run: the widget's model, the shipped vae-2, and the controls set to one like it.
  assert.match(await shadow.getByRole("paragraph").filter({ hasText: "Shown:" }).textContent(), /^Shown: the model "vae-2", a VAE with a 2-D latent space\./);
  assert.equal(await shadow.getByLabel("Model kind").inputValue(), "vae");
  assert.equal(await shadow.getByLabel("Latent size").inputValue(), "2");
  const shippedInk = await widgetInk(page, "#train", "Decoded prior samples");
  assert.ok(inkSum(shippedInk) > 20, "the shipped model's samples");

  // A fresh VAE: the first snapshot is the initialisation (test −ELBO ≈ 543 nats, every pixel a
  // coin flip), one epoch (71 steps of 128) later it has learned digits.
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => {
    const text = document.querySelector("#train").shadowRoot.querySelector(".training").dataset.snapshots ?? "";
    return text.split(";").some((row) => Number(row.split(":")[0]) >= 71);
  }, null, { timeout: 90000, polling: 500 });
  assert.ok(await shadow.getByLabel("Model kind").isDisabled(), "the architecture is fixed while a run exists");
  assert.ok(await shadow.getByLabel("Latent size").isDisabled());
  assert.ok(!(await shadow.getByLabel("β", { exact: true }).isDisabled()), "β stays free");
  const runs = await snapshots(page, "#train");
  const [first, last] = [runs[0], runs.at(-1)];
  assert.equal(first.steps, 0);
  assert.ok(first.negElbo > 500 && last.negElbo < 230, `test −ELBO ${first.negElbo} at initialisation, ${last.negElbo} after ${last.steps} steps`);
  assert.ok(Math.abs(last.scoreAtMean - last.negElbo) < 25, `at z = μ ${last.scoreAtMean}, one draw ${last.negElbo}`);
  await page.waitForFunction(() => /^Shown: your run, step \d+: a VAE with a 2-D latent space and 256 hidden units \(Bernoulli likelihood\)\.$/.test(
    [...document.querySelector("#train").shadowRoot.querySelectorAll("p")].find((p) => p.textContent.startsWith("Shown:")).textContent));
  assert.notDeepEqual(await widgetInk(page, "#train", "Decoded prior samples"), shippedInk, "the samples are the run's");
  assert.ok(inkSum(await widgetInk(page, "#train", "Their reconstructions")) > 20);
  const text = await trainingText(page, "#train");
  assert.match(text, /loss = reconstruction \+ β·KL \(batches\)[\d.]+ = [\d.]+ \+ 1·[\d.]+ nats per digit \(Bernoulli\)/);
  assert.match(text, /test −ELBO \(β = 1, one draw of q\(z\|x\) per digit\)[\d.]+ nats per digit \(Bernoulli\)/);
  const events = await page.evaluate(() => window.__progress);
  assert.ok(events.length > 3 && events.every((e) => e.kind === "vae"), JSON.stringify(events.slice(0, 2)));

  // β = 8 from the next step: the worker's loss is then recon + 8·KL (the figures are means over
  // the same steps, so the identity holds to their rounding).
  await setSlider(page, "#train", "β", "8");
  await page.waitForTimeout(1500);
  const eight = (await trainingText(page, "#train")).match(/loss = reconstruction \+ β·KL \(batches\)([\d.]+) = ([\d.]+) \+ 8·([\d.]+)/);
  assert.ok(eight, await trainingText(page, "#train"));
  const [loss, recon, kl] = eight.slice(1).map(Number);
  assert.ok(Math.abs(loss - (recon + 8 * kl)) < 0.3, `${loss} vs ${recon} + 8·${kl}`);

  // Pause, end the run, and train a plain autoencoder: no KL, no ELBO, and the labels say so.
  await shadow.getByRole("button", { name: "Pause" }).click();
  await shadow.getByRole("button", { name: "End this run" }).click();
  assert.ok(!(await shadow.getByLabel("Model kind").isDisabled()), "a new architecture once the run ended");
  await shadow.getByLabel("Model kind").selectOption("autoencoder");
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => /an autoencoder has no KL term and no ELBO/.test(document.querySelector("#train").shadowRoot.querySelector(".training").textContent)
    && (document.querySelector("#train").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").length >= 2, null, { timeout: 60000, polling: 500 });
  await page.waitForFunction(() => /test reconstruction error at z = μ[\d.]+ nats per digit \(Bernoulli\)/.test(document.querySelector("#train").shadowRoot.querySelector(".training").textContent), null, { timeout: 30000 });
  const ae = await snapshots(page, "#train");
  assert.equal(ae[0].steps, 0, "the autoencoder's run starts from step 0");
  assert.ok(!/−ELBO \(β = 1/.test(await trainingText(page, "#train")));
  await page.waitForFunction(() => /^Shown: your run, step \d+: an autoencoder with a 2-D latent space/.test([...document.querySelector("#train").shadowRoot.querySelectorAll("p")].find((p) => p.textContent.startsWith("Shown:")).textContent));
  await shadow.getByRole("button", { name: "Pause" }).click();
  await shadow.getByRole("button", { name: "Resume" }).waitFor({ timeout: 10000 });
  assert.match(await trainingText(page, "#train"), /^.*steps\d+ \(epoch \d+\.\d of 10\)/s, "the epoch stays shown after a pause");
  const kept = (await snapshots(page, "#train")).at(-1).steps;
  // A setting the person changes is the widget's state: it fires change and is kept too.
  await setSlider(page, "#train", "β", "2.5");
  const settingsChange = await page.evaluate(() => window.__events.filter((e) => e.type === "change" && e.id === "train" && e.detail.source === "settings").at(-1)?.detail.settings);
  assert.deepEqual([settingsChange?.beta, settingsChange?.kind, settingsChange?.latentSize], ["2.5", "autoencoder", "2"], JSON.stringify(settingsChange));
  await waitForKept(page, "train-lesson", (record) => record?.run?.steps === kept && record.view === "train" && record.state?.beta === "2.5");

  // persist: after a reload the widget shows the kept autoencoder, and its controls match it.
  await page.reload();
  await addWidgets(page, [{ id: "train", view: "train", loading: "eager", persist: "train-lesson" }]);
  await allReady(page);
  await page.waitForFunction(() => [...document.querySelector("#train").shadowRoot.querySelectorAll("p")].some((p) => p.textContent.startsWith("Shown: your run kept")));
  const shown = await shadow.getByRole("paragraph").filter({ hasText: "Shown:" }).textContent();
  assert.equal(shown, `Shown: your run kept in this browser, step ${kept}: an autoencoder with a 2-D latent space and 256 hidden units.`);
  assert.equal(await shadow.getByLabel("Model kind").inputValue(), "autoencoder");
  assert.equal(await shadow.getByLabel("β", { exact: true }).inputValue(), "2.5", "the kept settings are back");
  const state = await page.evaluate(() => document.querySelector("#train").getState());
  assert.deepEqual([state.beta, state.kind, state.hiddenUnits], ["2.5", "autoencoder", "256"], JSON.stringify(state));
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await page.close();
});

/** Moves the slider named `label` in widget `id` to `value`, as a person dragging it would (an input event). */
async function setSlider(page, id, label, value) {
  await page.evaluate(([id, label, value]) => {
    const slider = document.querySelector(id).shadowRoot.querySelector(`input[aria-label="${label}"]`);
    slider.value = value;
    slider.dispatchEvent(new Event("input", { bubbles: true }));
  }, [id, label, value]);
}

test("view=train takes its run's settings from the settings table's attributes: they set the controls, a bad one is refused, and the run pauses, finished, after its epochs; a raised epoch count trains on", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await page.evaluate(() => {
    window.__ends = [];
    document.addEventListener("trainend", (e) => window.__ends.push(e.detail));
    // The newest snapshot's weights, as trainprogress hands them to the page: the header of a
    // safetensors file (its length, then JSON naming each tensor).
    document.addEventListener("trainprogress", ({ detail }) => {
      if (!detail.weights) return;
      const w = detail.weights;
      const length = Number(new DataView(w.buffer, w.byteOffset).getBigUint64(0, true));
      window.__weights = { steps: detail.steps, bytes: w.length, tensors: Object.keys(JSON.parse(new TextDecoder().decode(w.subarray(8, 8 + length)))).filter((k) => k !== "__metadata__") };
    });
  });
  await addWidgets(page, [
    { id: "small", view: "train", loading: "eager", kind: "autoencoder", "latent-size": "5", "hidden-units": "64", "batch-size": "256", epochs: "1", lr: "0.003", beta: "0.5", seed: "7" },
    { id: "bad", view: "train", loading: "eager", "hidden-units": "65" },
  ]);
  await page.waitForFunction(() => /hidden-units="65" is not valid: it must be one of "64", "128", "256", "400"\./.test(document.querySelector("#bad").shadowRoot.textContent));
  await page.waitForFunction(() => document.querySelector("#small").dataset.updates > 0);
  const shadow = page.locator("#small");
  const shownValues = {};
  for (const label of ["Model kind", "Latent size", "Hidden units", "Batch size", "Learning rate", "Epochs", "Seed", "β"]) shownValues[label] = await shadow.getByLabel(label, { exact: true }).inputValue();
  assert.deepEqual(shownValues, { "Model kind": "autoencoder", "Latent size": "5", "Hidden units": "64", "Batch size": "256", "Learning rate": "0.003", Epochs: "1", Seed: "7", "β": "0.5" }, "the attributes set the controls, over the shown model's kind and latent size");
  assert.equal(await page.evaluate(() => document.querySelector("#small").batchSize), "256", "batch-size reflects as batchSize");

  // One epoch of 9,000 digits in batches of 256 is 36 steps; then the run pauses, finished.
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => window.__ends.length === 1, null, { timeout: 90000, polling: 250 });
  const [end] = await page.evaluate(() => window.__ends);
  assert.deepEqual([end.kind, end.reason, end.steps], ["vae", "finished", 36], JSON.stringify(end));
  assert.match(await shadow.locator("[part=training-status]").textContent(), /^Finished 1 epoch \(step 36\)\. Raise the epoch count, then Resume trains further\.$/);
  await page.waitForFunction(() => /^Shown: your run, step 36: an autoencoder with a 5-D latent space and 64 hidden units \(Bernoulli likelihood\)\.$/.test(
    [...document.querySelector("#small").shadowRoot.querySelectorAll("p")].find((p) => p.textContent.startsWith("Shown:")).textContent));
  assert.match(await trainingText(page, "#small"), /steps36 \(epoch 1\.0 of 1\)/);
  const meter = () => page.evaluate(() => {
    const root = document.querySelector("#small").shadowRoot;
    const bar = root.querySelector('progress[aria-label="Training progress"]');
    return { max: bar.max, value: bar.value, hidden: bar.hidden, pace: root.querySelector("[part=pace]").textContent };
  });
  const done = await meter();
  assert.deepEqual([done.max, done.value, done.hidden], [1, 1, false], JSON.stringify(done));
  assert.match(done.pace, /^\d+\.\d steps\/s$/, "paused, finished: the pace, no time left");
  // getState holds the run's settings; setState(getState()) with a run changes nothing.
  const state = await page.evaluate(() => document.querySelector("#small").getState());
  assert.deepEqual([state.kind, state.latentSize, state.hiddenUnits, state.batchSize, state.lr, state.epochs, state.seed, state.beta], ["autoencoder", "5", "64", "256", "0.003", "1", "7", "0.5"], JSON.stringify(state));
  const updatesBefore = await updates(page, "#small");
  await page.evaluate(() => document.querySelector("#small").setState(document.querySelector("#small").getState()));
  assert.equal(await shadow.getByRole("button", { name: "Resume" }).count(), 1, "the paused run is still there");
  assert.equal(await updates(page, "#small"), updatesBefore, "nothing was redrawn");

  // epochs is live: raised to 2, Resume trains one more epoch and pauses again at step 72.
  await page.evaluate(() => document.querySelector("#small").setAttribute("epochs", "2"));
  assert.equal(await shadow.getByLabel("Epochs", { exact: true }).inputValue(), "2");
  assert.equal((await meter()).max, 2, "the bar's length follows the epochs");
  await shadow.getByRole("button", { name: "Resume" }).click();
  // While it runs, the time left of the two epochs.
  await page.waitForFunction(() => / · about \d+ s left of 2 epochs$/.test(document.querySelector("#small").shadowRoot.querySelector("[part=pace]").textContent), null, { timeout: 60000 });
  await page.waitForFunction(() => window.__ends.length === 2, null, { timeout: 90000, polling: 250 });
  const second = (await page.evaluate(() => window.__ends))[1];
  assert.deepEqual([second.reason, second.steps], ["finished", 72], JSON.stringify(second));
  const runs = await snapshots(page, "#small");
  assert.equal(runs.at(-1).steps, 72, "the last snapshot is the finished run's");
  assert.deepEqual([(await meter()).value, (await meter()).max], [2, 2]);
  assert.ok(runs.at(-1).scoreAtMean < runs[0].scoreAtMean, `reconstruction error ${runs[0].scoreAtMean} → ${runs.at(-1).scoreAtMean}`);
  // The test figure after each epoch: the snapshots at steps 36 and 72, listed under the figures.
  const perEpoch = await page.evaluate(() => document.querySelector("#small").shadowRoot.querySelector("[data-epochs]").dataset.epochs);
  const at = (step) => runs.find((r) => r.steps === step).scoreAtMean;
  assert.equal(perEpoch, `1:${at(36)},2:${at(72)}`);
  assert.match(await trainingText(page, "#small"), new RegExp(`test reconstruction error at z = μ after each epoch1: ${at(36).toFixed(1)} · 2: ${at(72).toFixed(1)}`));
  // The widget's own status line says what the figures show: the run, not the shipped model.
  assert.match(await shadow.locator("[part=status]").textContent(), /^Ready: the figures show your run, step 72, trained in a worker on the CPU \(WebAssembly\); they are computed from its weights on the CPU \(WebAssembly\)\.$/);
  const weights = await page.evaluate(() => window.__weights);
  assert.equal(weights.steps, 72, "trainprogress carried the last snapshot's weights");
  assert.deepEqual(weights.tensors.sort(), ["fc1.bias", "fc1.weight", "fc21.bias", "fc21.weight", "fc3.bias", "fc3.weight", "fc4.bias", "fc4.weight"], "an autoencoder's tensors, by PyTorch's names");
  assert.ok(weights.bytes > 4 * (784 * 64 + 64 * 5 + 5 * 64 + 64 * 784), `${weights.bytes} bytes`);
  assert.deepEqual(errors.filter((e) => !/hidden-units="65"/.test(e)), []);
  await page.close();
});

test("view=train: a crash in its worker goes on from the last snapshot in a fresh worker, once; while it trains, a second tab with the same persist key cannot train over the kept run, after it asks first, and the first tab offers to show the run the second kept", async () => {
  // Two tabs of one browser profile: they share the origin's storage and Web Locks.
  const context = await browser.newContext();
  const tab = async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}${LESSON}/blank.html`);
    await addWidgets(page, [{ id: "t", view: "train", loading: "eager", persist: "shared-run", "hidden-units": "64", "batch-size": "64", epochs: "5" }]);
    await allReady(page);
    return { page, errors, shadow: page.locator("#t") };
  };
  const status = (page) => page.evaluate(() => document.querySelector("#t").shadowRoot.querySelector("[part=training-status]").textContent);
  const runSteps = (page) => page.evaluate(() => (document.querySelector("#t").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").filter(Boolean).map((r) => Number(r.split(":")[0])));
  const a = await tab();
  const workers = [];
  a.page.on("worker", (w) => workers.push(w));
  await a.page.evaluate(() => {
    window.__errors = [];
    document.addEventListener("error", (e) => window.__errors.push(e.detail));
  });
  await a.shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await a.page.waitForFunction(() => (document.querySelector("#t").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").length >= 2, null, { timeout: 60000, polling: 250 });

  // The second tab's Train is refused, and so is its train(): tab one trains the run kept there.
  const b = await tab();
  await b.shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await b.page.waitForFunction(() => /^Not started: another tab \(or another widget of this page\) is training the run kept under persist="shared-run"/.test(document.querySelector("#t").shadowRoot.querySelector("[part=training-status]").textContent), null, { timeout: 20000 });
  const refused = await b.page.evaluate(() => document.querySelector("#t").train().then(() => "trained", (e) => e.message));
  assert.match(refused, /another tab \(or another widget of this page\) is training the run kept under persist="shared-run"/);

  // A failed allocation in tab one's worker: wasm aborts without the panic hook.
  const snapshotted = (await runSteps(a.page)).at(-1);
  const worker = workers.filter((w) => w.url().endsWith("/family-worker.js")).at(-1);
  await worker.evaluate(() => self.onmessage({ data: { type: "debugCrash", how: "alloc" } }));
  await a.page.waitForFunction(() => document.querySelector("#t").shadowRoot.querySelector(".training").dataset.restarted !== undefined, null, { timeout: 60000 });
  const said = await status(a.page);
  console.log(`after the crash: ${said}`);
  const [, crashedAt, from] = said.match(/^The training worker crashed at step (\d+) \(a WebAssembly trap: [^)]*\)\. Training goes on in a fresh worker on the CPU \(WebAssembly\) from the last snapshot, step (\d+); only the steps after it were lost/).map(Number);
  assert.ok(from >= snapshotted && from <= crashedAt, `went on from step ${from}: the last snapshot before the crash at ${crashedAt} (one was at ${snapshotted})`);
  await a.page.waitForFunction((from) => (document.querySelector("#t").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").some((r) => Number(r.split(":")[0]) > from), from, { timeout: 60000, polling: 250 });
  assert.equal(await a.shadow.getByRole("button", { name: "Pause" }).count(), 1, "it trains on");
  const fired = await a.page.evaluate(() => window.__errors);
  assert.equal(fired.length, 1);
  assert.equal(fired[0].type, "worker");
  // The lock was held through the restart: tab two is still refused.
  assert.match(await b.page.evaluate(() => document.querySelector("#t").train().then(() => "trained", (e) => e.message)), /another tab/);

  // A crash after a newer snapshot is restarted again; one that comes before the fresh worker's
  // first snapshot past its start stops there, so a crash that repeats does not loop.
  const restartedAt = () => a.page.evaluate(() => document.querySelector("#t").shadowRoot.querySelector(".training").dataset.restarted);
  const crash = async (how) => {
    const latest = workers.filter((w) => w.url().endsWith("/family-worker.js")).at(-1);
    await latest.evaluate((how) => self.onmessage({ data: { type: "debugCrash", how } }), how);
    return latest;
  };
  const first = String(from);
  assert.notEqual(await crash("panic"), worker, "the fresh worker is another worker");
  await a.page.waitForFunction((first) => {
    const root = document.querySelector("#t").shadowRoot.querySelector(".training");
    return root.dataset.crashes === "2" && root.dataset.restarted !== first;
  }, first, { timeout: 60000 });
  const second = Number(await restartedAt());
  assert.ok(second > from, `the second restart goes on from step ${second}, after ${from}`);
  await crash("panic");
  await a.page.waitForFunction(() => /^The training worker crashed \(/.test(document.querySelector("#t").shadowRoot.querySelector("[part=training-status]").textContent), null, { timeout: 60000 });
  const stopped = await status(a.page);
  console.log(`after a crash with no newer snapshot: ${stopped}`);
  assert.match(stopped, new RegExp(`^The training worker crashed \\(.*debugCrashLater was called.*\\); the view shows the last snapshot's weights \\(step ${second}\\)\\. Train again starts a fresh worker\\.$`));
  assert.equal(await a.shadow.getByRole("button", { name: "Train again" }).count(), 1);

  // The run ended, its lock is free. Tab two read the kept record before tab one's run was kept
  // there. A setting changed there is saved with the run kept now, tab one's, not over it.
  const keptSteps = () => b.page.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open("vae-playground-widgets", 1);
    open.onsuccess = () => {
      const get = open.result.transaction("widgets").objectStore("widgets").get("shared-run");
      get.onsuccess = () => (open.result.close(), resolve(get.result?.run?.steps ?? null));
    };
  }));
  const keptByA = await keptSteps();
  assert.ok(keptByA >= second, `tab one's run is kept (step ${keptByA})`);
  await b.shadow.getByLabel("β", { exact: true }).fill("2");
  await b.shadow.getByLabel("β", { exact: true }).dispatchEvent("input");
  await waitForKept(b.page, "shared-run", (record) => record?.state?.beta === "2");
  assert.equal(await keptSteps(), keptByA, "tab two's save kept tab one's run");
  // Its first press says that training would replace that run; its second trains.
  await b.shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await b.page.waitForFunction(() => /^Not started: another tab saved a run under persist="shared-run" since this widget read it \(step \d+, .*\); reload the page to go on from that run, or press again to train here anyway/.test(document.querySelector("#t").shadowRoot.querySelector("[part=training-status]").textContent), null, { timeout: 20000 });
  assert.match(await status(b.page), new RegExp(`\\(step ${keptByA}, `), "it names the step of the run kept there");
  await b.shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await b.page.waitForFunction(() => /^Training on 9,000 digits/.test(document.querySelector("#t").shadowRoot.querySelector("[part=training-status]").textContent), null, { timeout: 60000 });
  await b.shadow.getByRole("button", { name: "Pause" }).click();
  await b.shadow.getByRole("button", { name: "Resume" }).waitFor({ timeout: 20000 });
  // Tab one, with no run of its own now, heard tab two keep its run and offers to show it.
  // (The last save may land just after the pause: both are read until they agree.)
  let keptByB;
  for (const end = Date.now() + 10000; ;) {
    keptByB = await keptSteps();
    const heard = await a.page.evaluate(() => document.querySelector("#t").shadowRoot.querySelector(".training").dataset.newerKept);
    if (heard === String(keptByB)) break;
    if (Date.now() > end) assert.fail(`tab one heard of step ${heard}; the kept run is at step ${keptByB}`);
    await a.page.waitForTimeout(200);
  }
  assert.match(await status(a.page), new RegExp(`^Another tab kept a newer run under persist="shared-run" \\(step ${keptByB}\\)\\. “Show the newer kept run” shows it here\\.$`));
  await a.shadow.getByRole("button", { name: "Show the newer kept run" }).click();
  await a.page.waitForFunction((steps) => [...document.querySelector("#t").shadowRoot.querySelectorAll("p")].some((p) => p.textContent.startsWith(`Shown: your run kept in this browser, step ${steps}:`)), keptByB, { timeout: 30000 });
  assert.deepEqual(a.errors.filter((e) => !/RuntimeError|unreachable|debugCrashLater|panicked/.test(e)), []);
  assert.deepEqual(b.errors, []);
  await context.close();
});

test("view=hvae: the z₂ map and its two rows; picking a point redraws them; a run reports both KL terms and each layer's active units", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "hvae", view: "hvae", loading: "eager" }]);
  await allReady(page);
  const shadow = page.locator("#hvae");
  await page.waitForFunction(() => document.querySelector("#hvae").dataset.updates > 0);
  const rows = ["Same z₂, z₁ drawn 8 times", "Same noise of z₁, z₂ moved across the map"];
  const before = await Promise.all(rows.map((r) => widgetInk(page, "#hvae", r)));
  for (const ink of before) assert.ok(inkSum(ink) > 5);
  const map = shadow.getByLabel("Top-layer latent map (z₂)");
  const box = await map.boundingBox();
  const changed = page.waitForFunction(() => window.__events.some((e) => e.type === "change" && e.id === "hvae"));
  await page.mouse.click(box.x + box.width * 0.85, box.y + box.height * 0.2);
  await changed;
  const z = await page.evaluate(() => window.__events.findLast((e) => e.type === "change" && e.id === "hvae").detail.z);
  assert.ok(z[0] > 1 && z[1] > 1, `picked z₂ ${z}`);
  await page.waitForFunction(() => document.querySelector("#hvae").getState().latent?.[0] > 1);
  const after = await widgetInk(page, "#hvae", rows[0]);
  assert.ok(correlation(after, before[0]) < 0.99, "the top row was redrawn at the new z₂");
  assert.deepEqual(await page.evaluate(() => document.querySelector("#hvae").getState().latent), z);

  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => /active units z₁ \/ z₂/.test(document.querySelector("#hvae").shadowRoot.querySelector(".training").textContent), null, { timeout: 60000 });
  const runs = await snapshots(page, "#hvae");
  const last = runs.at(-1);
  for (const key of ["negElbo", "recon", "klBottom", "klTop", "activeBottom", "activeTop"]) assert.ok(Number.isFinite(last[key]), `${key} in ${JSON.stringify(last)}`);
  assert.ok(Math.abs(last.recon + last.klBottom + last.klTop - last.negElbo) < 1e-3 * last.negElbo);
  assert.match(await trainingText(page, "#hvae"), /−ELBO = recon \+ KL\(z₁\) \+ KL\(z₂\)[\d.]+ = [\d.]+ \+ [\d.]+ \+ [\d.]+ nats per digit/);
  // Save weights: the run's current weights as a safetensors file with the shipped file's tensors.
  const download = page.waitForEvent("download");
  await shadow.getByRole("button", { name: "Save weights" }).click();
  const file = await download;
  assert.match(file.suggestedFilename(), /^hierarchical-vae-step\d+\.safetensors$/);
  const names = (bytes) => Object.keys(JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString())).filter((k) => k !== "__metadata__").sort();
  const saved = await readFile(await file.path());
  assert.deepEqual(names(saved), names(await readFile(join(PKG, "assets/hvae-top2.safetensors"))));
  await page.evaluate(() => document.querySelector("#hvae").remove());
  await page.waitForFunction(async () => (await customElements.get("vae-playground").liveObjects()) === 0, null, { timeout: 10000 });
  assert.deepEqual(errors, []);
  await page.close();
});

/** The records widgets with `persist` keep, by key (read straight from IndexedDB). */
const keptRecords = (page) =>
  page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === "vae-playground-widgets")) return null;
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("vae-playground-widgets");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction("widgets");
    const [keys, values] = await Promise.all(["getAllKeys", "getAll"].map((m) => new Promise((resolve) => {
      const r = tx.objectStore("widgets")[m]();
      r.onsuccess = () => resolve(r.result);
    })));
    db.close();
    return Object.fromEntries(keys.map((k, i) => [k, { ...values[i], run: values[i].run && { steps: values[i].run.steps, bytes: values[i].run.weights.length } }]));
  });

/** Waits until the record kept under `key` satisfies `ok` (IndexedDB is read from the page). */
async function waitForKept(page, key, ok, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const record = (await keptRecords(page))?.[key];
    if (ok(record)) return record;
    if (Date.now() > end) throw new Error(`what persist="${key}" keeps is not yet as expected: ${JSON.stringify(record)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("persist keeps a widget's drawing across a reload, a widget without it stores nothing, a damaged record is used for nothing and saved over, and a bad key is refused", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  const widgets = [{ id: "kept", persist: "unit-1.pad", loading: "eager" }, { id: "plain", view: "draw", loading: "eager" }];
  await addWidgets(page, widgets);
  await allReady(page);
  await drawZeroIn(page, "#plain");
  await page.waitForFunction(() => document.querySelector("#plain").getState().drawing !== null);
  await page.waitForTimeout(600);
  // The kept widget has looked for its record (and so opened the database); nothing is in it yet.
  assert.deepEqual(await keptRecords(page), {}, "the widget without persist stored nothing");
  await drawZeroIn(page, "#kept");
  await page.waitForFunction(() => Number(document.querySelector("#kept").dataset.saved) > 0);
  const drawn = await page.evaluate(() => document.querySelector("#kept").getState().drawing);
  await waitForKept(page, "unit-1.pad", (record) => JSON.stringify(record?.state.drawing) === JSON.stringify(drawn));
  assert.ok(drawn.reduce((a, b) => a + b, 0) > 20);
  const records = await keptRecords(page);
  assert.deepEqual(Object.keys(records), ["unit-1.pad"]);
  assert.equal(records["unit-1.pad"].view, "draw");
  assert.deepEqual(records["unit-1.pad"].state.drawing, drawn);

  await page.reload();
  await addWidgets(page, widgets);
  await allReady(page);
  await page.waitForFunction(() => document.querySelector("#kept").getState().drawing !== null);
  assert.deepEqual(await page.evaluate(() => document.querySelector("#kept").getState().drawing), drawn);
  assert.equal(await page.evaluate(() => document.querySelector("#plain").getState().drawing), null);
  // What the kept drawing reconstructs is drawn again, not only stored.
  assert.ok(inkSum(await widgetInk(page, "#kept", "Reconstruction")) > 20);

  // Damaged records: one without its state, one whose run's weights are not a model. Each widget
  // says so, fires error (storage), uses none of it and works; its next save replaces the record.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open("vae-playground-widgets", 1);
    open.onsuccess = () => {
      const tx = open.result.transaction("widgets", "readwrite");
      tx.objectStore("widgets").put({ view: "draw", savedAt: 0 }, "broken.pad");
      tx.objectStore("widgets").put({ view: "train", prior: "ring", state: {}, run: { weights: new Uint8Array(4000).fill(7), steps: 9 }, savedAt: 0 }, "broken.run");
      tx.oncomplete = () => (open.result.close(), resolve());
      tx.onerror = () => reject(tx.error);
    };
  }));
  await addWidgets(page, [{ id: "broken-pad", view: "draw", persist: "broken.pad", loading: "eager" }, { id: "broken-run", view: "train", persist: "broken.run", loading: "eager" }]);
  await allReady(page);
  const line = (id) => page.evaluate((id) => document.querySelector(id).shadowRoot.querySelector("[part=status]").textContent, id);
  assert.match(await line("#broken-pad"), /What was kept under persist="broken\.pad" could not be used \(its state is missing\); none of it was applied/);
  assert.match(await line("#broken-run"), /What was kept under persist="broken\.run" could not be used \(its run's weights could not be read \(.+\)\); none of it was applied/);
  assert.match(await page.locator("#broken-run").getByRole("paragraph").filter({ hasText: "Shown:" }).textContent(), /^Shown: the model "vae-2"/);
  const storageErrors = await page.evaluate(() => window.__events.filter((e) => e.type === "error" && e.detail.type === "storage").map((e) => e.id));
  assert.deepEqual(storageErrors.sort(), ["broken-pad", "broken-run"]);
  await drawZeroIn(page, "#broken-pad");
  await waitForKept(page, "broken.pad", (record) => Array.isArray(record?.state?.drawing));
  await page.locator("#broken-run").getByLabel("β", { exact: true }).fill("3");
  await page.locator("#broken-run").getByLabel("β", { exact: true }).dispatchEvent("input");
  await waitForKept(page, "broken.run", (record) => record?.state?.beta === "3" && record.run === null);

  await addWidgets(page, [{ id: "badkey", view: "draw", persist: "two words", loading: "eager" }]);
  await page.waitForFunction(() => window.__events.some((e) => e.type === "error" && e.id === "badkey"), null, { timeout: 5000 });
  assert.match(await page.locator("#badkey").getByRole("alert").textContent(), /persist="two words" is not valid: it must be 1 to 64 letters/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=hvae with persist, driven by its API: train() and stopTraining() fire trainprogress and trainend; the run is kept across a reload until forgotten", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  const spec = [{ id: "hv", view: "hvae", persist: "hvae-run", loading: "eager" }];
  await addWidgets(page, spec);
  await allReady(page);
  await page.evaluate(() => {
    window.__progress = [];
    document.querySelector("#hv").addEventListener("trainprogress", (e) => window.__progress.push(e.detail));
  });
  await page.evaluate(() => document.querySelector("#hv").train());
  await page.waitForFunction(() => window.__progress.filter((d) => d.scores).length >= 2 && window.__progress.some((d) => d.stats && d.steps >= 30), null, { timeout: 60000, polling: 250 });
  const progress = await page.evaluate(() => window.__progress);
  const stats = progress.find((d) => d.stats);
  assert.equal(stats.kind, "hvae");
  for (const key of ["recon", "klBottom", "klTop"]) assert.ok(Number.isFinite(stats.stats[key]), `${key} in ${JSON.stringify(stats)}`);
  assert.ok(progress.filter((d) => d.scores).every((d) => Number.isFinite(d.scores.negElbo)));
  await page.evaluate(() => document.querySelector("#hv").stopTraining());
  await page.waitForFunction(() => window.__events.some((e) => e.type === "trainend"), null, { timeout: 20000 });
  const end = await page.evaluate(() => window.__events.find((e) => e.type === "trainend").detail);
  assert.equal(end.reason, "asked");
  assert.ok(end.steps >= 30, `trainend after ${end.steps} steps`);
  // train() again resumes the same run.
  await page.evaluate(() => document.querySelector("#hv").train());
  await page.waitForFunction((n) => window.__progress.some((d) => d.steps > n + 10), end.steps, { timeout: 30000 });
  await page.evaluate(() => document.querySelector("#hv").stopTraining());
  await page.waitForFunction(() => window.__events.filter((e) => e.type === "trainend").length === 2, null, { timeout: 20000 });
  const steps = await page.evaluate(() => window.__events.filter((e) => e.type === "trainend")[1].detail.steps);
  // The pause's last snapshot is what is kept: the run as it stopped.
  await waitForKept(page, "hvae-run", (record) => record?.run?.steps === steps);
  // The map shows the weights where the run stopped.
  await page.waitForFunction((steps) => document.querySelector("#hv").shadowRoot.querySelector('canvas[aria-label="Top-layer latent map (z₂)"]').dataset.steps === String(steps), steps, { timeout: 10000 });
  const kept = (await keptRecords(page))["hvae-run"];
  assert.equal(kept.view, "hvae");

  await page.reload();
  await addWidgets(page, spec);
  await allReady(page);
  const shadow = page.locator("#hv");
  assert.match(await trainingText(page, "#hv"), new RegExp(`Showing your run kept in this browser: ${steps} steps on the CPU \\(WebAssembly\\)`));
  assert.equal(await page.evaluate(() => document.querySelector("#hv").shadowRoot.querySelector(".training").dataset.restored), String(steps));
  // The widget's model is the kept run: its weights as saved, byte for byte.
  const bytes = await page.evaluate(async () => {
    const mine = await document.querySelector("#hv").toSafetensors();
    const db = await new Promise((r) => (indexedDB.open("vae-playground-widgets").onsuccess = (e) => r(e.target.result)));
    const record = await new Promise((r) => (db.transaction("widgets").objectStore("widgets").get("hvae-run").onsuccess = (e) => r(e.target.result)));
    db.close();
    return { mine: mine.length, same: mine.length === record.run.weights.length && mine.every((b, i) => b === record.run.weights[i]) };
  });
  assert.ok(bytes.same, `the widget's model is the kept run (${bytes.mine} bytes)`);
  // train() goes on from the kept run: its first snapshot is the kept step, and steps count on.
  await page.evaluate(() => document.querySelector("#hv").train());
  assert.match(await trainingText(page, "#hv"), new RegExp(`It goes on from your kept run at step ${steps}; the optimiser's state starts afresh\\.`));
  await page.waitForFunction((steps) => /;/.test(document.querySelector("#hv").shadowRoot.querySelector(".training").dataset.snapshots ?? "") , steps, { timeout: 30000 });
  const continued = await snapshots(page, "#hv");
  assert.equal(continued[0].steps, steps);
  assert.ok(continued[1].steps > steps, `steps count on: ${continued.map((r) => r.steps)}`);
  await page.evaluate(() => document.querySelector("#hv").stopTraining());
  await page.waitForFunction(() => window.__events.some((e) => e.type === "trainend"), null, { timeout: 20000 });
  const further = await page.evaluate(() => window.__events.find((e) => e.type === "trainend").detail.steps);
  await waitForKept(page, "hvae-run", (record) => record?.run?.steps === further);
  await page.reload();
  await addWidgets(page, spec);
  await allReady(page);
  assert.equal(await page.evaluate(() => document.querySelector("#hv").shadowRoot.querySelector(".training").dataset.restored), String(further));
  await shadow.getByRole("button", { name: "Forget the kept run" }).click();
  await page.waitForFunction(() => {
    const widget = document.querySelector("#hv");
    const panel = widget.shadowRoot.querySelector(".training");
    return widget.dataset.ready === "true" && panel && !panel.dataset.restored;
  }, null, { timeout: 20000 });
  assert.equal((await keptRecords(page))["hvae-run"], undefined);
  const shipped = await page.evaluate(async () => (await document.querySelector("#hv").toSafetensors()).length);
  assert.ok(shipped > 0);
  // A view without a training panel says so.
  await addWidgets(page, [{ id: "pad", view: "draw", loading: "eager" }]);
  await allReady(page);
  const refusal = await page.evaluate(() => document.querySelector("#pad").train().then(() => "trained", (e) => e.message));
  assert.match(refusal, /view="draw" has no training panel/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=train loads a person's .safetensors: a file that is no model is refused and changes nothing; a model is shown, the controls set from it, and its weights train further", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  await addWidgets(page, [{ id: "tr", view: "train", loading: "eager", "batch-size": "256", epochs: "1" }]);
  await page.waitForFunction(() => document.querySelector("#tr").dataset.updates > 0);
  const shadow = page.locator("#tr");
  const shownNote = () => page.evaluate(() => [...document.querySelector("#tr").shadowRoot.querySelectorAll("p")].find((p) => p.textContent.startsWith("Shown:")).textContent);
  const events = (type) => page.evaluate((type) => window.__events.filter((e) => e.id === "tr" && e.type === type).map((e) => e.detail), type);
  const before = await shownNote();
  const upload = shadow.getByLabel("Load weights (.safetensors)");
  await upload.setInputFiles({ name: "notes.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from("these are lecture notes, not weights") });
  await page.waitForFunction(() => window.__events.some((e) => e.id === "tr" && e.type === "error"), null, { timeout: 5000 });
  const [refused] = await events("error");
  assert.equal(refused.type, "load");
  assert.match(refused.message, /^“notes\.safetensors” was not loaded: .+\. Nothing changed\.$/);
  assert.equal(await shadow.locator("[part=training-status]").textContent(), refused.message);
  assert.equal(await shownNote(), before, "the shown model stays");

  // The shipped autoencoder, as a file a person saved: shown, and the controls follow it.
  await upload.setInputFiles({ name: "my-ae.safetensors", mimeType: "application/octet-stream", buffer: await readFile(join(PKG, "assets/ae-latent2.safetensors")) });
  await page.waitForFunction(() => document.querySelector("#tr").shadowRoot.querySelector(".training")?.dataset.loaded === "my-ae.safetensors", null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelector("#tr").dataset.ready === "true");
  assert.equal(await shownNote(), "Shown: the weights loaded from “my-ae.safetensors”, an autoencoder with a 2-D latent space and 400 hidden units (Bernoulli likelihood). \"Train a fresh one here\" trains an autoencoder with the settings above and shows it instead.");
  assert.equal(await shadow.getByLabel("Model kind", { exact: true }).inputValue(), "autoencoder");
  assert.equal(await shadow.getByLabel("Hidden units", { exact: true }).inputValue(), "400");
  assert.match(await shadow.locator("[part=training-status]").textContent(), /^Showing the weights of “my-ae\.safetensors”\. "Go on training these weights" trains them further/);

  // Going on trains those weights: the run's first snapshot (step 0) is the file's model, whose
  // test reconstruction error is far below a fresh autoencoder's ~540 nats.
  await shadow.getByRole("button", { name: "Go on training these weights" }).click();
  await page.waitForFunction(() => window.__events.some((e) => e.id === "tr" && e.type === "trainend"), null, { timeout: 90000, polling: 250 });
  const [end] = await events("trainend");
  assert.deepEqual([end.reason, end.steps], ["finished", 36], JSON.stringify(end));
  const runs = await snapshots(page, "#tr");
  assert.equal(runs[0].steps, 0);
  assert.ok(runs[0].scoreAtMean < 200, `the first snapshot's reconstruction error: ${runs[0].scoreAtMean}`);
  await page.waitForFunction(() => /^Shown: your run, step 36: an autoencoder with a 2-D latent space and 400 hidden units/.test(
    [...document.querySelector("#tr").shadowRoot.querySelectorAll("p")].find((p) => p.textContent.startsWith("Shown:")).textContent));
  assert.equal(await upload.isDisabled(), true, "a run exists (paused, finished): loading waits until it is ended");
  assert.deepEqual(errors, []);
  await page.close();
});

test("backend=\"webgpu\" makes the GPU the training panel's first choice; where no adapter answers, train() rejects with why, fires trainend and an error, and the view stays; a run moved there mid-run keeps training on the CPU", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`);
  // This browser runs without --enable-unsafe-webgpu: navigator.gpu exists, no adapter answers.
  assert.equal(await page.evaluate(async () => Boolean(navigator.gpu) && (await navigator.gpu.requestAdapter()) === null), true);
  await addWidgets(page, [{ id: "gpu", view: "aae", backend: "webgpu", loading: "eager" }, { id: "cpu", view: "aae", loading: "eager" }]);
  await allReady(page);
  assert.equal(await page.locator("#gpu").getByLabel("Where to train").inputValue(), "webgpu");
  assert.equal(await page.locator("#cpu").getByLabel("Where to train").inputValue(), "auto", "the default backend is auto");
  assert.deepEqual(await page.locator("#cpu").getByLabel("Where to train").locator("option").evaluateAll((options) => options.map((o) => o.value)), ["auto", "webgpu", "cpu"]);
  const refusal = await page.evaluate(() => document.querySelector("#gpu").train().then(() => "trained", (e) => e.message));
  assert.match(refusal, /WebGPU/);
  await page.waitForFunction(() => window.__events.some((e) => e.type === "trainend" && e.id === "gpu"));
  const events = await page.evaluate(() => window.__events.filter((e) => e.id === "gpu" && (e.type === "trainend" || e.type === "error")).map((e) => [e.type, e.detail.reason ?? e.detail.type]));
  assert.deepEqual(events, [["trainend", "failed"], ["error", "worker"]]);
  assert.match(await trainingText(page, "#gpu"), /Training could not start: .*WebGPU/);
  assert.equal(await page.evaluate(() => document.querySelector("#gpu").dataset.ready), "true", "the shipped model stays on screen");
  // "auto" with no adapter trains on the CPU, and the status says why it passed over WebGPU.
  await page.evaluate(() => document.querySelector("#cpu").train());
  assert.match(await trainingText(page, "#cpu"), /on the CPU.*\(“Auto” passed over WebGPU: no WebGPU adapter is available\)/);
  // Moved to WebGPU mid-run, where no adapter answers: the run keeps training on the CPU from
  // the snapshot where it paused to move, its steps counting on.
  await page.waitForFunction(() => (document.querySelector("#cpu").shadowRoot.querySelector(".training").dataset.snapshots ?? "").split(";").length >= 2, null, { timeout: 30000, polling: 250 });
  await page.locator("#cpu").getByLabel("Where to train").selectOption("webgpu");
  // (Moving… first; then, once the CPU worker trains, where it went on from.)
  await page.waitForFunction(() => /^The run could not move \(.*\d+\.$/.test(document.querySelector("#cpu").shadowRoot.querySelector("[part=training-status]").textContent), null, { timeout: 30000 });
  const stayed = await page.locator("#cpu").locator("[part=training-status]").textContent();
  console.log(`a move to WebGPU without an adapter: ${stayed}`);
  const [, pausedAt] = stayed.match(/^The run could not move \(.*WebGPU.*\); it keeps training on the CPU \(WebAssembly\) from step (\d+)\.$/).map(Number);
  const rows = (await page.evaluate(() => document.querySelector("#cpu").shadowRoot.querySelector(".training").dataset.snapshots)).split(";").map((r) => Number(r.split(":")[0]));
  assert.ok(pausedAt > 0 && rows.every((step, i) => i === 0 || step >= rows[i - 1]), `went on from step ${pausedAt}; snapshots ${rows}`);
  assert.equal(await page.locator("#cpu").getByLabel("Where to train").inputValue(), "auto", "the select shows where the run trains");
  assert.ok(await page.evaluate(() => window.__events.some((e) => e.type === "error" && e.id === "cpu" && /could not move/.test(e.detail.message))));
  await page.evaluate(() => document.querySelector("#cpu").stopTraining());
  // A backend the element does not know is refused with the choices.
  await page.evaluate(() => document.querySelector("#cpu").setAttribute("backend", "gpu"));
  await page.waitForFunction(() => window.__events.some((e) => e.type === "error" && e.id === "cpu" && /backend="gpu"/.test(e.detail.message)), null, { timeout: 5000 });
  assert.match(await page.locator("#cpu").getByRole("alert").textContent(), /backend="gpu" is not valid: it must be one of "auto", "webgpu", "cpu"/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("view=vrae under the strict CSP: the shipped model scores the labelled anomaly above normal beats; a jagged drawn window scores high; a run in a worker lowers the held-out −ELBO", async () => {
  const { page, errors } = await openPage(`${LESSON}/blank.html`, { prefix: "strict/" });
  await addWidgets(page, [{ id: "vrae", view: "vrae", loading: "eager" }]);
  await allReady(page);
  const shadow = page.locator("#vrae");
  for (const label of ["Series with its reconstruction", "Close-up of the series and its reconstruction", "Anomaly score along time", "Drawing pad for a short series"]) {
    await shadow.getByLabel(label).waitFor();
  }
  const data = (label, key) => page.evaluate(([l, k]) => document.querySelector("#vrae").shadowRoot.querySelector(`canvas[aria-label="${l}"]`).dataset[k], [label, key]);
  // The shipped weights on the held-out windows, every 16 samples (natively 0.979 every 4).
  await page.waitForFunction(() => document.querySelector("#vrae").shadowRoot.querySelector('canvas[aria-label="Anomaly score along time"]').dataset.auc);
  const auc = Number(await data("Anomaly score along time", "auc"));
  assert.ok(auc > 0.95, `shipped ROC AUC ${auc}`);
  const figures = await shadow.locator("dl").first().textContent();
  assert.match(figures, /ROC AUC, anomalous against normal windows0\.9\d\d/);
  assert.match(figures, /held-out −ELBO \(one draw of z\)−?[\d.]+ = −?[\d.]+ \+ [\d.]+ nats per window/);
  // Both lines are drawn: dark pixels (the series) and orange ones (its reconstruction).
  const colours = await page.evaluate(() => {
    const c = document.querySelector("#vrae").shadowRoot.querySelector('canvas[aria-label="Series with its reconstruction"]');
    const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    let [dark, orange] = [0, 0];
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] < 80 && data[i + 1] < 80) dark++;
      if (data[i] > 200 && data[i + 1] > 90 && data[i + 1] < 170 && data[i + 2] < 80) orange++;
    }
    return { dark, orange };
  });
  assert.ok(colours.dark > 500 && colours.orange > 500, JSON.stringify(colours));

  // The pad starts from a normal training window; a jagged stroke across it scores far higher.
  await page.waitForFunction(() => document.querySelector("#vrae").shadowRoot.querySelector('canvas[aria-label="Drawing pad for a short series"]').dataset.score);
  const normal = Number(await data("Drawing pad for a short series", "score"));
  const pad = await shadow.getByLabel("Drawing pad for a short series").boundingBox();
  await page.mouse.move(pad.x + pad.width * 0.3, pad.y + pad.height * 0.5);
  await page.mouse.down();
  for (let k = 0; k <= 16; k++) await page.mouse.move(pad.x + pad.width * (0.3 + k * 0.02), pad.y + pad.height * (k % 2 ? 0.1 : 0.9));
  await page.mouse.up();
  await page.waitForFunction((n) => Number(document.querySelector("#vrae").shadowRoot.querySelector('canvas[aria-label="Drawing pad for a short series"]').dataset.score) > n + 50, normal);
  const jagged = Number(await data("Drawing pad for a short series", "score"));
  const note = await shadow.locator('[part="pad-score"]').textContent();
  const rank = Number(/above ([\d.]+)% of the held-out normal windows/.exec(note)[1]);
  assert.ok(rank > 99, `a jagged window (score ${jagged}, a normal one ${normal}) ranks above ${rank}% of normal windows`);

  // The close-up starts at the anomaly and follows a click on the series.
  assert.equal(await data("Close-up of the series and its reconstruction", "from"), String(4187 - 160));
  const overview = await shadow.getByLabel("Series with its reconstruction").boundingBox();
  await page.mouse.click(overview.x + overview.width * 0.5, overview.y + overview.height * 0.5);
  const from = Number(await data("Close-up of the series and its reconstruction", "from"));
  assert.ok(Math.abs(from + 160 - 3750) < 40, `close-up from ${from}`);

  // A fresh model trained in the worker: five epochs of 18 steps lower the held-out −ELBO.
  await shadow.getByRole("button", { name: "Train a fresh one here" }).click();
  await page.waitForFunction(() => {
    const text = document.querySelector("#vrae").shadowRoot.querySelector(".training").dataset.snapshots ?? "";
    return text.split(";").some((row) => Number(row.split(":")[0]) >= 90);
  }, null, { timeout: 120000, polling: 500 });
  const runs = await snapshots(page, "#vrae");
  const [first, last] = [runs[0], runs.at(-1)];
  assert.equal(first.steps, 0);
  assert.ok(last.negElbo < first.negElbo - 10, `held-out −ELBO ${first.negElbo} at initialisation, ${last.negElbo} after ${last.steps} steps`);
  assert.ok(Math.abs(last.recon + last.kl - last.negElbo) < 1e-3 * Math.max(1, Math.abs(last.negElbo)));
  assert.match(await trainingText(page, "#vrae"), /−ELBO = recon \+ KL \(training windows\)−?[\d.]+ = −?[\d.]+ \+ [\d.]+ nats per window/);
  await page.evaluate(() => document.querySelector("#vrae").remove());
  await page.waitForFunction(async () => (await customElements.get("vae-playground").liveObjects()) === 0, null, { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await page.close();
});
