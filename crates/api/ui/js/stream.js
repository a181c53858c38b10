// @ts-check
// Live status events over WebSockets, exactly once each, across dropped
// connections and API restarts.
//
// One submit socket carries this page's orders and their events. When it drops,
// the stream reconnects (a fresh ticket each time, backing off up to 5 s),
// resends any order whose reply never came — with the same idempotency key, so
// the server answers with the same order rather than making a second one — and
// follows every unfinished order on its own socket from the last `seq` it saw.
// Every event is applied only if its `seq` is the next one for its order:
// a replayed event is dropped, and a gap re-follows the order from where it is.

import { socketUrl } from "./api.js";
import { isTerminal } from "./dom.js";

/** @typedef {{orderId: string, seq: number, status: string, at: string, [k: string]: any}} StatusEvent */
/** @typedef {{type: "accepted", orderId: string, clientRef?: any} | {type: "rejected", error: {code: string, message: string, field?: string}, clientRef?: any}} Reply */

const MAX_BACKOFF_MS = 5000;

export class OrderStream {
  /**
   * @param {{onEvent: (e: StatusEvent) => void, onState: (s: "online" | "connecting" | "offline") => void, onGone?: (orderId: string) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    /** @type {Map<string, {lastSeq: number, done: boolean, follow: WebSocket | null}>} */
    this.orders = new Map();
    /** @type {Map<string, {body: object, resolve: (r: Reply) => void}>} */
    this.pending = new Map();
    /** @type {WebSocket | null} */
    this.socket = null;
    this.stopped = false;
    this.backoff = 250;
  }

  start() {
    this.stopped = false;
    void this.connect();
  }

  stop() {
    this.stopped = true;
    this.socket?.close(1000);
    for (const order of this.orders.values()) order.follow?.close(1000);
    this.handlers.onState("offline");
  }

  /**
   * Submits an order body; resolves with the server's reply.
   * @param {object} body
   * @returns {Promise<Reply>}
   */
  submit(body) {
    const clientRef = crypto.randomUUID();
    const message = { ...body, idempotencyKey: `ui-${clientRef}`, clientRef };
    return new Promise((resolve) => {
      this.pending.set(clientRef, { body: message, resolve });
      if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
      // otherwise it goes out when the socket (re)opens
    });
  }

  /**
   * Starts tracking an order known from elsewhere (already at `lastSeq`).
   * @param {string} orderId
   * @param {number} lastSeq
   */
  track(orderId, lastSeq) {
    if (!this.orders.has(orderId)) this.orders.set(orderId, { lastSeq, done: false, follow: null });
  }

  async connect() {
    this.handlers.onState("connecting");
    let url;
    try {
      url = await socketUrl("/api/orders/execute");
    } catch {
      return this.retry();
    }
    if (this.stopped) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = 250;
      this.handlers.onState("online");
      for (const { body } of this.pending.values()) socket.send(JSON.stringify(body));
      for (const [id, order] of this.orders) if (!order.done) void this.follow(id);
    };
    socket.onmessage = (message) => this.receive(String(message.data), null);
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (!this.stopped) this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    this.handlers.onState("connecting");
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    setTimeout(() => void this.connect(), wait);
  }

  /**
   * @param {string} text
   * @param {string | null} followed the order a follow socket is for
   */
  receive(text, followed) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "accepted" || message.type === "rejected") {
      const waiting = this.pending.get(message.clientRef);
      if (!waiting) return;
      this.pending.delete(message.clientRef);
      if (message.type === "accepted") this.track(message.orderId, 0);
      waiting.resolve(message);
      return;
    }
    if (typeof message.orderId === "string" && typeof message.seq === "number") this.apply(message, followed);
  }

  /**
   * Applies an event if it is its order's next one.
   * @param {StatusEvent} event
   * @param {string | null} followed
   */
  apply(event, followed) {
    const order = this.orders.get(event.orderId);
    if (!order || event.seq <= order.lastSeq) return; // not ours, or seen already
    if (event.seq > order.lastSeq + 1) {
      // A gap: take the missing events from the log, from where we are.
      if (!followed) void this.follow(event.orderId);
      return;
    }
    order.lastSeq = event.seq;
    if (isTerminal(event.status)) {
      order.done = true;
      order.follow?.close(1000);
      order.follow = null;
    }
    this.handlers.onEvent(event);
  }

  /** Follows one order from the last event seen, until its terminal event. @param {string} orderId */
  async follow(orderId) {
    const order = this.orders.get(orderId);
    if (!order || order.done || order.follow || this.stopped) return;
    let url;
    try {
      url = await socketUrl(`/api/orders/${orderId}/ws`, { fromSeq: order.lastSeq });
    } catch {
      setTimeout(() => void this.follow(orderId), this.backoff);
      return;
    }
    if (order.follow || order.done) return;
    const socket = new WebSocket(url);
    order.follow = socket;
    socket.onmessage = (message) => this.receive(String(message.data), orderId);
    socket.onclose = (close) => {
      if (order.follow === socket) order.follow = null;
      if (close.code === 1011) {
        // The order is no longer in the database (a store failover lost it):
        // following it again would only get 404s.
        order.done = true;
        this.handlers.onGone?.(orderId);
        return;
      }
      if (!order.done && !this.stopped) setTimeout(() => void this.follow(orderId), this.backoff);
    };
  }
}
