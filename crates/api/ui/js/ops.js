// @ts-check
// The operations view (admin keys): the job queue and throughput and latency
// over the last minutes, polled from the API while the view is open.

import { ApiError, call } from "./api.js";
import { byId, duration, el } from "./dom.js";

const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";

export class Ops {
  constructor() {
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    byId("ops-window").addEventListener("change", () => void this.refresh());
  }

  start() {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh() {
    const minutes = /** @type {HTMLSelectElement} */ (byId("ops-window")).value;
    try {
      const [queue, activity] = await Promise.all([call("/api/queue/stats"), call(`/api/activity?minutes=${minutes}`)]);
      byId("ops-error").textContent = "";
      this.tiles(queue, activity);
      this.consumers(queue.consumers);
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
