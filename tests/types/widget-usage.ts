// A course author's script against the element's types (pkg/widget.d.ts), type-checked with tsc --strict.
import { VaePlayground } from "../../pkg/widget.js";

const widget = document.createElement("vae-playground");
const same: VaePlayground = widget;
widget.view = "latent";
widget.addEventListener("change", (e) => {
  const z: number[] = e.detail.z ?? [];
  console.log(z.length, same.view);
});
widget.persist = "unit-1";
const trainer = document.createElement("vae-playground");
trainer.view = "train";
trainer.hiddenUnits = "64";
trainer.batchSize = "256";
trainer.epochs = "3";
const rule: string = trainer.sigmaRule;
console.log(rule, trainer.getState().latentSize);
widget.addEventListener("trainprogress", (e) => {
  const steps: number = e.detail.steps;
  console.log(steps, e.detail.stats?.recon, e.detail.scores?.mmd2);
  if (e.detail.kind === "vae") console.log(e.detail.scores?.negElbo);
  // A snapshot's weights, to show in another widget.
  if (e.detail.weights) void widget.loadSafetensors(e.detail.weights);
});
trainer.addEventListener("change", (e) => {
  if (e.detail.source === "settings") console.log(e.detail.settings?.beta, e.detail.settings?.latentSize);
});
widget.addEventListener("trainend", (e) => {
  if (e.detail.reason === "diverged") console.log(e.detail.message);
  if (e.detail.reason === "finished") console.log(e.detail.steps);
});
widget.addEventListener("error", (e) => {
  if (e.detail.type === "csp") console.log(e.detail.message);
});
async function use(): Promise<void> {
  await widget.ready;
  const state = widget.getState();
  await widget.setState({ ...state, drawing: null });
  widget.setLatent([0.5, -1]);
  const bytes: Uint8Array = await widget.toSafetensors();
  await widget.loadSafetensors(bytes);
  await widget.train();
  widget.stopTraining();
  // @ts-expect-error: setDrawing takes numbers, not a string
  widget.setDrawing("0,1,0");
  // @ts-expect-error: the version is fixed
  VaePlayground.version = "9";
}
void use;
