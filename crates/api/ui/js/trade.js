// @ts-check
// The order form with a live quote, and this page's live orders. Market and
// limit orders pick both tokens from the listed pairs; a sniper names the
// token it buys as free text (a symbol or a mint, listed or not), has no
// quote (its pool does not exist yet), and may cap its price and ask for a
// least liquidity.

import { ApiError, call } from "./api.js";
import { bpsText, byId, clock, el, isDecimal, markInvalid, percentToBps, tokenLabel } from "./dom.js";
import { OrderStream } from "./stream.js";
import { renderOrder } from "./timeline.js";

const VENUES = ["raydium", "meteora"];
const QUOTE_DELAY_MS = 150;
/** A symbol (1–16 letters or digits) or a base58 mint, as the API reads a sniper's token. */
const TOKEN_NAME = /^(?:[A-Za-z0-9]{1,16}|[1-9A-HJ-NP-Za-km-z]{32,44})$/;
/** What each order type does, under the type select. */
const TYPE_HELP = {
  market: "A market order is routed to the best venue at once.",
  limit: "A limit order rests open until the market reaches its price; cancel it any time before.",
  sniper:
    "A sniper order rests open until a pool for its token launches, deep enough and within your price; cancel it any time before. It expires in 24 hours.",
};
/** The submit button's words for each order type. */
const SUBMIT_TEXT = { market: "Swap", limit: "Place limit order", sniper: "Place sniper order" };
/** The form control of each field an order body names, for the API's refusals. */
const CONTROLS = {
  amountIn: "amount",
  slippageBps: "slippage",
  limitPrice: "limit-price",
  maxPrice: "max-price",
  minLiquidity: "min-liquidity",
  tokenIn: "token-in",
};

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
    this.sniperToken = /** @type {HTMLInputElement} */ (byId("sniper-token"));
    this.maxPrice = /** @type {HTMLInputElement} */ (byId("max-price"));
    this.minLiquidity = /** @type {HTMLInputElement} */ (byId("min-liquidity"));
    /** @type {Token[]} */
    this.tokens = [];
    /** @type {Pair[]} */
    this.pairs = [];
    /** @type {AbortController | null} */
    this.quoting = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {Map<string, import("./timeline.js").OrderCard & {node: HTMLElement}>} */
    this.live = new Map();
    this.stream = new OrderStream({ onEvent: (e) => this.onEvent(e), onState, onGone: (id) => this.onGone(id) });

    this.tokenIn.addEventListener("change", () => {
      this.fillOutputs();
      this.showType();
    });
    this.tokenOut.addEventListener("change", () => this.showType());
    this.amount.addEventListener("input", () => this.requote());
    this.slippage.addEventListener("input", () => this.requote());
    this.type.addEventListener("change", () => {
      // What was wrong with the last order of another type no longer applies.
      byId("order-error").textContent = "";
      markInvalid(this.form, {}, undefined);
      this.showType();
    });
    this.limitPrice.addEventListener("input", () => this.requote());
    this.sniperToken.addEventListener("input", () => this.showType());
    byId("flip").addEventListener("click", () => this.flip());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  async start() {
    await this.loadTokens();
    this.stream.start();
  }

  /** Reads the tokens and pairs (launched tokens join them), keeping the choices made. */
  async loadTokens() {
    const listing = await call("/api/tokens");
    this.tokens = listing.tokens;
    this.pairs = listing.pairs;
    const previous = this.tokenIn.value;
    const tradable = new Set(this.pairs.map((p) => p.tokenIn));
    this.tokenIn.replaceChildren(
      ...this.tokens.filter((t) => tradable.has(t.symbol)).map((t) => el("option", { value: t.symbol }, t.symbol)),
    );
    this.tokenIn.value = tradable.has(previous) ? previous : tradable.has("SOL") ? "SOL" : this.tokenIn.value;
    this.fillOutputs();
    this.showType();
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

  /** The order type chosen. @returns {"market" | "limit" | "sniper"} */
  orderType() {
    const type = this.type.value;
    return type === "limit" || type === "sniper" ? type : "market";
  }

  /** Shows the fields of the chosen order type, with their units. */
  showType() {
    const type = this.orderType();
    const sniper = type === "sniper";
    byId("limit-fields").hidden = type !== "limit";
    byId("slippage-fields").hidden = type === "limit";
    byId("sniper-fields").hidden = !sniper;
    byId("token-out-pick").hidden = sniper;
    byId("token-out-free").hidden = !sniper;
    byId("sniper-token-help").hidden = !sniper;
    /** @type {HTMLButtonElement} */ (byId("flip")).disabled = sniper;
    const paid = this.tokenIn.value;
    const target = this.sniperTarget() || "token";
    byId("limit-unit").textContent = `(${this.tokenOut.value} per ${paid})`;
    byId("max-price-unit").textContent = `(${paid} per ${tokenLabel(target)})`;
    byId("min-liquidity-unit").textContent = `(${paid})`;
    byId("type-help").textContent = TYPE_HELP[type];
    byId("submit-order").textContent = SUBMIT_TEXT[type];
    this.requote();
  }

  /** The token a sniper buys, as typed: a symbol in capitals, a mint as it is. */
  sniperTarget() {
    const name = this.sniperToken.value.trim();
    return name.length <= 16 ? name.toUpperCase() : name;
  }

  /**
   * The form as an order body and the quote to show beside it, or an error message.
   * @returns {{order?: Record<string, string | number>, quote?: Record<string, string>, error?: string, field?: string}}
   */
  body() {
    const amountIn = this.amount.value.trim();
    if (!amountIn) return { error: "Enter an amount." };
    if (this.orderType() === "sniper") return this.sniperBody(amountIn);
    const pair = { tokenIn: this.tokenIn.value, tokenOut: this.tokenOut.value, amountIn };
    if (this.orderType() === "limit") {
      const limitPrice = this.limitPrice.value.trim();
      if (!isDecimal(limitPrice)) return { quote: pair, error: "Enter a limit price, e.g. 160." };
      return { order: { type: "limit", ...pair, limitPrice }, quote: pair };
    }
    const slippageBps = percentToBps(this.slippage.value);
    if (slippageBps === null) return { error: "Slippage must be 0.01–50 %, at most two decimals." };
    return { order: { ...pair, slippageBps }, quote: { ...pair, slippageBps: String(slippageBps) } };
  }

  /**
   * A sniper's body: its token, and its cap and least liquidity when given.
   * @param {string} amountIn
   * @returns {{order?: Record<string, string | number>, error?: string, field?: string}}
   */
  sniperBody(amountIn) {
    const tokenOut = this.sniperToken.value.trim();
    if (!TOKEN_NAME.test(tokenOut)) {
      return { error: "Enter the token to buy: a symbol (1–16 letters or digits) or a mint.", field: "tokenOut" };
    }
    const slippageBps = percentToBps(this.slippage.value);
    if (slippageBps === null) return { error: "Slippage must be 0.01–50 %, at most two decimals.", field: "slippageBps" };
    /** @type {Record<string, string | number>} */
    const order = { type: "sniper", tokenIn: this.tokenIn.value, tokenOut, amountIn, slippageBps };
    const maxPrice = this.maxPrice.value.trim();
    if (maxPrice && !isDecimal(maxPrice)) return { error: "Max price must be a decimal, e.g. 0.000001.", field: "maxPrice" };
    if (maxPrice) order.maxPrice = maxPrice;
    const minLiquidity = this.minLiquidity.value.trim();
    if (minLiquidity && !isDecimal(minLiquidity)) {
      return { error: "Min liquidity must be a decimal, e.g. 100.", field: "minLiquidity" };
    }
    if (minLiquidity) order.minLiquidity = minLiquidity;
    return { order };
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
    byId("quote-empty").textContent =
      this.orderType() === "sniper"
        ? "A sniper order has no quote: its token's pool does not exist yet. It fires on the first pool state that meets its terms."
        : "Enter an amount to see both venues' prices.";
    if (this.orderType() === "sniper") {
      byId("quote-body").hidden = true;
      byId("quote-empty").hidden = false;
      return;
    }
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
    const { order, error, field } = this.body();
    const problem = byId("order-error");
    problem.textContent = "";
    const controls = { ...CONTROLS, tokenOut: this.orderType() === "sniper" ? "sniper-token" : "token-out" };
    markInvalid(this.form, controls, undefined);
    if (!order) {
      problem.textContent = error ?? "";
      markInvalid(this.form, controls, field ?? (this.amount.value.trim() ? undefined : "amountIn"));
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (byId("submit-order"));
    button.disabled = true;
    try {
      const reply = await this.stream.submit(order);
      if (reply.type === "rejected") {
        problem.textContent = `${reply.error.code}: ${reply.error.message}`;
        markInvalid(this.form, controls, reply.error.field);
        return;
      }
      const sniper = order.type === "sniper";
      this.add({
        orderId: reply.orderId,
        type: this.orderType(),
        tokenIn: String(order.tokenIn),
        tokenOut: sniper ? this.sniperTarget() : String(order.tokenOut),
        amountIn: String(order.amountIn),
        maxPrice: sniper ? (order.maxPrice === undefined ? null : String(order.maxPrice)) : undefined,
        minLiquidity: sniper ? String(order.minLiquidity ?? "0") : undefined,
      });
    } finally {
      button.disabled = false;
    }
  }

  /** @param {Omit<import("./timeline.js").OrderCard, "events">} order */
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

  /** The order's socket closed with 1011: it is no longer in the database. @param {string} orderId */
  onGone(orderId) {
    const entry = this.live.get(orderId);
    if (!entry) return;
    entry.gone = true;
    renderOrder(entry.node, entry, (id) => this.cancel(id));
  }

  /** @param {import("./stream.js").StatusEvent} event */
  onEvent(event) {
    const entry = this.live.get(event.orderId);
    if (!entry) return;
    entry.events.push(event);
    renderOrder(entry.node, entry, (id) => this.cancel(id));
  }
}
