// @ts-check
// Small helpers: building elements (text only, never HTML strings, so nothing
// the server or a user sends can inject markup) and formatting.

/**
 * An element with attributes and children.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = String(value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** @param {string} id */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`no element #${id}`);
  return node;
}

/** A time of day with milliseconds, in the viewer's zone. @param {string} iso */
export function clock(iso) {
  const d = new Date(iso);
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A date and time of day, in the viewer's zone. @param {string} iso */
export function when(iso) {
  return `${new Date(iso).toLocaleDateString()} ${clock(iso)}`;
}

/**
 * A token as a person reads it: a symbol as it is, a mint (longer than any
 * symbol) shortened to its ends.
 * @param {string} name
 */
export function tokenLabel(name) {
  return name.length > 16 ? `${name.slice(0, 4)}…${name.slice(-4)}` : name;
}

/** Text with every mint in it shortened, as [tokenLabel] does (a pool's id names its mints). @param {string} text */
export function shortMints(text) {
  return text.replace(/[1-9A-HJ-NP-Za-km-z]{32,44}/g, (mint) => tokenLabel(mint));
}

/**
 * Marks the control a refused request names (the contract's `field`) as
 * invalid and moves the focus to it; clears the other marks in `form`.
 * @param {HTMLFormElement} form
 * @param {Record<string, string>} controls the id of each field's control
 * @param {string | undefined} field
 */
export function markInvalid(form, controls, field) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const id = field ? controls[field] : undefined;
  if (!id) return;
  const control = byId(id);
  control.setAttribute("aria-invalid", "true");
  control.focus();
}

/** Whether `text` is a plain positive decimal (`0.000001`, `160`). @param {string} text */
export function isDecimal(text) {
  return /^\d+(\.\d+)?$/.test(text);
}

/** A short duration. @param {number} ms */
export function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/**
 * A percentage typed by a person ("0.5") as whole basis points (50), by
 * string arithmetic; null unless it is 0.01–50 with at most two decimals.
 * @param {string} text
 */
export function percentToBps(text) {
  const match = /^\s*(\d{1,2})(?:\.(\d{1,2}))?\s*%?\s*$/.exec(text);
  if (!match) return null;
  const bps = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return bps >= 1 && bps <= 5000 ? bps : null;
}

/** Basis points as a percentage. @param {number} bps */
export function bpsText(bps) {
  return `${(bps / 100).toFixed(2)} %`;
}

/** Whether a status ends an order. @param {string} status */
export function isTerminal(status) {
  return ["confirmed", "failed", "cancelled", "expired"].includes(status);
}
