// @ts-check
// The dashboard's shell: signing in with an API key, the views, and the
// connection indicator.

import { ApiError, call, storeKey, storedKey } from "./api.js";
import { byId } from "./dom.js";
import { History } from "./history.js";
import { Ops } from "./ops.js";
import { Trade } from "./trade.js";

/** @type {{trade: Trade, history: History, ops: Ops, admin: boolean} | null} */
let app = null;

/** @param {"online" | "connecting" | "offline"} state */
function showConnection(state) {
  const pill = byId("connection");
  pill.textContent = state;
  pill.className = `pill ${state}`;
  // A quote that failed while the server was away is worth asking again.
  if (state === "online") app?.trade.requote();
}

/** Checks a key, and whether it is an admin's. @param {string} key */
async function probe(key) {
  const active = await call("/api/orders/active", { key });
  let admin = true;
  try {
    await call("/api/queue/stats", { key });
  } catch (e) {
    if (!(e instanceof ApiError && e.code === "FORBIDDEN")) throw e;
    admin = false;
  }
  return { active, admin };
}

async function signIn(/** @type {string} */ key) {
  const { admin } = await probe(key);
  storeKey(key);
  byId("sign-in").hidden = true;
  byId("tabs").hidden = false;
  byId("who").hidden = false;
  for (const node of document.querySelectorAll("[data-admin]")) /** @type {HTMLElement} */ (node).hidden = !admin;
  byId("account-name").textContent = admin ? "admin key" : "trader key";
  app = { trade: new Trade(showConnection), history: new History(), ops: new Ops(), admin };
  route();
  app.trade.start().catch((e) => {
    byId("order-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
  });
}

function signOut() {
  app?.trade.stop();
  app?.ops.stop();
  app = null;
  storeKey(null);
  location.hash = "";
  location.reload();
}

/** Shows the view the URL names. */
function route() {
  if (!app) return;
  let view = location.hash.slice(1) || "trade";
  if (view === "ops" && !app.admin) view = "trade";
  for (const name of ["trade", "history", "ops"]) byId(`view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("#tabs a")) {
    const current = /** @type {HTMLElement} */ (link).dataset.view === view;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "history") void app.history.load();
  // A token launched from the operations view trades like any other.
  if (view === "trade" && app.trade.tokens.length) app.trade.loadTokens().catch(() => {});
  if (view === "ops") app.ops.start();
  else app.ops.stop();
}

function init() {
  const form = /** @type {HTMLFormElement} */ (byId("sign-in-form"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = /** @type {HTMLInputElement} */ (byId("api-key")).value.trim();
    const error = byId("sign-in-error");
    error.textContent = "";
    try {
      await signIn(key);
    } catch (err) {
      error.textContent =
        err instanceof ApiError ? `${err.code}: ${err.message}` : "Could not sign in: the server cannot be reached.";
    }
  });
  byId("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  const key = storedKey();
  if (key) {
    signIn(key).catch(() => {
      storeKey(null);
      byId("sign-in").hidden = false;
    });
  }
}

init();
