"""What a Prometheus recorded during a soak (scripts/lib/prometheus.sh starts
one): whether every query of the Grafana dashboard returns data, and which
alerts fired after each injected fault, how many seconds later.

Usage:
  prom_report.py dashboard --url URL [--dashboard deploy/grafana/oee.json]
                 [--at TS | --range [--start TS] [--end TS]] [--var NAME=VALUE]...
  prom_report.py alerts --url URL --faults FILE [--start TS] [--end TS] [--json]

dashboard: runs every panel query (Grafana's `$__rate_interval` read as 1m,
`$__interval` as 15s, `$__range` as the window, template variables as their
current value or `.*` for All, or as --var says) through /api/v1/query at --at
(default now), or with --range through /api/v1/query_range over the window at a
15 s step. A query "has data" when it returns a sample that is not NaN. Prints
one line per query without data; exits 1 if there is any.

alerts: FILE (or `-` for stdin) is a JSON list of the faults injected, in any
order: [{"at": UNIX_TS, "fault": "kill -9 redis primary", "expect":
["OeeStoreErrors"]}, ...] ("expect" is optional). Reads the history of ALERTS
and ALERTS_FOR_STATE (/api/v1/query_range at a 1 s step, coarser for windows
over 10,000 s) and splits each alert's into episodes: it became active
(pending; for a rule without `for:` the moment it fired), maybe fired, then
resolved or was still active at the end. Each episode is listed under the last
fault injected at or before it became active, with the seconds from that fault
to active, firing and resolved (to about a second); those active before the
first fault are listed first. Exits 1 if an expected alert did not fire in an
episode that began after its fault and before the next one. For example:

  alerts from 15:38:30 to 15:43:01 UTC (http://127.0.0.1:22064)
    15:39:05 kill -9 worker-1 (of 2):
      OeeWorkerDown{instance="127.0.0.1:20137", job="oee-worker"} (ticket): active +1.1s, firing +62.3s, still active
      OeeJobsReclaimed (ticket): active +4.1s, firing +5.3s, still active
    15:40:20 kill -9 redis (back empty 100 s later):
      OeeStoreErrors{store="redis"} (ticket): active +2.1s, firing +3.3s, still active
      OeeApiNotReady{instance="127.0.0.1:29140", job="oee-api"} (ticket): active +54.1s, firing +85.3s, resolved +107.3s
      EXPECTED, DID NOT FIRE: OeeNoWorkers

--json prints the same as {"window": {"start", "end"}, "before_faults": [ALERT],
"faults": [{"at", "fault", "alerts": [ALERT], "expected", "missing"}]}, where
ALERT is {"alert", "labels", "active_after", "firing_after", "resolved_after"}
in seconds (null: never fired, or still active).

The window defaults to Prometheus's start up to now. Exit status 2: bad
arguments, or Prometheus could not be asked.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/oee.json"
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 per series


class Failure(Exception):
    """Prometheus could not be asked, or the input is wrong: exit status 2."""


class QueryError(Failure):
    """Prometheus refused a query (bad PromQL, too many points)."""


class Prometheus:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str, **params: str) -> dict:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(self.url + path, data=data if params else None)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = json.load(response)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except ValueError:
                raise Failure(f"{path}: HTTP {e.code}") from e
        except (OSError, ValueError) as e:
            raise Failure(f"{self.url}{path}: {e}") from e
        if body.get("status") != "success":
            raise QueryError(f"{path} {params.get('query', '')}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def started(self) -> float:
        start = self.get("/api/v1/status/runtimeinfo")["startTime"]
        return datetime.fromisoformat(re.sub(r"\.(\d{6})\d*", r".\1", start).replace("Z", "+00:00")).timestamp()

    def query(self, expr: str, at: float) -> list[dict]:
        return self.get("/api/v1/query", query=expr, time=f"{at:.3f}")["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self.get(
            "/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}"
        )["result"]


def clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S")


def window(prom: Prometheus, args: argparse.Namespace) -> tuple[float, float]:
    end = args.end if args.end is not None else time.time()
    start = args.start if args.start is not None else prom.started()
    if start >= end:
        raise Failure(f"the window is empty: start {start} is not before end {end}")
    return start, end


# ---- dashboard ------------------------------------------------------------------


def panel_queries(panels: list[dict]) -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) of every query, collapsed rows included."""
    out = []
    for p in panels:
        for t in p.get("targets") or []:
            if t.get("expr") and not t.get("hide"):
                out.append((p.get("title", "?"), t.get("refId", "?"), t["expr"]))
        out += panel_queries(p.get("panels") or [])
    return out


def variables(dash: dict, overrides: dict[str, str]) -> dict[str, str]:
    values = {}
    for v in (dash.get("templating") or {}).get("list") or []:
        current = (v.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(current)
        if current in (None, "", "$__all", "All"):
            current = v.get("allValue") or ".*"
        values[v["name"]] = str(current)
    return values | overrides


def substitute(expr: str, values: dict[str, str]) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", value, expr)


def has_data(result: list[dict]) -> bool:
    samples = [s[1] for r in result for s in ([r["value"]] if "value" in r else r.get("values", []))]
    return any(not math.isnan(float(v)) for v in samples)


def report_dashboard(prom: Prometheus, args: argparse.Namespace) -> int:
    dash = json.loads(Path(args.dashboard).read_text())
    if args.range:
        start, end = window(prom, args)
        span = f"{clock(start)} to {clock(end)} UTC, every 15 s"
    else:
        start = end = args.at if args.at is not None else time.time()
        span = f"at {clock(end)} UTC"
    overrides = dict(v.split("=", 1) for v in args.var)
    values = variables(dash, overrides) | {
        "__rate_interval": "1m",
        "__interval": "15s",
        "__interval_ms": "15000",
        "__range": f"{max(1, round(end - start))}s",
        "__range_s": str(max(1, round(end - start))),
        "__range_ms": str(max(1000, round((end - start) * 1000))),
    }
    queries = panel_queries(dash.get("panels") or [])
    empty = []
    for title, ref, expr in queries:
        promql = substitute(expr, values)
        try:
            result = prom.query_range(promql, start, end, 15) if args.range else prom.query(promql, end)
        except QueryError as e:
            empty.append(f"{title} [{ref}]: {promql}  (error: {e})")
            continue
        if not has_data(result):
            empty.append(f"{title} [{ref}]: {promql}")
    print(f"{args.dashboard}: {len(queries) - len(empty)} of {len(queries)} queries return data ({span})")
    for line in empty:
        print(f"  no data: {line}")
    return 1 if empty else 0


# ---- alerts ---------------------------------------------------------------------


@dataclass
class Episode:
    alert: str
    labels: dict[str, str]
    active: float
    firing: float | None = None
    resolved: float | None = None  # None: still active at the end of the window
    seen: list[float] = field(default_factory=list)

    def describe(self) -> str:
        extra = {k: v for k, v in sorted(self.labels.items()) if k not in ("alertname", "severity")}
        inner = ", ".join(f'{k}="{v}"' for k, v in extra.items())
        return f"{self.alert}{{{inner}}}" if inner else self.alert


def identity(metric: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in metric.items() if k not in ("__name__", "alertstate")))


def episodes(prom: Prometheus, start: float, end: float) -> list[Episode]:
    step = max(1.0, math.ceil((end - start) / MAX_POINTS))
    states: dict[tuple, dict[float, str]] = {}
    for series in prom.query_range("ALERTS", start, end, step):
        timeline = states.setdefault(identity(series["metric"]), {})
        for ts, _ in series["values"]:
            if timeline.get(ts) != "firing":
                timeline[ts] = series["metric"].get("alertstate", "firing")
    # ALERTS_FOR_STATE's value is when the alert became active, to the second.
    active_at: dict[tuple, list[tuple[float, float]]] = {}
    for series in prom.query_range("ALERTS_FOR_STATE", start, end, step):
        active_at[identity(series["metric"])] = [(float(ts), float(v)) for ts, v in series["values"]]

    out = []
    for key, timeline in states.items():
        labels = dict(key)
        current: Episode | None = None
        for ts in sorted(timeline):
            if current is None or ts - current.seen[-1] > step * 1.5:
                if current is not None:
                    current.resolved = current.seen[-1] + step
                current = Episode(labels.get("alertname", "?"), labels, ts)
                out.append(current)
            current.seen.append(ts)
            if timeline[ts] == "firing" and current.firing is None:
                current.firing = ts
        if current is not None and current.seen[-1] + step * 1.5 < end:
            current.resolved = current.seen[-1] + step
    for e in out:
        exact = [v for ts, v in active_at.get(identity(e.labels), []) if e.seen[0] <= ts <= e.seen[-1]]
        if exact:
            e.active = min(min(exact), e.active)
        if e.firing is not None:
            e.firing = max(e.firing, e.active)
    return sorted(out, key=lambda e: (e.active, e.alert))


def load_faults(path: str) -> list[dict]:
    try:
        faults = json.load(sys.stdin if path == "-" else open(path))
    except (OSError, ValueError) as e:
        raise Failure(f"--faults {path}: {e}") from e
    if not isinstance(faults, list) or not all(
        isinstance(f, dict) and isinstance(f.get("at"), (int, float)) and isinstance(f.get("fault"), str)
        for f in faults
    ):
        raise Failure('--faults: expected a JSON list of {"at": unix_ts, "fault": "...", "expect": [...]}')
    return sorted(faults, key=lambda f: f["at"])


def report_alerts(prom: Prometheus, args: argparse.Namespace) -> int:
    faults = load_faults(args.faults)
    if args.start is None and faults:
        args.start = min(prom.started(), faults[0]["at"])
    start, end = window(prom, args)
    found = episodes(prom, start, end)

    # Each episode under the last fault injected at or before it became active.
    before = [e for e in found if not faults or e.active < faults[0]["at"]]
    per_fault = []
    for i, fault in enumerate(faults):
        until = faults[i + 1]["at"] if i + 1 < len(faults) else math.inf
        mine = [e for e in found if fault["at"] <= e.active < until]
        # An expected alert counts if it fires in the fault's window, or is
        # still firing from before: a rule over a long window (any store error
        # in 15 minutes, a non-empty dead-letter stream) stays firing through
        # a second fault of the same kind, and cannot fire anew for it.
        fired = {
            e.alert
            for e in found
            if e.firing is not None and e.firing < until and (e.resolved is None or e.resolved >= fault["at"])
        }
        # Expected alerts that fired only as episodes begun before this fault.
        held = fired - {e.alert for e in mine if e.firing is not None}
        per_fault.append((fault, mine, [a for a in fault.get("expect") or [] if a not in fired], held))
    status = 1 if any(missing for _, _, missing, _ in per_fault) else 0

    def after(ts: float | None, since: float) -> float | None:
        return None if ts is None else round(ts - since, 1)

    if args.json:

        def entry(e: Episode, since: float) -> dict:
            return {
                "alert": e.alert,
                "labels": e.labels,
                "active_after": after(e.active, since),
                "firing_after": after(e.firing, since),
                "resolved_after": after(e.resolved, since),
            }

        report = {
            "window": {"start": start, "end": end},
            "before_faults": [entry(e, start) for e in before],
            "faults": [
                {
                    "at": fault["at"],
                    "fault": fault["fault"],
                    "alerts": [entry(e, fault["at"]) for e in mine],
                    "expected": fault.get("expect") or [],
                    "missing": missing,
                }
                for fault, mine, missing, _ in per_fault
            ],
        }
        print(json.dumps(report, indent=2))
        return status

    def line(e: Episode, since: float) -> str:
        parts = [f"active {after(e.active, since):+g}s"]
        parts.append(f"firing {after(e.firing, since):+g}s" if e.firing is not None else "never fired")
        parts.append(f"resolved {after(e.resolved, since):+g}s" if e.resolved is not None else "still active")
        severity = e.labels.get("severity")
        return f"    {e.describe()}{f' ({severity})' if severity else ''}: {', '.join(parts)}"

    print(f"alerts from {clock(start)} to {clock(end)} UTC ({prom.url})")
    if before:
        print(f"  before the first fault (seconds from {clock(start)}):")
        for e in before:
            print(line(e, start))
    for fault, mine, missing, held in per_fault:
        print(f"  {clock(fault['at'])} {fault['fault']}:")
        for e in mine:
            print(line(e, fault["at"]))
        expected_held = sorted(a for a in held if a in (fault.get("expect") or []))
        if expected_held:
            print(f"    still firing from before: {', '.join(expected_held)}")
        if not mine and not expected_held:
            print("    no alert")
        if missing:
            print(f"    EXPECTED, DID NOT FIRE: {', '.join(missing)}")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("dashboard", "alerts"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True, help="Prometheus, e.g. http://127.0.0.1:9090 ($PROM_URL)")
        p.add_argument("--start", type=float, help="window start, unix seconds (default: Prometheus's start)")
        p.add_argument("--end", type=float, help="window end, unix seconds (default: now)")
        if name == "dashboard":
            p.add_argument("--dashboard", default=str(DASHBOARD), help="Grafana dashboard JSON")
            p.add_argument("--at", type=float, help="evaluate the queries at this time (default: now)")
            p.add_argument("--range", action="store_true", help="data anywhere in the window counts")
            p.add_argument("--var", action="append", default=[], help="NAME=VALUE for a template variable")
        else:
            p.add_argument("--faults", required=True, help="JSON list of faults, or - for stdin")
            p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if any("=" not in v for v in getattr(args, "var", [])):
        parser.error("--var takes NAME=VALUE")
    prom = Prometheus(args.url)
    try:
        return report_dashboard(prom, args) if args.command == "dashboard" else report_alerts(prom, args)
    except Failure as e:
        print(f"prom_report.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
