"""Renders scripts/bench's raw results as Markdown into docs/BENCHMARKS.md.

Usage: bench_report.py RESULTS_DIR MARKDOWN_FILE QUICK(0|1)

Only the part between the `<!-- bench:begin -->` and `<!-- bench:end -->`
markers is replaced (appended when the markers are missing), so hand-written
analysis around it survives a re-run; the `resting` scenario has a block of its
own (`<!-- bench:resting:begin -->`, after the matrix), and a run of it alone
leaves the matrix as it was.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
RESTING_BEGIN, RESTING_END = "<!-- bench:resting:begin -->", "<!-- bench:resting:end -->"
CPU_BEGIN, CPU_END = "<!-- bench:cpu:begin -->", "<!-- bench:cpu:end -->"
HISTORY_BEGIN, HISTORY_END = "<!-- bench:history:begin -->", "<!-- bench:history:end -->"
# Sustained end-to-end orders/s must be at least this many times the naive
# pgbench rate of the same run (issue 18; 2.3–2.8× when it was set).
NAIVE_RATIO_TARGET = 4.0


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> list[str]:
    cpu = next((l.split(":", 1)[1].strip() for l in sh("lscpu").splitlines() if l.startswith("Model name")), "?")
    mem_kib = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; {mem_kib / 1024 / 1024:.0f} GiB RAM",
        f"- Kernel {platform.release()}; {sh('psql', '--version')}; {sh('redis-server', '--version').split(' sha=')[0]}",
        f"- {sh('rustc', '--version')}; binaries: {os.environ.get('OEE_BENCH_BINARIES') or 'commit ' + sh('git', 'rev-parse', '--short', 'HEAD')}",
        "- Everything on this one machine and on loopback: PostgreSQL, Redis, every oee process and the load generator"
        " share the same 2 cores. PostgreSQL with its stock settings, autovacuum on.",
    ]


def refs(results: str) -> dict:
    """The machine references `scripts/bench` measured in this run (see `machine_refs` there)."""
    path = os.path.join(results, "refs.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def refs_lines(r: dict) -> list[str]:
    if not r:
        return []
    fmt = lambda k: "–" if r.get(k) is None else f"{r[k]:,.0f}"  # noqa: E731
    return [f"- Machine references, this run: {fmt('naiveOrdersPerSec')} naive orders/s in PostgreSQL (pgbench, "
            f"`scripts/lib/naive_order.pgbench`: four commits per order, 16 clients); {fmt('fdatasyncPerSec')} "
            f"`fdatasync`/s (`pg_test_fsync`, one 8 kB write); Redis {fmt('redisXaddPerSec')} `XADD`/s and "
            f"{fmt('redisSpublishPerSec')} `SPUBLISH`/s (`redis-benchmark`, pipelined 16 deep)."]


def load(results: str, name: str) -> dict | None:
    path = os.path.join(results, f"{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def ms(report: dict, key: str, pct: str) -> str:
    h = report["latencyMs"].get(key)
    return "–" if h is None else f"{h[pct]:.1f}"


def clean(report: dict) -> str:
    e = report["events"]
    bad = e["lost"] + e["duplicated"] + e["outOfOrder"] + e["afterTerminal"] + e["missingTerminal"]
    return "0 lost / 0 dup / 0 reordered" if bad == 0 else (
        f"{e['lost']} lost / {e['duplicated']} dup / {e['outOfOrder']} reordered / {e['missingTerminal']} unfinished"
    )


def cmd(report: dict) -> str:
    return f"`{report['command']}`"


def rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def detail_row(report: dict) -> str:
    o, t = report["orders"], report["throughput"]
    return (
        f"| {report['label']} | {o['accepted']} | {rate(t['acceptedPerSec'])} | {rate(t['terminalPerSec'])} "
        f"| {ms(report, 'accept', 'p50')} / {ms(report, 'accept', 'p99')} / {ms(report, 'accept', 'p999')} "
        f"| {ms(report, 'submitToConfirmed', 'p50')} / {ms(report, 'submitToConfirmed', 'p99')} "
        f"| {ms(report, 'workerToClient', 'p50')} / {ms(report, 'workerToClient', 'p99')} "
        f"| {o['failed']} | {clean(report)} |"
    )


def main() -> None:
    results, out, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    # The scenarios this run measured (`--only`; empty: all). A section is
    # written only from scenarios of this run: results left in the directory by
    # an earlier run (of another output file, say) never replace a section.
    only = set(filter(None, (sys.argv[4] if len(sys.argv) > 4 else "").split(",")))
    ran = lambda *scenarios: not only or bool(only.intersection(scenarios))  # noqa: E731
    lines = [BEGIN, "", f"## The matrix ({'quick run' if quick else 'full run'}, "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", ""]
    lines += ["Produced by `scripts/bench" + (" --quick" if quick else "") + "`; raw reports in `target/bench/`.", ""]
    lines += machine() + refs_lines(refs(results)) + [""]
    naive = refs(results).get("naiveOrdersPerSec")

    named = ("sustained", "sustained-noauth", "sustained-http", "sustained-2x2", "accept", "accept-ws", "confirm",
             "confirm-ws", "overload", "overload-after")
    got = {n: load(results, n) for n in named}
    family = lambda *names: [got[n] for n in names if got[n]]  # noqa: E731
    scale = {n: load(results, f"scale-{n}") for n in (1, 2, 4)}

    # Each target is judged on the best scenario of its family (the transports
    # differ in cost; every scenario's figures are in the table below).
    lines += ["### Targets", "", "| target | measured | met | scenario |", "|---|---|---|---|"]
    sustained = family("sustained", "sustained-http", "sustained-2x2")
    if sustained:
        best = max(sustained, key=lambda r: r["throughput"]["terminalPerSec"] or 0.0)
        finished = best["throughput"]["terminalPerSec"] or 0.0
        if naive:
            ratio = finished / naive
            ok = ratio >= NAIVE_RATIO_TARGET and best["events"]["clean"]
            lines.append(f"| ≥ {NAIVE_RATIO_TARGET:g}× the naive pgbench rate of the same run, end to end for 60 s, "
                         f"zero lost or duplicated events | {finished:.0f} orders/s = {ratio:.2f}× {naive:,.0f}, "
                         f"{clean(best)} | {'yes' if ok else 'no'} | {best['label']} |")
        else:
            ok = finished >= 5000 and best["events"]["clean"]
            lines.append(f"| ≥ 5,000 orders/s end to end for 60 s, zero lost or duplicated events | {finished:.0f} "
                         f"orders/s, {clean(best)} | {'yes' if ok else 'no'} | {best['label']} |")
    accept = family("accept", "accept-ws")
    if accept:
        best = min(accept, key=lambda r: r["latencyMs"]["accept"]["p99"])
        p99 = best["latencyMs"]["accept"]["p99"]
        achieved = best["throughput"]["acceptedPerSec"]
        lines.append(f"| accept p99 ≤ 10 ms at 2,000 orders/s | p99 {p99:.1f} ms at {achieved:.0f}/s accepted "
                     f"| {'yes' if p99 <= 10 and achieved >= 1990 else 'no'} | {best['label']} |")
    confirm = family("confirm", "confirm-ws")
    if confirm:
        p99_of = lambda r: (r["latencyMs"]["submitToConfirmed"] or {}).get("p99", float("inf"))  # noqa: E731
        best = min(confirm, key=p99_of)
        p99 = p99_of(best)
        lines.append(f"| submit→confirmed p99 ≤ 50 ms at 1,000 orders/s | p99 {p99:.1f} ms "
                     f"({rate(best['throughput']['terminalPerSec'])}/s finished) "
                     f"| {'yes' if p99 <= 50 else 'no'} | {best['label']} |")
    if all(scale.values()):
        r1 = scale[1]["throughput"]["terminalPerSec"]
        ratios = ", ".join(f"{n}: {scale[n]['throughput']['terminalPerSec'] / r1:.2f}×" for n in (1, 2, 4))
        linear = all(scale[n]["throughput"]["terminalPerSec"] >= 0.85 * n * r1 for n in (2, 4))
        lines.append(f"| throughput linear in workers (1, 2, 4) with realistic venues | {ratios} "
                     f"| {'yes' if linear else 'no'} | see scaling below |")
    with_keys, without = got["sustained"], got["sustained-noauth"]
    if with_keys and without:
        on = with_keys["throughput"]["terminalPerSec"] or 0.0
        off = without["throughput"]["terminalPerSec"] or 0.0
        cost = (1 - on / off) * 100 if off else 0.0
        lines.append(f"| authentication and rate limiting cost < 5% of sustained throughput | {on:.0f}/s with keys, "
                     f"{off:.0f}/s with OEE_AUTH=off: {cost:.1f}% | {'yes' if cost < 5 else 'no'} "
                     f"| sustained, run back to back |")
    over, after = got["overload"], got["overload-after"]
    if over and after:
        p99_over = (over["latencyMs"]["submitToConfirmed"] or {}).get("p99", float("inf"))
        p99_after = (after["latencyMs"]["submitToConfirmed"] or {}).get("p99", float("inf"))
        first = (after.get("timeline") or [{}])[0]
        at_once = first.get("errors", 1) == 0 and after["orders"]["rejected"] == 0
        ok = p99_over < 1000 and p99_after < 1000 and at_once and over["events"]["clean"]
        lines.append(f"| at 2× the sustainable rate for 60 s with shedding, accepted orders' submit→confirmed p99 < 1 s; "
                     f"every order accepted again from the first second after | p99 {p99_over:.0f} ms with "
                     f"{over['throughput']['acceptedPerSec']:.0f}/s accepted and {over['orders']['rejected']:,} refused "
                     f"(`OVERLOADED`); after: p99 {p99_after:.0f} ms, {after['orders']['rejected']} refused "
                     f"| {'yes' if ok else 'no'} | {over['label']} |")
    mem = memory_summary(results)
    if mem:
        lines.append(f"| memory flat over the long run | {mem['verdict']} | {'yes' if mem['flat'] else 'no'} "
                     f"| see memory below |")
    lines.append("")

    rows = family(*named)
    if rows:
        lines += ["### Throughput and latency (instant venues)", "",
                  "| scenario | orders | accepted/s | finished/s | accept p50 / p99 / p99.9 ms "
                  "| submit→confirmed p50 / p99 ms | worker→client p50 / p99 ms | failed | events |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [detail_row(r) for r in rows]
        lines += ["", "Commands:", ""] + [f"- {r['label']}: {cmd(r)}" for r in rows] + [""]

    if all(scale.values()):
        lines += ["### Worker scaling (realistic venues: quote ~200 ms, swap 2–3 s, 5% transient failures)", "",
                  "| workers | in flight per worker | finished/s | vs. 1 worker | submit→confirmed p50 / p99 ms | failed |",
                  "|---|---|---|---|---|---|"]
        r1 = scale[1]["throughput"]["terminalPerSec"]
        for n in (1, 2, 4):
            r = scale[n]
            done = r["throughput"]["terminalPerSec"]
            lines.append(f"| {n} | 64 | {done:.1f} | {done / r1:.2f}× | {ms(r, 'submitToConfirmed', 'p50')} / "
                         f"{ms(r, 'submitToConfirmed', 'p99')} | {r['orders']['failed']} |")
        lines += ["", "Commands:", ""] + [f"- {n} worker(s): {cmd(scale[n])}" for n in (1, 2, 4)] + [""]

    if mem:
        lines += ["### Memory over a long run", "", mem["table"], "", mem["text"], ""]
    inflight = costs(results)
    if inflight:
        lines += ["### Cost per in-flight order and per open socket", ""] + inflight + [""]

    quotes = quotes_section(results)
    if quotes:
        lines += quotes + [""]

    lines.append(END)
    text = open(out).read() if os.path.exists(out) else "# Benchmarks\n"
    # A run of other scenarios only (`--only resting`) leaves the matrix as it was.
    matrix = ("sustained", "accept", "confirm", "scale", "memory", "inflight", "sockets", "quotes", "overload")
    if ran(*matrix) and (family(*named) or any(scale.values()) or mem or inflight or quotes):
        text = put_block(text, BEGIN, END, "\n".join(lines))
    resting = resting_section(results, quick) if ran("resting") else []
    if resting:
        text = put_block(text, RESTING_BEGIN, RESTING_END, "\n".join([RESTING_BEGIN, ""] + resting + [RESTING_END]),
                         after=END)
    cpu = cpu_section(results, quick) if ran("cpu") else []
    if cpu:
        text = put_block(text, CPU_BEGIN, CPU_END, "\n".join([CPU_BEGIN, ""] + cpu + [CPU_END]), after=END)
    if not quick and ran("sustained") and got["sustained"]:
        text = append_history(text, results, got["sustained"])
    open(out, "w").write(text)


def append_history(text: str, results: str, sustained: dict) -> str:
    """Adds this full run's row to the history table (kept across runs), so a
    regression shows as a ratio falling rather than a figure that moved with the
    machine."""
    r = refs(results)
    naive = r.get("naiveOrdersPerSec")
    finished = sustained["throughput"]["terminalPerSec"] or 0.0
    cpu = cpu_per_order(results)
    fmt = lambda v: "–" if v is None else f"{v:,.0f}"  # noqa: E731
    row = (f"| {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d} "
           f"| {os.environ.get('OEE_BENCH_BINARIES') or sh('git', 'rev-parse', '--short', 'HEAD')} "
           f"| {fmt(naive)} | {fmt(r.get('fdatasyncPerSec'))} | {fmt(r.get('redisXaddPerSec'))} | {finished:,.0f} "
           f"| {'–' if not naive else f'{finished / naive:.2f}×'} "
           f"| {'–' if cpu is None else f'{cpu[0]:.3f} / {cpu[1]:.3f}'} |")
    header = ["## History", "",
              "One row per full `scripts/bench` run: the machine references and the engine beside them. Compare "
              "rows by their ratios; absolute figures move with the machine.", "",
              "| date | binaries | naive orders/s (pgbench) | fdatasync/s | Redis XADD/s | sustained orders/s "
              "| sustained ÷ naive | CPU s per 1,000 orders at saturation: engine / PostgreSQL |",
              "|---|---|---|---|---|---|---|---|"]
    if HISTORY_BEGIN in text and HISTORY_END in text:
        block = text[text.index(HISTORY_BEGIN):text.index(HISTORY_END)]
        rows = [l for l in block.splitlines() if l.startswith("| 2")]
    else:
        rows = []
    block = "\n".join([HISTORY_BEGIN, ""] + header + rows + [row, "", HISTORY_END])
    return put_block(text, HISTORY_BEGIN, HISTORY_END, block, after=END)


def cpu_phases(results: str) -> list[tuple[int, float, list[float]]] | None:
    """The `cpu` scenario's two loads, below saturation and at it: for each, the
    orders confirmed, the seconds, and the CPU seconds per 1,000 orders of the
    API, the worker, PostgreSQL, Redis, the load generator, then the engine
    (the first four)."""
    samples, orders = os.path.join(results, "cpu.samples"), os.path.join(results, "cpu.orders")
    if not (os.path.exists(samples) and os.path.exists(orders)):
        return None
    rows = [list(map(float, l.split())) for l in open(samples) if len(l.split()) == 6]
    below, total, hz, _ = (int(v) for v in open(orders).read().split())
    if len(rows) != 3:
        return None
    phases = []
    for (a, b), n in zip(((rows[0], rows[1]), (rows[1], rows[2])), (below, total - below)):
        if n <= 0:
            return None
        per_k = [(y - x) / hz / n * 1000 for x, y in zip(a[1:], b[1:])]
        phases.append((n, b[0] - a[0], per_k + [sum(per_k[:4])]))
    return phases


def cpu_per_order(results: str) -> tuple[float, float] | None:
    """The engine's and PostgreSQL's CPU seconds per 1,000 orders at saturation."""
    phases = cpu_phases(results)
    return None if not phases else (phases[1][2][5], phases[1][2][2])


def cpu_section(results: str, quick: bool) -> list[str]:
    """The `cpu` scenario: CPU seconds per 1,000 confirmed orders of each process,
    below saturation and at it, and the rate at which one core of each would be
    saturated at the cost per order of the saturated run."""
    phases = cpu_phases(results)
    if not phases:
        return []
    cores = os.cpu_count() or 1
    orders = os.path.join(results, "cpu.orders")
    if os.path.exists(orders):
        cores = int(open(orders).read().split()[3])
    (n1, s1, low), (n2, s2, sat) = phases
    rate1, rate2 = n1 / s1, n2 / s2
    names = ["API (`oee-api`)", "worker (`oee-worker`, one thread)", "PostgreSQL (every server process)",
             "Redis (single-threaded)", "load generator (`oee-bench`, apart)", "**the engine** (all but the load generator)"]
    order = [0, 1, 2, 3, 5, 4]
    out = [f"## CPU per order ({'quick run' if quick else 'full run'}, "
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
           f"One API and one worker, instant venues, every order followed over the submit WebSocket, the market "
           f"simulator off. Below saturation: {n1:,} orders confirmed at {rate1:,.0f}/s. At saturation (closed loop "
           f"of 512): {n2:,} confirmed at {rate2:,.0f}/s. CPU time of each process from `/proc`, from the start of "
           f"each load until its last order was terminal. Produced by `scripts/bench{' --quick' if quick else ''} "
           f"--only cpu`.", "",
           f"| process | CPU s per 1,000 orders at {rate1:,.0f}/s | at saturation ({rate2:,.0f}/s) "
           f"| share of this machine's {cores} cores at saturation | one core of it alone would saturate at |",
           "|---|---|---|---|---|"]
    for i in order:
        alone = "–" if i == 4 or sat[i] <= 0 else f"{1000 / sat[i]:,.0f} orders/s"
        if i == 5:
            alone = f"{cores * 1000 / sat[i]:,.0f} orders/s on {cores} cores"
        out.append(f"| {names[i]} | {low[i]:.3f} | {sat[i]:.3f} | {sat[i] * rate2 / 1000 / cores * 100:.0f}% "
                   f"| {alone} |")
    out += ["", "\"Alone\": 1,000 divided by the CPU seconds per 1,000 orders at saturation, i.e. what one core "
            "given to that process would carry at the same batching; batching grows with load, so it is a floor.",
            ""]
    wal = os.path.join(results, "cpu.wal")
    walrows = [list(map(float, l.split())) for l in open(wal) if len(l.split()) in (4, 6)] if os.path.exists(wal) else []
    if len(walrows) == 3:
        out += ["| PostgreSQL, per order | commits | WAL records | WAL bytes | orders per WAL flush (group commit) "
                "| order row updates, HOT |", "|---|---|---|---|---|---|"]
        for label, (a, b), n, secs in ((f"at {rate1:,.0f}/s", walrows[0:2], n1, s1),
                                       (f"at saturation ({rate2:,.0f}/s)", walrows[1:3], n2, s2)):
            d = [y - x for x, y in zip(a, b)]
            flushes = f"{n / d[3]:.1f} ({d[3] / secs:,.0f} flushes/s)" if d[3] > 0 else "–"
            hot = f"{d[4] / n:.1f}, {d[5] / d[4] * 100:.0f}% HOT" if len(d) == 6 and d[4] > 0 else "–"
            out.append(f"| {label} | {d[0] / n:.2f} | {d[1] / n:.1f} | {d[2] / n:,.0f} | {flushes} | {hot} |")
        out.append("")
    out += ["Commands:", ""] + [f"- {cmd(r)}" for r in (load(results, "cpu"), load(results, "cpu-saturated")) if r]
    return out + [""]

def put_block(text: str, begin: str, end: str, block: str, after: str | None = None) -> str:
    """Replaces the block between `begin` and `end`; without them, puts it after
    the line holding `after` (or at the end)."""
    if begin in text and end in text:
        return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    if after and after in text:
        at = text.index(after) + len(after)
        return text[:at] + "\n\n" + block + text[at:]
    return text.rstrip() + "\n\n" + block + "\n"


def memory_summary(results: str) -> dict | None:
    path = os.path.join(results, "memory.samples")
    if not os.path.exists(path):
        return None
    samples = [list(map(int, l.split())) for l in open(path) if len(l.split()) == 4]
    if len(samples) < 3:
        return None
    t0 = samples[0][0]
    table = ["| minute | API RSS MiB | worker RSS MiB | Redis used MiB |", "|---|---|---|---|"]
    for s in samples:
        table.append(f"| {(s[0] - t0) / 60:.1f} | {s[1] / 1024:.1f} | {s[2] / 1024:.1f} | {s[3] / 2**20:.1f} |")
    # Flat: the second half grows by less than 10% over the first sample after warm-up.
    warm = samples[len(samples) // 3]
    last = samples[-1]
    growth = [(last[i] - warm[i]) / max(warm[i], 1) for i in (1, 2, 3)]
    flat = all(g < 0.10 for g in growth)
    report = load(results, "memory")
    orders = report["orders"]["accepted"] if report else 0
    verdict = (f"API {samples[0][1] / 1024:.0f}→{last[1] / 1024:.0f} MiB, worker {samples[0][2] / 1024:.0f}→"
               f"{last[2] / 1024:.0f} MiB, Redis {samples[0][3] / 2**20:.0f}→{last[3] / 2**20:.0f} MiB "
               f"over {orders} orders")
    text = (f"{orders} orders over {(last[0] - t0) / 60:.1f} minutes. After warm-up (minute "
            f"{(warm[0] - t0) / 60:.1f}) to the end: API {growth[0] * 100:+.1f}%, worker {growth[1] * 100:+.1f}%, "
            f"Redis {growth[2] * 100:+.1f}%.")
    if report:
        text += f" Command: {cmd(report)} (sweeper, which trims acknowledged jobs, every 5 s: `OEE_SWEEP_AGE_MS=10000`)."
    return {"table": "\n".join(table), "text": text, "flat": flat, "verdict": verdict}


def costs(results: str) -> list[str]:
    out = []
    path = os.path.join(results, "inflight.samples")
    if os.path.exists(path):
        idle, peak, jobs = map(int, open(path).read().split())
        if jobs > 0:
            out.append(f"- One in-flight order: {(peak - idle) * 1024 / jobs:,.0f} bytes of worker RSS "
                       f"({jobs} orders in flight at the peak: {idle / 1024:.1f} → {peak / 1024:.1f} MiB; realistic "
                       f"venues keep each one in flight ~3 s; `OEE_WORKER_CONCURRENCY=5000`).")
    path = os.path.join(results, "sockets.txt")
    if os.path.exists(path):
        text = open(path).read()
        m = re.search(r"([\d.]+) KiB per socket", text)
        if m:
            out.append(f"- One open socket: {float(m.group(1)) * 1024:,.0f} bytes of API RSS "
                       f"(`oee-bench sockets`; its full output below).")
        out += ["", "```", text.strip(), "```"]
    return out


def quotes_section(results: str) -> list[str]:
    """`oee-bench quotes` runs: GET /api/quote, and GET /api/tokens as the same-run reference."""
    runs = [(n, load(results, n)) for n in ("quotes", "quotes-tokens")]
    runs = [(n, r) for n, r in runs if r]
    if not runs:
        return []
    out = ["### Quotes (a route search per request, from the API's snapshot of the pools)", "",
           "| request | connections | answered/s | latency p50 / p90 / p99 / max ms | errors | API CPU |",
           "|---|---|---|---|---|---|"]
    for name, r in runs:
        lat = r["latencyMs"] or {}
        fmt = lambda k: "–" if k not in lat else f"{lat[k]:.2f}"  # noqa: E731
        errors = sum(r["errors"].values())
        out.append(f"| GET /api/{r['endpoint']} | {r['connections']} | {r['perSec']:.0f} "
                   f"| {fmt('p50')} / {fmt('p90')} / {fmt('p99')} / {fmt('max')} | {errors} | {api_cpu(results, name)} |")
    out += ["", "API CPU: share of one core over the whole run, warm-up included. Commands:", ""]
    out += [f"- {r['label']}: {cmd(r)}" for _, r in runs]
    return out


def api_cpu(results: str, name: str) -> str:
    path = os.path.join(results, f"{name}.cpu")
    if not os.path.exists(path):
        return "–"
    t0, t1, w0, w1, hz = open(path).read().split()
    wall = float(w1) - float(w0)
    return "–" if wall <= 0 else f"{(int(t1) - int(t0)) / int(hz) / wall * 100:.0f}%"


def resting_section(results: str, quick: bool) -> list[str]:
    """The `resting` scenario: resting limit orders at scale, beside the same
    measurements with empty books earlier in the same run."""
    scale = load(results, "resting")
    runs = {phase: (load(results, f"resting-{phase}"), load(results, f"resting-triggers-{phase}"),
                    load(results, f"resting-check-{phase}")) for phase in ("empty", "full")}
    if not scale or not all(all(r) for r in runs.values()):
        return []
    seed = load(results, "resting-seed") or {}
    n = scale["resting"]
    (load_e, trig_e, check_e), (load_f, trig_f, check_f) = runs["empty"], runs["full"]
    moves_e, moves_f, band_e, band_f = trig_e["moves"], trig_f["moves"], trig_e["band"], trig_f["band"]
    per_order = (scale["fullRssKib"] - scale["emptyRssKib"]) * 1024 / n
    per_order_after = (scale["fullRssAfterKib"] - scale["emptyRssAfterKib"]) * 1024 / n
    rebuild_per_million = scale["rebuildSeconds"] * 1_000_000 / n
    p99 = lambda t: t["latencyMs"]["p99"]  # noqa: E731
    engine_e, engine_f = check_e["movesEngineMs"], check_f["movesEngineMs"]
    finished = lambda r: r["throughput"]["terminalPerSec"] or 0.0  # noqa: E731
    market = finished(load_f) / finished(load_e) if finished(load_e) else 0.0
    pg_rate = lambda c: c["confirmed"] / c["seconds"] if c["seconds"] else 0.0  # noqa: E731
    ratio = lambda full, empty: f"{full / empty:.2f}×" if empty else "–"  # noqa: E731
    pct = lambda t, key, p: f"{t[key][p]:.1f}" if t.get(key) else "–"  # noqa: E731
    pair = lambda t, key: f"{pct(t, key, 'p50')} / {pct(t, key, 'p99')}"  # noqa: E731

    out = [f"## Resting limit orders at scale ({'quick run' if quick else 'full run'}, "
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
           "Produced by `scripts/bench" + (" --quick" if quick else "") + " --only resting` (issue 16, item 7); raw "
           "reports in `target/bench/resting*`. One API and one worker, instant venues, the market simulator off "
           "(`OEE_SIM_TICK_MS=0`: only the benchmark's outside trades move prices). Every figure with the books full "
           "stands beside the same measurement with empty books, earlier in the same run on the same cluster.", ""]
    out += machine()
    other = {phase: other_cpu(results, phase) for phase in ("empty", "full")}
    share = lambda phase: "–" if other[phase] is None else f"{other[phase] * 100:.0f}%"  # noqa: E731
    out += [f"- Other work on the machine (CPU time outside this benchmark's processes, PostgreSQL and Redis, "
            f"over the load run and the triggers): {share('empty')} of the two cores with empty books, "
            f"{share('full')} with the books full.", ""]
    # A comparison of two phases is only as good as the machine was equally
    # quiet for both.
    even = other["empty"] is not None and other["full"] is not None and abs(other["empty"] - other["full"]) <= 0.1
    unchanged = ("yes" if market >= 0.95 else "no") if even else (
        f"unclear: other work took {share('empty')} of the machine with empty books and {share('full')} with them "
        f"full")
    out += ["### Targets", "", "| target | measured | met |", "|---|---|---|",
            f"| ≤ 300 bytes of resident memory per resting order | {per_order:,.0f} bytes: worker RSS "
            f"{scale['emptyRssKib'] / 1024:.1f} MiB with empty books, {scale['fullRssKib'] / 1024:.1f} MiB holding "
            f"{n:,}; after the same work (a load run and the triggers) {per_order_after:,.0f} bytes "
            f"({scale['emptyRssAfterKib'] / 1024:.1f} → {scale['fullRssAfterKib'] / 1024:.1f} MiB) "
            f"| {'yes' if max(per_order, per_order_after) <= 300 else 'no'} |",
            f"| rebuild of a million in ≤ 15 s | {scale['rebuildSeconds']:.1f} s for {n:,} orders "
            f"({scale['rebuildPairs']} pairs loaded one after another; {rebuild_per_million:.1f} s per million) "
            f"| {'yes' if rebuild_per_million <= 15 else 'no'} |",
            f"| move-to-trigger p99 ≤ 10 ms with the books full | end to end (trade sent → `routing` received) p99 "
            f"{p99(moves_f):.1f} ms, empty books {p99(moves_e):.1f} ms ({ratio(p99(moves_f), p99(moves_e))}); in the "
            f"engine (trade's transaction → trigger stamped) p99 {engine_f['p99']:.1f} ms, empty books "
            f"{engine_e['p99']:.1f} ms ({ratio(engine_f['p99'], engine_e['p99'])}) "
            f"| end to end {'yes' if p99(moves_f) <= 10 else 'no'}, in the engine "
            f"{'yes' if engine_f['p99'] <= 10 else 'no'} |",
            f"| market-order throughput unchanged with the books full | {finished(load_f):,.0f} orders/s vs "
            f"{finished(load_e):,.0f} with empty books: {market:.2f}× | {unchanged} |", ""]
    out += ["### Empty books beside full books", "",
            f"| measure | empty books (reference) | {n:,} resting | full ÷ empty |", "|---|---|---|---|",
            f"| outside trade sent → its orders' `routing` received, p50 / p99 ms ({moves_f['trades']} trades, "
            f"{moves_f['orders'] // max(moves_f['trades'], 1)} orders each) | {pair(moves_e, 'latencyMs')} "
            f"| {pair(moves_f, 'latencyMs')} | {ratio(p99(moves_f), p99(moves_e))} (p99) |",
            f"| the outside trade's own round trip, p50 / p99 ms | {pair(moves_e, 'tradeMs')} "
            f"| {pair(moves_f, 'tradeMs')} | |",
            f"| the trade's transaction → the trigger stamped by the worker (PostgreSQL), p50 / p99 ms "
            f"| {engine_e['p50']:.1f} / {engine_e['p99']:.1f} | {engine_f['p50']:.1f} / {engine_f['p99']:.1f} "
            f"| {ratio(engine_f['p99'], engine_e['p99'])} (p99) |",
            f"| outside trade sent → its orders' `confirmed` received, p50 / p99 ms | {pair(moves_e, 'confirmedMs')} "
            f"| {pair(moves_f, 'confirmedMs')} | |",
            f"| orders that rested again after their trigger (the executor's route read stale pools) | {moves_e['outcome']['reopened']} of "
            f"{moves_e['orders']} | {moves_f['outcome']['reopened']} of {moves_f['orders']} | |",
            f"| band of {band_f['orders']:,} crossed by one trade: trade sent → last `routing` received, ms "
            f"| {band_e['lastTriggeredMs']:,.0f} | {band_f['lastTriggeredMs']:,.0f} "
            f"| {ratio(band_f['lastTriggeredMs'], band_e['lastTriggeredMs'])} |",
            f"| the band: trade sent → last `confirmed` received, ms | {band_e['lastConfirmedMs']:,.0f} "
            f"| {band_f['lastConfirmedMs']:,.0f} | {ratio(band_f['lastConfirmedMs'], band_e['lastConfirmedMs'])} |",
            f"| the band: triggered orders confirmed per second (client clock) | {band_e['confirmedPerSec']:,.0f} "
            f"| {band_f['confirmedPerSec']:,.0f} | {ratio(band_f['confirmedPerSec'], band_e['confirmedPerSec'])} |",
            f"| the band: the same from PostgreSQL (trade's `landed_at` → last `confirmed` event) | "
            f"{pg_rate(check_e):,.0f} | {pg_rate(check_f):,.0f} | {ratio(pg_rate(check_f), pg_rate(check_e))} |",
            f"| market orders finished per second (closed loop 512) | {finished(load_e):,.0f} | {finished(load_f):,.0f} "
            f"| {market:.2f}× |",
            f"| market orders submit → confirmed, p50 / p99 ms | {ms(load_e, 'submitToConfirmed', 'p50')} / "
            f"{ms(load_e, 'submitToConfirmed', 'p99')} | {ms(load_f, 'submitToConfirmed', 'p50')} / "
            f"{ms(load_f, 'submitToConfirmed', 'p99')} | |", ""]
    out += ["What the intervals cover: *trade sent → `routing` received* runs on the load generator's clock from "
            "sending `POST /api/admin/sim/trades` to receiving, on the submit socket the orders were placed over, the "
            "order's `routing` event with its `trigger`. The API lands the swap in PostgreSQL and appends the pool "
            "change to the stream `{ns}:pools` before it answers; the worker's trigger engine, blocked on that stream, "
            "wakes, evaluates the pair's books, records `open → routing` (a group commit), queues the job and "
            "publishes; the API forwards the event. Each of these trades crosses one level of orders that had rested "
            "at least 250 ms. *The trade's own round trip* is the first part alone. *In the engine* is read from "
            "PostgreSQL: from the trade's transaction (`landed_at`, when it began) to the `at` of the order's "
            "`routing` event, which the trigger engine stamps when it fires, before recording it (the worker's clock, "
            "on the same machine); it leaves out the HTTP of the trade, the recording of the trigger and the event's "
            "way to the client. The band: one trade crosses every "
            "order of it at once; *from PostgreSQL* is the trade transaction's `landed_at` (its start) to the last "
            "`confirmed` event's `at`, the worker's clock.", ""]
    checks = []
    for phase, check, trig, run in (("empty", check_e, trig_e, load_e), ("full", check_f, trig_f, load_f)):
        ok = (check["confirmed"] == check["orders"] and not check["confirmedTwice"] and not check["belowMinimum"]
                 and not check["notLanded"] and trig["band"]["outcome"]["clean"] and trig["moves"]["outcome"]["clean"]
              and run["events"]["clean"])
        checks.append(f"{phase} books: band {check['confirmed']:,}/{check['orders']:,} confirmed, "
                      f"{check['confirmedTwice']} confirmed twice, {check['belowMinimum']} below their minimum, "
                      f"{check['notLanded']} without their transaction on the chain; moves "
                      f"{trig['moves']['outcome']['confirmed']}/{trig['moves']['orders']} confirmed; market orders "
                      f"{clean(run)} ({'all clean' if ok else 'NOT CLEAN'})")
    out += ["Checks (PostgreSQL for the band, the client for the rest): " + "; ".join(checks) + ".", ""]
    out += [f"Seeding {seed.get('seeded', n):,} orders (`scripts/lib/seed_resting.py`: one real limit order per "
            f"listed direction placed through the API, cloned in SQL with their `pending` and `open` events, then "
            f"VACUUM ANALYZE and a checkpoint) took {seed.get('seconds', 0):.0f} s. The takeover: worker-1 killed "
            f"(SIGKILL), a fresh worker (`scripts/cluster takeover`) held all {scale['resting']:,} open orders "
            f"{scale['takeoverSeconds']:.1f} s later, of which up to {scale['leaseMs'] / 1000:.0f} s is waiting for the "
            f"dead worker's leases to expire (`OEE_TRIGGER_LEASE_MS`) and {scale['rebuildSeconds']:.1f} s loading the "
            f"books (`oee_book_rebuild_seconds`, summed over the pairs). While it loaded the pairs one after another, "
            f"{scale['leasesLapsed']} of the leases it had taken lapsed before it was done (seen every 100 ms; a lease "
            f"lives {scale['leaseMs'] / 1000:.0f} s, and the worker renews its leases between rebalances, taking and "
            f"loading all its pairs in one). Bytes per order: RSS of the new "
            f"worker 2 s after it held them all, minus the RSS of worker-1 2 s after it started with empty books, "
            f"over the orders held; then RSS of the new worker after the full books' load run and triggers, minus "
            f"that of worker-1 after the same with empty books (just before it was killed).", ""]
    out += ["Commands:", "",
            f"- market orders: {cmd(load_e)} (both phases)",
            f"- limit orders fired by outside trades: {cmd(trig_e)} (`--user resting-full` with the books full)", ""]
    return out


def other_cpu(results: str, phase: str) -> float | None:
    """The share of the machine's CPU (0 to 1) that went to other processes
    during a phase (`cpu_split` in scripts/bench), if it was measured."""
    path = os.path.join(results, f"resting-busy-{phase}.txt")
    samples = [list(map(float, l.split())) for l in open(path) if len(l.split()) == 3] if os.path.exists(path) else []
    if len(samples) < 2:
        return None
    (t0, total0, ours0), (t1, total1, ours1) = samples[0], samples[-1]
    busy = max(0.0, (total1 - total0) - (ours1 - ours0)) / os.sysconf("SC_CLK_TCK")
    return busy / ((t1 - t0) * (os.cpu_count() or 1))


if __name__ == "__main__":
    main()
