// The view and the settings in the address bar, so a link reproduces them. Only values that differ
// from the page's defaults are written, under short names ("?model=20&walk=random&beta=4").

import { SETTING } from "./widget-settings.js";

function defaultValue(el) {
  if (el.tagName === "SELECT") return ([...el.options].find((o) => o.defaultSelected) ?? el.options[0])?.value;
  return el.defaultValue;
}

/** `{ id: text }` for the settings (page-settings.js) the URL carries. */
export function readUrl(settings) {
  const params = new URLSearchParams(location.search);
  const out = {};
  for (const { id, url } of settings) if (params.has(url)) out[id] = params.get(url);
  return out;
}

/**
 * Keeps the URL in step with the settings' controls (page-settings.js) and with the options of the page's
 * <vae-playground> elements (`{ element, attr, url }`, written under `url`, by default the option's own name). An option
 * the link carries is applied to its element first, if the element's table of options accepts it
 * (junk is left out); the page's markup gives its default. Returns the function that writes the URL now.
 */
export function watchUrl(settings, widgetOptions = []) {
  const params = new URLSearchParams(location.search);
  const options = widgetOptions.filter((o) => o.element).map(({ element, attr, url = attr }) => {
    const initial = element.getAttribute(attr) ?? String(SETTING[attr].default);
    const given = params.get(url);
    const value = given !== null && Object.hasOwn(OLD_VALUES[attr] ?? {}, given) ? OLD_VALUES[attr][given] : given;
    if (value !== null && acceptsOption(attr, value)) element.setAttribute(attr, value);
    return { element, attr, url, initial };
  });
  const sync = () => {
    const params = new URLSearchParams();
    for (const { id, url } of settings) {
      const el = document.getElementById(id);
      if (el && el.value !== defaultValue(el)) params.set(url, el.value);
    }
    for (const { element, attr, url, initial } of options) {
      const value = element.getAttribute(attr);
      if (value !== null && value !== initial) params.set(url, value);
    }
    const query = params.toString();
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  };
  for (const { id } of settings) {
    document.getElementById(id)?.addEventListener("change", sync);
    document.getElementById(id)?.addEventListener("input", sync);
  }
  const observer = new MutationObserver(sync);
  for (const { element, attr } of options) observer.observe(element, { attributes: true, attributeFilter: [attr] });
  return sync;
}

/** Values old links carry that the element names otherwise: the page's walk, before it was the
 * element, called its paths by the core's names. */
const OLD_VALUES = { walk: { random: "wander", between: "morph" } };

/** Whether the element's table of options accepts `text` for `attr`. */
function acceptsOption(attr, text) {
  try {
    SETTING[attr].parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether a control offers `text` as a value: one of a select's options, or for a numeric input a
 * finite number within its min and max and on its step. Junk in a link is left out, not applied. */
export function accepts(el, text) {
  text = String(text);
  if (el.tagName === "SELECT") return [...el.options].some((o) => o.value === text);
  if (el.type !== "number" && el.type !== "range") return true;
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v)) return false;
  if (el.min !== "" && v < Number(el.min)) return false;
  if (el.max !== "" && v > Number(el.max)) return false;
  if (el.step === "any") return true;
  const step = el.step === "" ? 1 : Number(el.step);
  const steps = (v - (el.min === "" ? 0 : Number(el.min))) / step;
  return Math.abs(steps - Math.round(steps)) < 1e-9;
}
