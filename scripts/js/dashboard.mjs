// The dashboard, tested in a real browser (Debian's Chromium, driven by
// playwright-core; nothing is downloaded) against a live engine this script
// starts: its own database, Redis namespace, oee-api and oee-worker on
// loopback, realistic venue latency.
//
//   node scripts/js/dashboard.mjs [--bin-dir target/debug] [--out target/ui-screenshots]
//
// Steps, each with a screenshot under --out: sign in; a quote that follows the
// amount; an order submitted and watched to `confirmed` live; a 1-bps order
// whose pool moves before it lands (an outside trade through the simulator)
// ending `failed` with SLIPPAGE_EXCEEDED shown; the API the page is connected
// to killed (-9) mid-order and restarted — the page reconnects and the
// timeline has every step exactly once; a limit order resting open and
// cancelled; a sniper order for a token nobody has launched resting open, the
// token launched from the operations view (a refused launch first), and the
// sniper confirmed on it; history and the operations view; a phone-sized
// screen; and an axe-core pass over every view with no serious or critical
// finding. Exits non-zero on the first failure, after cleaning up.

import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const binDir = path.resolve(option("--bin-dir", "target/debug"));
const out = path.resolve(option("--out", "target/ui-screenshots"));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const PATIENCE_MS = 20_000;
mkdirSync(out, { recursive: true });

const tag = `oee_ui_${process.pid}`;
const pgAdmin = process.env.OEE_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const databaseUrl = pgAdmin.replace(/\/[^/]*$/, `/${tag}`);
const redisUrl = process.env.OEE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  OEE_NAMESPACE: tag,
  OEE_JOB_PARTITIONS: "2",
  OEE_HTTP_ADDR: `127.0.0.1:${port}`,
  OEE_METRICS_ADDR: "127.0.0.1:0",
  OEE_AUTH: "required",
  OEE_VENUE_LATENCY: "realistic",
  OEE_VENUE_FAILURE_RATE: "0",
  OEE_SHUTDOWN_DELAY_MS: "0",
  LOG_FORMAT: "json",
  RUST_LOG: "warn",
};
const psql = (sql) => execFileSync("psql", [pgAdmin, "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" });
/** @type {Map<string, import("node:child_process").ChildProcess>} */
const processes = new Map();

function start(name, bin) {
  const log = openSync(path.join(out, `${name}.log`), "a");
  const child = spawn(path.join(binDir, bin), [], { env, stdio: ["ignore", log, log] });
  processes.set(name, child);
  return child;
}

async function stop(name, signal = "SIGTERM") {
  const child = processes.get(name);
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(10_000)]);
  processes.delete(name);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, patience = PATIENCE_MS) {
  const deadline = Date.now() + patience;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function ready() {
  await until("the API to be ready", async () => (await fetch(`${base}/ready`)).ok);
}

async function cleanup() {
  for (const name of [...processes.keys()]) await stop(name, "SIGKILL");
  try {
    psql(`DROP DATABASE IF EXISTS "${tag}" WITH (FORCE)`);
  } catch (e) {
    console.error(`could not drop ${tag}: ${e.message}`);
  }
  try {
    const keys = execFileSync("redis-cli", ["-u", redisUrl, "--scan", "--pattern", `${tag}:*`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) execFileSync("redis-cli", ["-u", redisUrl, "del", ...keys.slice(i, i + 500)]);
  } catch (e) {
    console.error(`could not clear the namespace ${tag}: ${e.message}`);
  }
}

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = path.join(out, `${String(step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  ✓ ${name} (${path.relative(process.cwd(), file)})`);
}

/** The axe-core pass: no serious or critical finding. */
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function accessible(page, view) {
  // Evaluated over the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `accessibility findings on ${view}`,
  );
}

/** Submits the form and returns the new order's card. */
async function submitOrder(page) {
  const before = await page.locator(".order").count();
  await page.click("#submit-order");
  await until("the new order's card", async () => (await page.locator(".order").count()) === before + 1);
  const id = await page.locator(".order").first().getAttribute("data-order-id");
  return page.locator(`.order[data-order-id="${id}"]`);
}

/**
 * Submits a form the API refuses: the error shows its code, the control of the
 * field it names is marked invalid, and the page stays accessible.
 */
async function refused(page, name, { submit, error, code, control }) {
  await page.click(submit);
  await page.locator(error, { hasText: code }).waitFor();
  assert.equal(await page.locator(control).getAttribute("aria-invalid"), "true", `${code} marks ${control}`);
  await accessible(page, name);
  await shot(page, name);
}

/** The events an order card shows, as [seq, status] pairs. */
async function timeline(card) {
  return card.locator(".timeline li").evaluateAll((items) =>
    items.map((li) => [Number(li.getAttribute("data-seq")), li.className.split(" ")[0]]),
  );
}

function assertGapless(steps, what) {
  const seqs = steps.map(([seq]) => seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${what}: every seq once, in order: ${JSON.stringify(steps)}`);
  const terminal = steps.filter(([, s]) => s === "confirmed" || s === "failed");
  assert.equal(terminal.length, 1, `${what}: one terminal event`);
  assert.equal(steps.at(-1)[1], terminal[0][1], `${what}: the terminal event is last`);
}

async function main() {
  psql(`CREATE DATABASE "${tag}"`);
  execFileSync(path.join(binDir, "oee-api"), ["migrate"], { env, stdio: "ignore" });
  const created = JSON.parse(
    execFileSync(path.join(binDir, "oee-api"), ["keys", "create", "--account", "ui-test", "--scopes", "admin"], {
      env,
      encoding: "utf8",
    }),
  );
  const key = created.key;
  start("api", "oee-api");
  start("worker", "oee-worker");
  await ready();

  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
    });

    console.log("dashboard in Chromium:");
    await page.goto(base);
    await accessible(page, "sign-in");
    await shot(page, "sign-in");

    // A wrong key is refused with its code; the right one signs in.
    await page.fill("#api-key", "oee_notakey");
    await page.press("#api-key", "Enter");
    await page.locator("#sign-in-error", { hasText: "UNAUTHENTICATED" }).waitFor();
    await page.fill("#api-key", key);
    await page.press("#api-key", "Enter");
    await page.locator("#view-trade").waitFor();
    await page.locator("#connection", { hasText: "online" }).waitFor();
    assert.equal(await page.locator("#token-in").inputValue(), "SOL");

    // The quote follows the amount.
    await page.fill("#amount", "1");
    const first = await until("a quote", async () => {
      const text = await page.locator("#q-out").textContent();
      return text && text.includes("USDC") ? text : null;
    });
    await page.fill("#amount", "250");
    await until("the quote to follow the amount", async () => (await page.locator("#q-out").textContent()) !== first);
    assert.equal(await page.locator(".venue").count(), 2, "both venues side by side");
    assert.ok((await page.locator(".venue.chosen").count()) >= 1, "the chosen venue is highlighted");
    assert.ok((await page.locator("#q-split span").count()) >= 1, "the split bar");
    await accessible(page, "trade with a quote");
    await shot(page, "quote");

    // Submit, and watch the order reach confirmed live.
    await page.fill("#amount", "1.5");
    const card = await submitOrder(page);
    await card.locator('[data-status="confirmed"]').waitFor({ timeout: PATIENCE_MS });
    const steps = await timeline(card);
    assertGapless(steps, "the confirmed order");
    assert.deepEqual(steps.map(([, s]) => s), ["pending", "routing", "building", "submitted", "confirmed"]);
    await card.locator("summary").click();
    await card.locator(".instructions li", { hasText: "Wrap 1.5 SOL" }).waitFor();
    await shot(page, "confirmed");

    // A 1-bps order: the pool moves (an outside trade on both venues) while it
    // is in flight, so it cannot land at its minimum.
    await page.fill("#slippage", "0.01");
    await page.fill("#amount", "20");
    const tight = await submitOrder(page);
    await tight.locator('.timeline li.submitted').waitFor({ timeout: PATIENCE_MS });
    for (const venue of ["raydium", "meteora"]) {
      const response = await fetch(`${base}/api/admin/sim/trades`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ tokenIn: "SOL", tokenOut: "USDC", venue, amountIn: "20000" }),
      });
      assert.equal(response.status, 200, await response.text());
    }
    await tight.locator('[data-status="failed"]').waitFor({ timeout: PATIENCE_MS });
    await tight.locator('.failure[data-code="SLIPPAGE_EXCEEDED"]').waitFor();
    assertGapless(await timeline(tight), "the 1-bps order");
    await shot(page, "slippage-exceeded");

    // Kill the API the page is connected to, mid-order, and restart it.
    await page.fill("#slippage", "0.5");
    await page.fill("#amount", "2");
    const survivor = await submitOrder(page);
    await survivor.locator(".timeline li.routing").waitFor({ timeout: PATIENCE_MS });
    await stop("api", "SIGKILL");
    await page.locator("#connection", { hasText: "connecting" }).waitFor();
    await shot(page, "api-down");
    start("api", "oee-api");
    await ready();
    await page.locator("#connection", { hasText: "online" }).waitFor({ timeout: PATIENCE_MS });
    await survivor.locator('[data-status="confirmed"]').waitFor({ timeout: PATIENCE_MS });
    const resumed = await timeline(survivor);
    assertGapless(resumed, "the order followed across the restart");
    assert.deepEqual(resumed.map(([, s]) => s), ["pending", "routing", "building", "submitted", "confirmed"]);
    // Nothing arrives twice later either.
    await sleep(1000);
    assert.deepEqual(await timeline(survivor), resumed, "no event repeated after the restart");
    await shot(page, "reconnected");

    // A limit order far above the market rests open; cancel it from its card.
    await page.selectOption("#order-type", "limit");
    await page.fill("#amount", "1");
    await page.fill("#limit-price", "100000");
    const resting = await submitOrder(page);
    await resting.locator('[data-status="open"]').waitFor({ timeout: PATIENCE_MS });
    await resting.locator(".resting", { hasText: "at least 100000 USDC" }).waitFor();
    await accessible(page, "trade with an open limit order");
    await shot(page, "limit-open");
    await resting.locator("button.cancel").click();
    await resting.locator('[data-status="cancelled"]').waitFor({ timeout: PATIENCE_MS });
    assert.deepEqual((await timeline(resting)).map(([, s]) => s), ["pending", "open", "cancelled"]);
    await shot(page, "limit-cancelled");

    // A sniper for a token nobody has launched yet rests open with its terms.
    await page.selectOption("#order-type", "sniper");
    assert.ok(await page.locator("#token-out").isHidden(), "a sniper names its token in free text");
    await page.fill("#sniper-token", "pepe");
    await page.fill("#amount", "1");
    await page.fill("#max-price", "0.000001");
    await page.fill("#min-liquidity", "100");
    await page.locator("#quote-empty", { hasText: "no quote" }).waitFor();
    const sniper = await submitOrder(page);
    await sniper.locator('[data-status="open"]').waitFor({ timeout: PATIENCE_MS });
    await sniper.locator(".resting", { hasText: "at most 0.000001 SOL per PEPE, at least 100 SOL deep" }).waitFor();
    await sniper.locator("button.cancel").waitFor();
    await accessible(page, "trade with an open sniper order");
    await shot(page, "sniper-open");
    // One the API refuses says why, on the field it names; nothing is placed.
    await page.fill("#max-price", "0");
    await refused(page, "sniper-refused", { submit: "#submit-order", error: "#order-error", code: "INVALID_PRICE", control: "#max-price" });
    await page.fill("#max-price", "");
    await page.selectOption("#order-type", "market");

    // Launch its token from the operations view: a name already listed is
    // refused on the symbol; then the launch is made and listed.
    await page.click('a[data-view="ops"]');
    await page.locator("#l-quote option[value=SOL]").waitFor({ state: "attached" });
    await page.fill("#l-symbol", "usdc");
    await page.fill("#l-base", "1000000000");
    await page.fill("#l-quote-amount", "500");
    await refused(page, "launch-refused", { submit: "#launch-submit", error: "#launch-error", code: "TOKEN_EXISTS", control: "#l-symbol" });
    await page.fill("#l-symbol", "PEPE");
    await page.click("#launch-submit");
    const done = page.locator("#launch-done", { hasText: "PEPE launched on raydium" });
    await done.waitFor({ timeout: PATIENCE_MS });
    const slot = /at slot (\d+)/.exec(await done.textContent())[1];
    const row = page.locator('#ops-launches tr[data-symbol="PEPE"]');
    await row.waitFor({ timeout: PATIENCE_MS });
    const cells = await row.locator("td").allTextContents();
    // The pair's other side is named by its mint's symbol (SOL's mint names WSOL).
    assert.match(cells[0], /^PEPE\/W?SOL$/, `${cells}`);
    assert.deepEqual([cells[1], cells[3], cells[4]], ["raydium", slot, "at once"], `${cells}`);
    await accessible(page, "operations with a launch");
    await shot(page, "launched");

    // Back on the trade view: the sniper fired on the launch's slot and
    // confirmed, and the token is for sale like any other.
    await page.click('a[data-view="trade"]');
    await sniper.locator('[data-status="confirmed"]').waitFor({ timeout: PATIENCE_MS });
    const sniped = await timeline(sniper);
    assertGapless(sniped, "the sniper");
    assert.deepEqual(sniped.map(([, s]) => s), ["pending", "open", "routing", "building", "submitted", "confirmed"]);
    await sniper.locator(".fired", { hasText: `PEPE/SOL (slot ${slot})` }).waitFor();
    await page.locator("#token-out option[value=PEPE]").waitFor({ state: "attached" });
    await shot(page, "sniper-confirmed");

    // History, with a filter, and one order's timeline.
    await page.click('a[data-view="history"]');
    await page.locator("#history-table tbody tr[data-order-id]").first().waitFor();
    assert.equal(await page.locator("#history-table tbody tr[data-order-id]").count(), 5);
    const sniperRow = await page.locator("#history-table tbody tr[data-order-id]").first().locator("td").allTextContents();
    assert.deepEqual(sniperRow.slice(1, 3).concat(sniperRow.at(-1)), ["sniper", "SOL → PEPE", "confirmed"], `${sniperRow}`);
    await page.locator("#history-table tbody tr[data-order-id] button").first().click();
    await page.locator("#history-detail .fired", { hasText: "PEPE/SOL" }).waitFor();
    await page.locator("#history-detail .kind", { hasText: "sniper" }).waitFor();
    await shot(page, "history-sniper");
    await page.selectOption("#h-status", "failed");
    await page.click("#history-filter button[type=submit]");
    await until("the failed filter", async () => (await page.locator("#history-table tbody tr[data-order-id]").count()) === 1);
    await page.locator("#history-table tbody tr[data-order-id] button").first().click();
    await page.locator("#history-detail .failure", { hasText: "SLIPPAGE_EXCEEDED" }).waitFor();
    await accessible(page, "history");
    await shot(page, "history");

    // Operations (an admin key): the queue and the last minutes.
    await page.click('a[data-view="ops"]');
    await page.locator('[data-tile="consumers"] .v', { hasText: "1" }).waitFor({ timeout: PATIENCE_MS });
    await page.locator("#ops-throughput rect").first().waitFor();
    await page.locator("#ops-partitions tbody tr").nth(1).waitFor();
    assert.equal(await page.locator("#ops-partitions tbody tr").count(), 2, "one row per partition");
    await accessible(page, "operations");
    await shot(page, "operations");

    // A phone-sized screen: everything fits the width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('a[data-view="trade"]');
    await page.locator("#view-trade").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the trade view is wider than a phone by ${overflow}px`);
    await shot(page, "phone");
    await page.click('a[data-view="ops"]');
    await page.locator('#ops-launches tr[data-symbol="PEPE"]').waitFor();
    const opsOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(opsOverflow <= 0, `the operations view is wider than a phone by ${opsOverflow}px`);
    await shot(page, "phone-operations");

    assert.deepEqual(problems, [], "no script errors and no CSP violations");
  } finally {
    await browser.close();
  }
}

let failed = false;
try {
  await main();
  console.log(`dashboard: every step passed; screenshots in ${path.relative(process.cwd(), out)}`);
} catch (e) {
  failed = true;
  console.error(`dashboard: ${e.stack ?? e}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
