// The view and the settings in the address bar, so a link reproduces them. Only values that differ
// from the page's defaults are written, under short names ("?model=20&walk=random&beta=4").
// What each setting is called in a link, and what it accepts, is the settings table's
// (widget-settings.js), the same that builds the page's controls (`fillControl`).

import { SETTING } from "./widget-settings.js";

function defaultValue(el) {
  if (el.tagName === "SELECT") return ([...el.options].find((o) => o.defaultSelected) ?? el.options[0])?.value;
  return el.defaultValue;
}

/** `{ control: text }` for the settings (the table's rows with a control) the URL carries. */
export function readUrl(settings) {
  const params = new URLSearchParams(location.search);
  const out = {};
  for (const { control, url } of settings) if (params.has(url)) out[control] = params.get(url);
  return out;
}

/** Builds the page's control for a row of the settings table: a select gets the row's choices (its
 * default selected), a number input or slider its range and default. */
export function fillControl(el, row) {
  if (el.tagName === "SELECT") {
    el.replaceChildren(...row.choices.map(([value, label]) => {
      const selected = value === String(row.default);
      return new Option(label, value, selected, selected);
    }));
    return;
  }
  const { min, max, step } = row.range;
  Object.assign(el, { min: String(min), max: String(max), step: String(step) });
  el.defaultValue = String(row.default);
  el.value = String(row.default);
}

/** Whether the row of the settings table accepts `text` (junk in a link is left out, not applied). */
export function acceptsSetting(row, text) {
  try {
    row.parse(String(text));
    return true;
  } catch {
    return false;
  }
}

/**
 * Keeps the URL in step with the settings' controls (the table's rows with a control) and with the options of the page's
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
    for (const { control, url } of settings) {
      const el = document.getElementById(control);
      if (el && el.value !== defaultValue(el)) params.set(url, el.value);
    }
    for (const { element, attr, url, initial } of options) {
      const value = element.getAttribute(attr);
      if (value !== null && value !== initial) params.set(url, value);
    }
    const query = params.toString();
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  };
  for (const { control } of settings) {
    document.getElementById(control)?.addEventListener("change", sync);
    document.getElementById(control)?.addEventListener("input", sync);
  }
  const observer = new MutationObserver(sync);
  for (const { element, attr } of options) observer.observe(element, { attributes: true, attributeFilter: [attr] });
  return sync;
}

/** Values old links carry that the element names otherwise: the page's walk, before it was the
 * element, called its paths by the core's names. */
const OLD_VALUES = { walk: { random: "wander", between: "morph" } };

/** Whether the element's table of options accepts `text` for `attr`. */
const acceptsOption = (attr, text) => acceptsSetting(SETTING[attr], text);
