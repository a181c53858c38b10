// @ts-check
// The account's order history: filters, pages by cursor, and one order's
// whole timeline on click.

import { ApiError, call } from "./api.js";
import { byId, clock, el, tokenLabel } from "./dom.js";
import { renderOrder } from "./timeline.js";

const STATUSES = ["pending", "open", "routing", "building", "submitted", "confirmed", "failed", "cancelled", "expired"];

export class History {
  constructor() {
    this.form = /** @type {HTMLFormElement} */ (byId("history-filter"));
    /** The cursors of the pages before this one (a stack), and this page's. @type {(string | null)[]} */
    this.cursors = [];
    /** @type {string | null} */
    this.cursor = null;
    /** @type {string | null} */
    this.next = null;
    const status = byId("h-status");
    status.append(...STATUSES.map((s) => el("option", { value: s }, s)));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.cursors = [];
      this.cursor = null;
      void this.load();
    });
    byId("h-older").addEventListener("click", () => {
      if (!this.next) return;
      this.cursors.push(this.cursor);
      this.cursor = this.next;
      void this.load();
    });
    byId("h-newer").addEventListener("click", () => {
      if (!this.cursors.length) return;
      this.cursor = this.cursors.pop() ?? null;
      void this.load();
    });
  }

  async load() {
    const data = new FormData(this.form);
    const params = new URLSearchParams();
    for (const name of ["status", "userId", "limit"]) {
      const value = String(data.get(name) ?? "").trim();
      if (value) params.set(name, value);
    }
    if (this.cursor) params.set("before", this.cursor);
    byId("history-error").textContent = "";
    let page;
    try {
      page = await call(`/api/orders?${params}`);
    } catch (e) {
      byId("history-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
      return;
    }
    this.next = page.nextCursor;
    const rows = page.orders.map((/** @type {any} */ o) => {
      const open = el("button", { type: "button", class: "link", "aria-label": `Order ${o.orderId}` }, clock(o.createdAt));
      open.addEventListener("click", () => void this.show(o.orderId));
      const row = el(
        "tr",
        { "data-order-id": o.orderId },
        el("td", {}, open),
        el("td", {}, o.type),
        el("td", { title: tokenLabel(o.tokenOut) === o.tokenOut ? null : o.tokenOut }, `${o.tokenIn} → ${tokenLabel(o.tokenOut)}`),
        el("td", {}, o.amountIn),
        el("td", {}, o.amountOut ?? "—"),
        el("td", {}, o.route?.dex ?? "—"),
        el("td", {}, el("span", { class: `status ${o.status}` }, o.status)),
      );
      row.addEventListener("click", (e) => {
        if (e.target !== open) void this.show(o.orderId);
      });
      return row;
    });
    const body = /** @type {HTMLTableElement} */ (byId("history-table")).tBodies[0];
    body.replaceChildren(...rows);
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No orders.")));
    /** @type {HTMLButtonElement} */ (byId("h-older")).disabled = !this.next;
    /** @type {HTMLButtonElement} */ (byId("h-newer")).disabled = this.cursors.length === 0;
    byId("h-page").textContent = `page ${this.cursors.length + 1}`;
  }

  /** @param {string} orderId */
  async show(orderId) {
    try {
      const order = await call(`/api/orders/${orderId}`);
      const section = byId("history-detail");
      section.hidden = false;
      const card = el("div", { class: "order" });
      renderOrder(card, order, async (id) => {
        await call(`/api/orders/${id}`, { method: "DELETE" });
        await Promise.all([this.show(id), this.load()]);
      });
      byId("detail-body").replaceChildren(card);
      section.scrollIntoView({ block: "nearest" });
    } catch (e) {
      byId("history-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
    }
  }
}
