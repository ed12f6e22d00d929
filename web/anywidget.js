// The widget as an anywidget module (https://anywidget.dev): MyST / Jupyter Book's {anywidget}
// directive and notebooks render it with the model's traits as the element's attributes:
//   ```{anywidget} https://example.org/vae-playground/anywidget.js
//   {"view": "latent", "model": "vae-20"}
//   ```
// Load it by URL (not inlined as a string), so it finds the element and the wasm beside it.
import { SETTINGS } from "./widget-settings.js";

const widgetModule = new URL("./widget.js", import.meta.url).href;

export default {
  async render({ model, el }) {
    await import(widgetModule);
    const widget = document.createElement("vae-playground");
    const apply = () => {
      for (const { attr } of SETTINGS) {
        const value = model.get(attr);
        if (value === undefined || value === null) widget.removeAttribute(attr);
        else widget.setAttribute(attr, String(value));
      }
    };
    apply();
    for (const { attr } of SETTINGS) model.on(`change:${attr}`, apply);
    const forward = (e) => model.send?.({ event: e.type, detail: JSON.parse(JSON.stringify(e.detail ?? null, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v))) });
    for (const type of ["load", "error", "change"]) widget.addEventListener(type, forward);
    el.append(widget);
    return () => {
      for (const { attr } of SETTINGS) model.off?.(`change:${attr}`, apply);
      widget.remove();
    };
  },
};
