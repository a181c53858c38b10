// @ts-check
// The order form with a live quote, and this page's live orders.

import { ApiError, call } from "./api.js";
import { bpsText, byId, clock, el, percentToBps } from "./dom.js";
import { OrderStream } from "./stream.js";
import { renderOrder } from "./timeline.js";

const VENUES = ["raydium", "meteora"];
const QUOTE_DELAY_MS = 150;

/** @typedef {{symbol: string, mint: string, decimals: number}} Token */
/** @typedef {{tokenIn: string, tokenOut: string, venues: string[]}} Pair */

export class Trade {
  /** @param {(s: "online" | "connecting" | "offline") => void} onState */
  constructor(onState) {
    this.form = /** @type {HTMLFormElement} */ (byId("order-form"));
    this.tokenIn = /** @type {HTMLSelectElement} */ (byId("token-in"));
    this.tokenOut = /** @type {HTMLSelectElement} */ (byId("token-out"));
    this.amount = /** @type {HTMLInputElement} */ (byId("amount"));
    this.slippage = /** @type {HTMLInputElement} */ (byId("slippage"));
    this.type = /** @type {HTMLSelectElement} */ (byId("order-type"));
    this.limitPrice = /** @type {HTMLInputElement} */ (byId("limit-price"));
    /** @type {Token[]} */
    this.tokens = [];
    /** @type {Pair[]} */
    this.pairs = [];
    /** @type {AbortController | null} */
    this.quoting = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {Map<string, {orderId: string, tokenIn: string, tokenOut: string, amountIn: string, events: any[], node: HTMLElement}>} */
    this.live = new Map();
    this.stream = new OrderStream({ onEvent: (e) => this.onEvent(e), onState });

    this.tokenIn.addEventListener("change", () => {
      this.fillOutputs();
      this.requote();
    });
    this.tokenOut.addEventListener("change", () => {
      this.showType();
      this.requote();
    });
    this.amount.addEventListener("input", () => this.requote());
    this.slippage.addEventListener("input", () => this.requote());
    this.type.addEventListener("change", () => this.showType());
    this.limitPrice.addEventListener("input", () => this.requote());
    byId("flip").addEventListener("click", () => this.flip());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  async start() {
    const listing = await call("/api/tokens");
    this.tokens = listing.tokens;
    this.pairs = listing.pairs;
    const tradable = new Set(this.pairs.map((p) => p.tokenIn));
    this.tokenIn.replaceChildren(
      ...this.tokens.filter((t) => tradable.has(t.symbol)).map((t) => el("option", { value: t.symbol }, t.symbol)),
    );
    this.tokenIn.value = tradable.has("SOL") ? "SOL" : this.tokenIn.value;
    this.fillOutputs();
    this.stream.start();
  }

  stop() {
    this.stream.stop();
  }

  /** The outputs the chosen input trades into. */
  fillOutputs() {
    const previous = this.tokenOut.value;
    const outs = this.pairs.filter((p) => p.tokenIn === this.tokenIn.value).map((p) => p.tokenOut);
    this.tokenOut.replaceChildren(...outs.map((s) => el("option", { value: s }, s)));
    if (outs.includes(previous)) this.tokenOut.value = previous;
    else if (outs.includes("USDC")) this.tokenOut.value = "USDC";
    const token = this.tokens.find((t) => t.symbol === this.tokenIn.value);
    byId("amount-unit").textContent = token ? `(${token.symbol}, up to ${token.decimals} decimals)` : "";
  }

  flip() {
    const [a, b] = [this.tokenIn.value, this.tokenOut.value];
    if (!this.pairs.some((p) => p.tokenIn === b && p.tokenOut === a)) return;
    this.tokenIn.value = b;
    this.fillOutputs();
    this.tokenOut.value = a;
    this.requote();
  }

  /** Shows the fields of the chosen order type. */
  showType() {
    const limit = this.type.value === "limit";
    byId("limit-fields").hidden = !limit;
    byId("slippage-fields").hidden = limit;
    byId("limit-unit").textContent = `(${this.tokenOut.value} per ${this.tokenIn.value})`;
    byId("submit-order").textContent = limit ? "Place limit order" : "Swap";
  }

  /**
   * The form as an order body and the quote to show beside it, or an error message.
   * @returns {{order?: Record<string, string | number>, quote?: Record<string, string>, error?: string}}
   */
  body() {
    const amountIn = this.amount.value.trim();
    if (!amountIn) return { error: "Enter an amount." };
    const pair = { tokenIn: this.tokenIn.value, tokenOut: this.tokenOut.value, amountIn };
    if (this.type.value === "limit") {
      const limitPrice = this.limitPrice.value.trim();
      if (!/^\d+(\.\d+)?$/.test(limitPrice)) return { quote: pair, error: "Enter a limit price, e.g. 160." };
      return { order: { type: "limit", ...pair, limitPrice }, quote: pair };
    }
    const slippageBps = percentToBps(this.slippage.value);
    if (slippageBps === null) return { error: "Slippage must be 0.01–50 %, at most two decimals." };
    return { order: { ...pair, slippageBps }, quote: { ...pair, slippageBps: String(slippageBps) } };
  }

  requote() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.quote(), QUOTE_DELAY_MS);
  }

  async quote() {
    this.quoting?.abort();
    const { quote: order, error } = this.body();
    const panel = byId("quote");
    byId("quote-error").textContent = "";
    if (!order) {
      byId("quote-body").hidden = true;
      byId("quote-empty").hidden = false;
      if (this.amount.value.trim()) byId("quote-error").textContent = error ?? "";
      return;
    }
    const controller = new AbortController();
    this.quoting = controller;
    panel.setAttribute("aria-busy", "true");
    const params = new URLSearchParams(order);
    try {
      const quote = await call(`/api/quote?${params}`, { signal: controller.signal });
      if (this.quoting === controller) this.showQuote(quote);
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") return;
      byId("quote-body").hidden = true;
      byId("quote-empty").hidden = true;
      byId("quote-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
    } finally {
      if (this.quoting === controller) panel.setAttribute("aria-busy", "false");
    }
  }

  /** @param {any} q */
  showQuote(q) {
    byId("quote-empty").hidden = true;
    byId("quote-body").hidden = false;
    byId("q-out").textContent = `${q.amountOut} ${q.tokenOut}`;
    byId("q-min").textContent = `${q.minAmountOut} ${q.tokenOut}`;
    byId("q-price").textContent = `${q.price} ${q.tokenOut}/${q.tokenIn}`;
    byId("q-impact").textContent = bpsText(q.priceImpactBps);
    byId("q-slot").textContent = String(q.slot);
    byId("q-at").textContent = clock(q.quotedAt);
    byId("q-reason").textContent = q.route.reason;
    const legs = q.route.legs;
    const venues = VENUES.map((dex) => {
      const quote = q.route.quotes.find((/** @type {any} */ x) => x.dex === dex);
      const chosen = legs.some((/** @type {any} */ l) => l.dex === dex);
      const card = el(
        "div",
        { class: `venue${chosen ? " chosen" : ""}${quote ? "" : " refused"}`, "data-venue": dex, "data-chosen": chosen },
        el("h4", {}, dex, chosen ? el("span", { class: "badge" }, legs.length > 1 ? "part of the split" : "best") : null),
      );
      card.append(
        quote
          ? el(
              "dl",
              {},
              el("dt", {}, "Out"), el("dd", {}, `${quote.amountOut} ${q.tokenOut}`),
              el("dt", {}, "Price"), el("dd", {}, quote.price),
              el("dt", {}, "Fee"), el("dd", {}, `${quote.fee} ${q.tokenIn}`),
              el("dt", {}, "Impact"), el("dd", {}, bpsText(quote.priceImpactBps)),
            )
          : el("p", { class: "small muted" }, "No quote for the whole amount."),
      );
      return card;
    });
    byId("q-venues").replaceChildren(...venues);
    const bar = byId("q-split");
    bar.replaceChildren(
      ...legs.map((/** @type {any} */ leg) => {
        const part = el("span", { class: leg.dex, title: `${leg.amountIn} ${q.tokenIn} on ${leg.dex}` }, `${leg.dex} ${bpsText(leg.shareBps)}`);
        part.style.width = `${leg.shareBps / 100}%`;
        return part;
      }),
    );
    bar.setAttribute(
      "aria-label",
      legs.map((/** @type {any} */ l) => `${bpsText(l.shareBps)} on ${l.dex}`).join(", "),
    );
  }

  async submit() {
    const { order, error } = this.body();
    const problem = byId("order-error");
    problem.textContent = "";
    if (!order) {
      problem.textContent = error ?? "";
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (byId("submit-order"));
    button.disabled = true;
    try {
      const reply = await this.stream.submit(order);
      if (reply.type === "rejected") {
        problem.textContent = `${reply.error.code}: ${reply.error.message}`;
        return;
      }
      this.add({
        orderId: reply.orderId,
        tokenIn: String(order.tokenIn),
        tokenOut: String(order.tokenOut),
        amountIn: String(order.amountIn),
      });
    } finally {
      button.disabled = false;
    }
  }

  /** @param {{orderId: string, tokenIn: string, tokenOut: string, amountIn: string}} order */
  add(order) {
    if (this.live.has(order.orderId)) return;
    const node = el("li", { class: "order", "data-order-id": order.orderId });
    const entry = { ...order, events: /** @type {any[]} */ ([]), node };
    this.live.set(order.orderId, entry);
    byId("live-empty").hidden = true;
    byId("live-orders").prepend(node);
    renderOrder(node, entry, (id) => this.cancel(id));
  }

  /** Cancels an open order; its `cancelled` event comes over the stream. @param {string} orderId */
  async cancel(orderId) {
    await call(`/api/orders/${orderId}`, { method: "DELETE" });
  }

  /** @param {import("./stream.js").StatusEvent} event */
  onEvent(event) {
    const entry = this.live.get(event.orderId);
    if (!entry) return;
    entry.events.push(event);
    renderOrder(entry.node, entry, (id) => this.cancel(id));
  }
}
