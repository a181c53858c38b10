// @ts-check
// The operations view (admin keys): the job queue and throughput and latency
// over the last minutes, and the simulated chain's token launches, polled
// from the API while the view is open; and a form that launches a token.

import { ApiError, call } from "./api.js";
import { byId, duration, el, markInvalid, shortMints, when } from "./dom.js";

const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
/** How often, and how many times, to look for a launch just made (the API lists it after its next pool refresh). */
const LAUNCH_POLL_MS = 200;
const LAUNCH_POLLS = 25;
/** The form control of each field of a launch, for the API's refusals. */
const LAUNCH_CONTROLS = {
  symbol: "l-symbol",
  mint: "l-symbol",
  decimals: "l-decimals",
  quoteToken: "l-quote",
  venue: "l-venue",
  baseAmount: "l-base",
  quoteAmount: "l-quote-amount",
  openAt: "l-open-at",
};

export class Ops {
  constructor() {
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    this.launchForm = /** @type {HTMLFormElement} */ (byId("launch-form"));
    this.quoteTokens = /** @type {HTMLSelectElement} */ (byId("l-quote"));
    byId("ops-window").addEventListener("change", () => void this.refresh());
    this.quoteTokens.addEventListener("change", () => {
      byId("l-quote-unit").textContent = `(${this.quoteTokens.value})`;
    });
    this.launchForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.launch();
    });
  }

  start() {
    if (this.timer) return;
    if (!this.quoteTokens.options.length) void this.loadQuoteTokens();
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /** The tokens a launch may pair with: every listed one, SOL first chosen. */
  async loadQuoteTokens() {
    try {
      const listing = await call("/api/tokens");
      const symbols = listing.tokens.map((/** @type {any} */ t) => String(t.symbol));
      this.quoteTokens.replaceChildren(...symbols.map((s) => el("option", { value: s }, s)));
      if (symbols.includes("SOL")) this.quoteTokens.value = "SOL";
      byId("l-quote-unit").textContent = `(${this.quoteTokens.value})`;
    } catch (e) {
      byId("launch-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
    }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh() {
    const minutes = /** @type {HTMLSelectElement} */ (byId("ops-window")).value;
    try {
      const [queue, activity, launched] = await Promise.all([
        call("/api/queue/stats"),
        call(`/api/activity?minutes=${minutes}`),
        call("/api/launches"),
      ]);
      byId("ops-error").textContent = "";
      this.tiles(queue, activity);
      this.consumers(queue.consumers);
      this.partitions(queue.partitions ?? []);
      this.launches(launched.launches);
      throughput(/** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId("ops-throughput"))), activity.buckets);
      latency(/** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId("ops-latency"))), activity.buckets);
    } catch (e) {
      byId("ops-error").textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
    }
  }

  /** @param {any} queue @param {any} activity */
  tiles(queue, activity) {
    const buckets = activity.buckets;
    const ended = buckets.reduce((n, /** @type {any} */ b) => n + b.confirmed + b.failed, 0);
    const seconds = buckets.length * activity.bucketSeconds;
    const recent = buckets.filter((/** @type {any} */ b) => b.p99Ms !== null).slice(-5);
    const p99 = recent.length ? Math.max(...recent.map((/** @type {any} */ b) => b.p99Ms)) : null;
    const tile = (/** @type {string} */ k, /** @type {string | number} */ v) =>
      el("div", { class: "tile", "data-tile": k }, el("div", { class: "v" }, v), el("div", { class: "k" }, k));
    byId("ops-tiles").replaceChildren(
      tile("queue length", queue.length),
      tile("pending", queue.pending),
      tile("lag", queue.lag),
      tile("dead letters", queue.deadLetters),
      tile("consumers", queue.consumers.length),
      tile("orders/s", (ended / seconds).toFixed(ended / seconds < 10 ? 2 : 0)),
      tile("recent p99", p99 === null ? "—" : duration(p99)),
    );
  }

  /** @param {any[]} consumers */
  consumers(consumers) {
    const body = /** @type {HTMLTableElement} */ (byId("ops-consumers")).tBodies[0];
    body.replaceChildren(
      ...consumers.map((c) => el("tr", {}, el("td", { class: "mono" }, c.name), el("td", {}, c.pending), el("td", {}, duration(c.idleMs)))),
    );
    if (!consumers.length) body.append(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No workers.")));
  }

  /** @param {any[]} partitions */
  partitions(partitions) {
    const body = /** @type {HTMLTableElement} */ (byId("ops-partitions")).tBodies[0];
    body.replaceChildren(
      ...partitions.map((p) =>
        el("tr", {}, el("td", { class: "mono small" }, p.stream), el("td", {}, p.length), el("td", {}, p.pending), el("td", {}, p.lag)),
      ),
    );
  }

  /** @param {any[]} launches */
  launches(launches) {
    const body = /** @type {HTMLTableElement} */ (byId("ops-launches")).tBodies[0];
    body.replaceChildren(
      ...launches.map((l) =>
        el(
          "tr",
          { "data-symbol": l.symbol },
          el("td", {}, el("strong", { title: l.mint }, l.symbol), el("span", { class: "muted" }, `/${l.quoteToken}`)),
          el("td", {}, l.venue ?? "—"),
          el("td", { class: "mono small nowrap", title: l.pool }, shortMints(l.pool)),
          el("td", {}, l.slot),
          el("td", { class: "nowrap" }, l.openAt ? when(l.openAt) : "at once"),
          el("td", { class: "nowrap" }, when(l.launchedAt)),
        ),
      ),
    );
    if (!launches.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No token launched yet.")));
  }

  /** Posts the launch form; on success, lists the launch as soon as the API does. */
  async launch() {
    const error = byId("launch-error");
    const done = byId("launch-done");
    error.textContent = "";
    done.textContent = "";
    const { body, error: problem, field } = launchBody(this.launchForm);
    markInvalid(this.launchForm, LAUNCH_CONTROLS, field);
    if (!body) {
      error.textContent = problem ?? "";
      return;
    }
    const button = /** @type {HTMLButtonElement} */ (byId("launch-submit"));
    button.disabled = true;
    try {
      const launched = await call("/api/admin/sim/launches", { method: "POST", body });
      done.textContent = `${launched.symbol} launched on ${body.venue} at slot ${launched.slot}: pool ${launched.pool}.`;
      /** @type {HTMLInputElement} */ (byId("l-symbol")).value = "";
      for (let i = 0; i < LAUNCH_POLLS; i++) {
        const list = await call("/api/launches");
        this.launches(list.launches);
        if (list.launches.some((/** @type {any} */ l) => l.pool === launched.pool)) break;
        await new Promise((resolve) => setTimeout(resolve, LAUNCH_POLL_MS));
      }
    } catch (e) {
      if (!(e instanceof ApiError)) {
        error.textContent = String(e);
        return;
      }
      error.textContent = `${e.code}: ${e.message}`;
      // A name already listed is the symbol's fault (or the mint's).
      markInvalid(this.launchForm, LAUNCH_CONTROLS, e.field ?? (e.code === "TOKEN_EXISTS" ? "symbol" : undefined));
    } finally {
      button.disabled = false;
    }
  }
}

/**
 * The launch form as a request body, or what is wrong with it.
 * @param {HTMLFormElement} form
 * @returns {{body?: Record<string, string | number>, error?: string, field?: string}}
 */
function launchBody(form) {
  const data = new FormData(form);
  const text = (/** @type {string} */ name) => String(data.get(name) ?? "").trim();
  const decimals = text("decimals");
  if (!/^\d{1,2}$/.test(decimals) || Number(decimals) > 18) {
    return { error: "Decimals must be a whole number from 0 to 18.", field: "decimals" };
  }
  /** @type {Record<string, string | number>} */
  const body = {
    symbol: text("symbol"),
    decimals: Number(decimals),
    quoteToken: text("quoteToken"),
    venue: text("venue"),
    baseAmount: text("baseAmount"),
    quoteAmount: text("quoteAmount"),
  };
  const openAt = text("openAt");
  if (openAt) {
    // A datetime-local value is the viewer's wall-clock time; the API takes RFC 3339.
    const at = new Date(openAt);
    if (Number.isNaN(at.getTime())) return { error: "Enter the opening time as a date and time.", field: "openAt" };
    body.openAt = at.toISOString();
  }
  return { body };
}

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

const H = 160;
const PAD = 40;

/** The chart's drawing width: its laid-out width, so the bars fill it. @param {SVGSVGElement} chart */
function width(chart) {
  return Math.max(240, Math.round(chart.getBoundingClientRect().width) || 600);
}

/** Stacked bars per bucket: confirmed, failed, in flight. @param {SVGSVGElement} chart @param {any[]} buckets */
function throughput(chart, buckets) {
  const W = width(chart);
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const top = Math.max(1, ...buckets.map((b) => b.accepted));
  const step = (W - PAD) / buckets.length;
  const y = (/** @type {number} */ n) => ((H - PAD) * n) / top;
  const nodes = [axis(W, top)];
  buckets.forEach((b, i) => {
    let base = H - PAD;
    for (const [kind, n] of [["confirmed", b.confirmed], ["failed", b.failed], ["inflight", b.inFlight]]) {
      if (!n) continue;
      const h = y(Number(n));
      base -= h;
      nodes.push(svg("rect", { class: String(kind), x: PAD + i * step, y: base, width: Math.max(1, step - 1), height: h }));
    }
  });
  chart.replaceChildren(...nodes);
}

/** p50 and p99 lines. @param {SVGSVGElement} chart @param {any[]} buckets */
function latency(chart, buckets) {
  const W = width(chart);
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const top = Math.max(1, ...buckets.map((b) => b.p99Ms ?? 0));
  const step = (W - PAD) / buckets.length;
  /** @type {Node[]} */
  const nodes = [axis(W, top, " ms")];
  for (const field of ["p50Ms", "p99Ms"]) {
    const kind = field === "p50Ms" ? "p50" : "p99";
    const points = buckets.flatMap((b, i) =>
      b[field] === null ? [] : [[PAD + i * step + step / 2, H - PAD - ((H - PAD) * b[field]) / top]],
    );
    nodes.push(svg("polyline", { class: kind, points: points.map((p) => p.join(",")).join(" ") }));
    for (const [x, y] of points) nodes.push(svg("circle", { class: `${kind} dot`, cx: x, cy: y, r: 2.5 }));
  }
  chart.replaceChildren(...nodes);
}

/** The chart's axes and its top value. @param {number} W @param {number} top @param {string} [unit] */
function axis(W, top, unit = "") {
  const group = svg("g", {});
  group.append(svg("line", { class: "axis", x1: PAD, y1: H - PAD, x2: W, y2: H - PAD }));
  group.append(svg("line", { class: "axis", x1: PAD, y1: 0, x2: PAD, y2: H - PAD }));
  const label = svg("text", { x: 0, y: 12 });
  label.textContent = `${top}${unit}`;
  group.append(label);
  return group;
}
