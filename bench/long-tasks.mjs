// Long tasks (over 50 ms, the browser's own count) on the page's main thread while its training
// panel trains, in headless Chromium (not a test: it prints numbers), run by ./scripts/bench. Every
// ~2 s a training snapshot redraws the page's sections with the new weights; each wasm call of those
// redraws starts in a task of its own (widget-runtime.js turn()), so no redraw should add up to one.
import { launch, serve } from "../tests/browser/helpers.mjs";

const SECONDS = Number(process.env.SECONDS_TRAINING ?? 20);
const RUNS = Number(process.env.RUNS ?? 2);
const server = await serve();
const browser = await launch();
for (let run = 0; run < RUNS; run++) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url);
  await page.waitForSelector("body[data-started=true]");
  await page.evaluate(() => {
    window.__long = [];
    // Each long task: its start (ms since the page's start), its length, and how many snapshots
    // the page had redrawn by then.
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push([Math.round(e.startTime), e.duration, Number(document.body.dataset.snapshots ?? 0)]);
    }).observe({ type: "longtask" });
  });
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await page.waitForTimeout(SECONDS * 1000);
  const { tasks, snapshots } = await page.evaluate(() => ({ tasks: window.__long, snapshots: Number(document.body.dataset.snapshots ?? 0) }));
  const long = tasks.map(([, ms]) => ms);
  if (process.env.DETAIL) console.log(JSON.stringify(tasks.map(([at, ms, n]) => ({ at, ms: Math.round(ms), snapshots: n }))));
  console.log(`training ${SECONDS} s on the page (${snapshots} snapshots redrawn): ${long.length} long tasks${long.length ? `, longest ${Math.round(Math.max(...long))} ms` : ""}`);
  await page.close();
}
await browser.close();
await server.close();
