// @ts-check
// The HTTP side of the API: every request carries the signed-in key; every
// failure becomes an ApiError with the contract's stable code.

const KEY = "oee.apiKey";

/** The key of this tab's session, if signed in. */
export function storedKey() {
  return sessionStorage.getItem(KEY);
}

/** @param {string | null} key */
export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** A refused or failed request: `code` is the contract's (or NETWORK). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string | undefined} [field]
   */
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * A JSON request to the API with the session's key.
 * @param {string} path
 * @param {{method?: string, body?: unknown, signal?: AbortSignal, key?: string}} [options]
 * @returns {Promise<any>}
 */
export async function call(path, options = {}) {
  const headers = new Headers({ accept: "application/json" });
  const key = options.key ?? storedKey();
  if (key) headers.set("authorization", `Bearer ${key}`);
  let body;
  if (options.body !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, { method: options.method ?? "GET", headers, body, signal: options.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", "the server cannot be reached");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!response.ok) {
    const error = json?.error;
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? text, error?.field);
  }
  return json;
}

/** A single-use ticket for one WebSocket (browsers cannot set its headers). */
export async function ticket() {
  const reply = await call("/api/ws-tickets", { method: "POST" });
  return /** @type {string} */ (reply.ticket);
}

/** The WebSocket URL of `path` on this origin, with a fresh ticket. */
export async function socketUrl(path, params = {}) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  url.searchParams.set("ticket", await ticket());
  return url.toString();
}
