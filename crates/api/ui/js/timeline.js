// @ts-check
// An order's card: its pair and amounts, its status, and a timeline of every
// status event with the time each step took; retries show as new attempts,
// failures with their code; the transaction and its instructions on demand.

import { clock, duration, el, tokenLabel, when } from "./dom.js";

/** @typedef {import("./stream.js").StatusEvent} StatusEvent */
/**
 * What a card shows of an order: a live one as placed on this page, or one
 * read from the API. A sniper's `tokenOut` may be a mint; its `maxPrice` is
 * null without a cap, its `minLiquidity` "0" without a floor. `gone`: the
 * engine closed its socket with 1011, the order is no longer in the database.
 * @typedef {{orderId: string, type?: string, tokenIn: string, tokenOut: string, amountIn: string,
 *   maxPrice?: string | null, minLiquidity?: string, events: StatusEvent[], gone?: boolean}} OrderCard
 */

/**
 * Renders an order card into `node` (replacing its content). An open (limit
 * or sniper) order gets a Cancel button calling `onCancel`, when given.
 * @param {HTMLElement} node
 * @param {OrderCard} order
 * @param {(orderId: string) => Promise<void>} [onCancel]
 */
export function renderOrder(node, order, onCancel) {
  const events = order.events;
  const last = events[events.length - 1];
  const status = last?.status ?? "pending";
  const confirmed = events.find((e) => e.status === "confirmed");
  const failed = events.find((e) => e.status === "failed");
  const submitted = [...events].reverse().find((e) => e.status === "submitted");
  const building = [...events].reverse().find((e) => e.status === "building");
  const open = [...events].reverse().find((e) => e.status === "open");
  // A sniper's open event has no minimum while its token is unknown.
  const sniper = order.type === "sniper" || (open !== undefined && open.minAmountOut === undefined);
  const target = tokenLabel(order.tokenOut);

  const header = el(
    "header",
    {},
    el("strong", { title: target === order.tokenOut ? null : order.tokenOut }, `${order.amountIn} ${order.tokenIn} → ${confirmed ? `${confirmed.amountOut} ` : ""}${target}`),
    sniper ? el("span", { class: "kind" }, "sniper") : null,
    el("span", { class: `status ${status}`, "data-status": status }, status),
    confirmed ? el("span", { class: "small" }, `via ${confirmed.dex} at ${confirmed.executedPrice}`) : null,
    el("span", { class: "muted small mono" }, order.orderId),
  );

  const steps = el("ol", { class: "timeline", "aria-label": "Status history" });
  events.forEach((event, i) => {
    const previous = events[i - 1];
    const took = previous ? duration(Date.parse(event.at) - Date.parse(previous.at)) : clock(event.at);
    const retry = event.status === "routing" && (event.attempt ?? 1) > 1;
    const label = retry ? `routing (attempt ${event.attempt})` : event.status;
    steps.append(
      el(
        "li",
        { class: `${event.status}${retry ? " retry" : ""}`, "data-seq": event.seq, title: `seq ${event.seq} at ${clock(event.at)}` },
        label,
        el("span", { class: "t" }, took),
      ),
    );
  });

  const details = el("details", {}, el("summary", {}, "Transaction and route"));
  if (submitted) {
    details.append(
      el("p", {}, "Transaction ", el("span", { class: "mono" }, submitted.txHash), ` (attempt ${submitted.attempt})`),
    );
    if (Array.isArray(submitted.instructions)) {
      const list = el("ol", { class: "instructions" });
      for (const ix of submitted.instructions) list.append(el("li", {}, describe(ix)));
      details.append(list);
    }
  }
  if (building?.route) {
    const r = building.route;
    details.append(el("p", {}, `Route: ${r.dex}, at least ${r.minAmountOut} ${order.tokenOut}. ${r.reason}.`));
  }
  if (!submitted && !building) details.append(el("p", { class: "muted" }, "Not routed yet."));

  node.replaceChildren(header, steps);
  if (open && status === "open") {
    const until = `until ${when(open.expiresAt)}`;
    const waiting = sniper
      ? `Waiting for ${target}'s pool: ${terms(order, open.maxPrice)}, ${until}.`
      : `Waiting for at least ${open.minAmountOut} ${order.tokenOut} ${until}.`;
    node.append(el("p", { class: "resting" }, waiting));
    if (open.lastError) node.append(el("p", { class: "small muted" }, `Open again: ${open.lastError.code} — ${open.lastError.message}`));
    if (onCancel) {
      const button = el("button", { type: "button", class: "cancel" }, "Cancel order");
      button.addEventListener("click", () => {
        button.setAttribute("disabled", "");
        onCancel(order.orderId).catch((e) => {
          button.removeAttribute("disabled");
          node.append(el("p", { class: "error", role: "alert" }, e?.code ? `${e.code}: ${e.message}` : String(e)));
        });
      });
      node.append(button);
    }
  }
  for (const event of events) {
    if (event.status === "routing" && event.trigger) {
      node.append(el("p", { class: "small fired" }, `Fired at ${event.trigger.price} ${target}/${order.tokenIn} (slot ${event.trigger.slot}).`));
    }
  }
  if (status === "expired") {
    const why = sniper ? `no pool for ${target} met its terms` : "the market reached its price";
    node.append(el("p", { class: "muted" }, `Expired before ${why}.`));
  }
  for (const event of events) {
    if (event.status === "routing" && event.lastError) {
      node.append(el("p", { class: "small muted" }, `Attempt ${event.attempt - 1} failed: ${event.lastError.code} — ${event.lastError.message}`));
    }
  }
  if (failed) {
    node.append(el("p", { class: "failure", "data-code": failed.error?.code }, `${failed.error?.code}: ${failed.error?.message}`));
  }
  if (order.gone) {
    node.append(el("p", { class: "failure", role: "alert" }, "This order is no longer in the database (lost in a store failover): what it showed may not have happened."));
  }
  node.append(details);
}

/**
 * A sniper's terms in words: `at most 0.000001 SOL per PEPE, at least 100 SOL deep`.
 * @param {OrderCard} order
 * @param {string | null | undefined} maxPrice
 */
function terms(order, maxPrice) {
  const target = tokenLabel(order.tokenOut);
  const price = maxPrice ? `at most ${maxPrice} ${order.tokenIn} per ${target}` : "at any price";
  const deep = order.minLiquidity && !/^0(\.0*)?$/.test(order.minLiquidity);
  return deep ? `${price}, at least ${order.minLiquidity} ${order.tokenIn} deep` : price;
}

/** One instruction in words. @param {any} ix */
function describe(ix) {
  switch (ix.instruction) {
    case "setComputeUnitLimit":
      return `Compute budget: ${ix.units} units`;
    case "setComputeUnitPrice":
      return `Priority fee: ${ix.microLamports} micro-lamports per unit`;
    case "createTokenAccount":
      return `Create the ${ix.token} account if missing`;
    case "wrapSol":
      return `Wrap ${ix.amount} SOL into wSOL`;
    case "swap":
      return `Swap ${ix.amountIn} on ${ix.dex} (${ix.pool})`;
    case "unwrapSol":
      return "Unwrap wSOL back to SOL";
    default:
      return JSON.stringify(ix);
  }
}
