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

test("free() while calls are pending, and a crash while calls are pending: every promise settles", async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}pkg/package.json`);
  const result = await page.evaluate(async () => {
    const { default: init, Vae, panicked, debugCrashLater } = await import("/pkg/vae_playground.js");
    await init();
    const within = (promise, ms = 10000) =>
      Promise.race([
        promise.then((value) => ({ value }), (error) => ({ error: String(error?.message ?? error) })),
        new Promise((resolve) => setTimeout(() => resolve({ error: `still pending after ${ms} ms` }), ms)),
      ]);
    const vae = await Vae.create({ latentDim: 2, hidden: 64, seed: 1, backend: "cpu" });
    const z = new Float32Array([0.4, -0.7]);
    const before = Array.from(await vae.decode(z, 1));
    const decoding = vae.decode(z, 1);
    const training = vae.trainStep(new Float32Array(2 * 784).fill(0.5), 2);
    let freeError = null;
    try {
      vae.free();
    } catch (e) {
      freeError = String(e?.message ?? e);
    }
    const decoded = await within(decoding.then((v) => Array.from(v)));
    const trained = await within(training);

    // A panic while two calls wait: both reject naming the crash; later calls reject at once.
    const other = await Vae.create({ latentDim: 2, hidden: 64, seed: 2, backend: "cpu" });
    const slow = within(debugCrashLater("panic", 5000));
    const crash = within(debugCrashLater("panic", 20));
    const [crashed, waiting] = [await crash, await slow];
    const after = await within(other.decode(z, 1));
    return { before, decoded, trained, freeError, crashed, waiting, after, panicked: panicked() };
  });
  assert.equal(result.freeError, null, "free() with calls pending does not throw");
  assert.deepEqual(result.decoded.value, result.before, `the pending decode finishes with the same answer: ${JSON.stringify(result.decoded).slice(0, 200)}`);
  assert.ok(Number.isFinite(result.trained.value?.loss), JSON.stringify(result.trained));
  for (const outcome of [result.crashed, result.waiting, result.after]) {
    assert.match(outcome.error ?? "resolved", /the module crashed \([\s\S]*debugCrashLater was called/);
  }
  assert.equal(result.panicked, true);
  // The crash itself is reported once, as an uncaught error, after the hook rejected the calls.
  assert.ok(errors.some((e) => /unreachable|RuntimeError|debugCrashLater/.test(e)), errors.join("\n"));
  await page.close();
});

// Every export of the package, called 2,500 times with arguments drawn at random (seeded) from
// values a careless or hostile caller might pass: each call returns, throws an Error, or its
// promise settles within 20 s; none traps the module, and a model never touched keeps answering
// exactly as before.
test("no export can crash the module: random arguments against every function and method", async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}pkg/package.json`);
  const report = await page.evaluate(async () => {
    const pkg = await import("/pkg/vae_playground.js");
    await pkg.default();
    let seed = 12345; // mulberry32: a small, well-mixed seeded generator
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = (list) => list[Math.floor(random() * list.length)];
    const numbers = [undefined, null, NaN, Infinity, -Infinity, -1, 0, 0.5, 1, 1, 1, 2, 2, 2, 3, 10, 28, 784, 2 ** 32 + 1, 2 ** 53, 1e300, -0, "1", "abc", true, {}, []];
    const floatArray = () => {
      const length = pick([0, 1, 2, 2, 3, 4, 20, 784, 784, 1568, 2352, Math.floor(random() * 3000)]);
      const fill = pick([0.5, 0, 1, NaN, Infinity, -1, 2, 1e30]);
      const out = new Float32Array(length).fill(fill);
      if (random() < 0.5) for (let i = 0; i < length; i++) out[i] = random();
      return out;
    };
    const byteArray = () => {
      const length = pick([0, 1, 2, 8, 24, 785, 3000]);
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = pick([0, 1, 9, 10, 255, Math.floor(random() * 256)]);
      if (random() < 0.3 && length >= 8) out.set([0x56, 0x41, 0x45, 0x44], 0); // "VAED"
      return out;
    };
    const options = () => {
      const out = {};
      for (const key of ["latentDim", "hidden", "kind", "likelihood", "seed", "backend", "lr", "beta", "batchSize", "labels"]) {
        if (random() < 0.4) out[key] = pick([...numbers, "vae", "conditional", "autoencoder", "gaussian", "cpu", "webgpu", byteArray()]);
      }
      return pick([out, undefined, null, 5, "x"]);
    };
    const value = () => pick([pick(numbers), floatArray(), byteArray(), options(), pick(["circle", "random", "between", "x"])]);
    const args = (count) => Array.from({ length: count }, () => (random() < 0.7 ? pick([floatArray, byteArray, () => pick(numbers), options])() : value()));

    const within = (promise) =>
      Promise.race([promise.then(() => "resolved", (e) => (e instanceof Error ? "rejected" : `rejected with a non-Error: ${e}`)), new Promise((r) => setTimeout(() => r("hung"), 20000))]);
    const weights = new Uint8Array(await (await fetch("/assets/vae-latent2.safetensors")).arrayBuffer());
    const witness = await pkg.Vae.fromSafetensors(weights, { backend: "cpu" });
    const z = new Float32Array([0.3, -1.2]);
    const before = Array.from(await witness.decode(z, 1));
    let victim = await pkg.Vae.fromSafetensors(weights, { backend: "cpu" });
    const walk = new pkg.LatentWalk("circle", 2, 1);
    const projection = new pkg.Projection(new Float32Array([0, 1, 2, 3, 4, 5]), 2, 3);
    // Each export with a generator of valid arguments; a call gets them as they are (a third of
    // the time), with one replaced by a random value (a third), or all random (a third), so both
    // the checks and the work behind them are reached.
    const n = () => 1 + Math.floor(random() * 4);
    const floats = (count) => Float32Array.from({ length: count }, () => random());
    const digitsFile = (count) => {
      const bytes = new Uint8Array(8 + 785 * count);
      bytes.set([0x56, 0x41, 0x45, 0x44, count & 255, count >> 8, 0, 0]);
      for (let i = 8; i < 8 + 784 * count; i++) bytes[i] = Math.floor(random() * 256);
      for (let i = 8 + 784 * count; i < bytes.length; i++) bytes[i] = Math.floor(random() * 10);
      return bytes;
    };
    const calls = {
      "Vae.create": [(o) => pkg.Vae.create(o), () => [{ latentDim: n(), hidden: 8 * n(), seed: n(), backend: "cpu" }]],
      "Vae.fromSafetensors": [(b, o) => pkg.Vae.fromSafetensors(b, o), () => [random() < 0.5 ? weights : weights.slice(0, Math.floor(random() * weights.length)), { backend: "cpu" }]],
      encode: [(...a) => victim.encode(...a), () => { const k = n(); return [floats(784 * k), k]; }],
      decode: [(...a) => victim.decode(...a), () => { const k = n(); return [floats(2 * k), k]; }],
      reconstruct: [(...a) => victim.reconstruct(...a), () => { const k = n(); return [floats(784 * k), k]; }],
      posteriorDraws: [(...a) => victim.posteriorDraws(...a), () => [floats(2), floats(2), n(), n()]],
      manifold: [(...a) => victim.manifold(...a), () => [1 + n()]],
      scoreAtMean: [(...a) => victim.scoreAtMean(...a), () => { const k = n(); return [floats(784 * k), k]; }],
      trainStep: [(...a) => victim.trainStep(...a), () => { const k = n(); return [floats(784 * k), k, { lr: 1e-3 * n() }]; }],
      trainBatch: [(...a) => victim.trainBatch(...a), () => [{ batchSize: n() }]],
      testScores: [() => victim.testScores(), () => []],
      toSafetensors: [() => victim.toSafetensors(), () => []],
      loadSafetensors: [(b) => victim.loadSafetensors(b), () => [random() < 0.5 ? weights : weights.slice(0, Math.floor(random() * weights.length))]],
      setTrainingDigits: [(...a) => victim.setTrainingDigits(...a), () => [digitsFile(10 + 10 * n()), n()]],
      toMnist: [(...a) => pkg.toMnist(...a), () => { const [w, h] = [8 * n(), 8 * n()]; return [floats(w * h), w, h]; }],
      rgbaToMnist: [(...a) => pkg.rgbaToMnist(...a), () => { const [w, h] = [8 * n(), 8 * n()]; return [new Uint8Array(4 * w * h).fill(200), w, h]; }],
      standardNormal: [(...a) => pkg.standardNormal(...a), () => [n(), n()]],
      testDigits: [(b) => pkg.testDigits(b), () => [digitsFile(10 * n())]],
      latentArithmetic: [(...a) => pkg.latentArithmetic(...a), () => [floats(2), floats(2), floats(2)]],
      klPerDimension: [(...a) => pkg.klPerDimension(...a), () => { const [k, d] = [n(), n()]; return [floats(k * d), floats(k * d), k, d]; }],
      "new LatentWalk": [(...a) => new pkg.LatentWalk(...a).free(), () => [pick(["circle", "random", "between"]), 2, n(), floats(2), floats(2), floats(4)]],
      "LatentWalk.advance": [(...a) => walk.advance(...a), () => [random(), n()]],
      "new Projection": [(...a) => new pkg.Projection(...a).free(), () => { const [k, d] = [1 + n(), 1 + n()]; return [floats(k * d), k, d]; }],
      "Projection.project": [(...a) => projection.project(...a), () => { const k = n(); return [floats(3 * k), k]; }],
      "Projection.lift": [(...a) => projection.lift(...a), () => [random(), random()]],
      "Projection.liftNear": [(...a) => projection.liftNear(...a), () => [random(), random()]],
    };
    const argumentsFor = (valid) => {
      const mode = random();
      if (mode < 1 / 3) return valid;
      if (mode < 2 / 3 && valid.length) {
        const out = [...valid];
        out[Math.floor(random() * out.length)] = value();
        return out;
      }
      return args(Math.max(1, valid.length));
    };
    const names = Object.keys(calls);
    const outcomes = {};
    const bad = [];
    for (let i = 0; i < 2500; i++) {
      const name = pick(names);
      let outcome;
      try {
        const [call, valid] = calls[name];
        const result = call(...argumentsFor(valid()));
        outcome = result instanceof Promise ? await within(result) : "returned";
        if (result instanceof Promise && name.startsWith("Vae.")) result.then((v) => v?.free?.(), () => {});
      } catch (e) {
        outcome = e instanceof WebAssembly.RuntimeError ? `trapped: ${e.message}` : e instanceof Error ? "threw" : `threw a non-Error: ${e}`;
      }
      outcomes[name] ??= {};
      outcomes[name][outcome] = (outcomes[name][outcome] ?? 0) + 1;
      if (!["returned", "threw", "resolved", "rejected"].includes(outcome) || pkg.panicked()) {
        bad.push(`${name}: ${outcome} ${pkg.panicMessage() ?? ""}`);
        break;
      }
    }
    const after = Array.from(await witness.decode(z, 1));
    return { outcomes, bad, same: after.every((v, i) => v === before[i]), panicked: pkg.panicked() };
  });
  console.log(`random calls: ${Object.entries(report.outcomes).map(([name, o]) => `${name} ${JSON.stringify(o)}`).join("; ")}`);
  assert.deepEqual(report.bad, []);
  assert.equal(report.panicked, false);
  assert.ok(report.same, "the untouched model answers exactly as before");
  assert.ok(Object.keys(report.outcomes).length >= 20, "every export was called");
  assert.deepEqual(errors, []);
  await page.close();
});
