"""deploy/grafana/oee.json, the Grafana dashboard: JSON with a Prometheus
datasource input, every panel on ${DS_PROMETHEUS}, unique ids, no overlapping
panels, and queries that use known PromQL functions and only the metrics oee
exports (metric_names). The alerting rules' check (prometheus) reads its
queries with the same promql_problems."""

from __future__ import annotations

import json
import re

from .common import ROOT, ok, problem, problems

DASHBOARD = "deploy/grafana/oee.json"

# Functions and keywords a dashboard query may use; any other word followed by
# "(" is reported as an unknown function (a typo Grafana would show as an error).
PROMQL_FUNCTIONS = set(
    """
    abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min
    count_over_time day_of_month day_of_week delta deriv exp floor histogram_quantile hour
    idelta increase irate label_join label_replace last_over_time ln log10 log2
    max_over_time min_over_time minute month predict_linear quantile_over_time rate resets
    round scalar sort sort_desc sqrt sum_over_time time timestamp vector year
    sum min max avg count stddev stdvar topk bottomk quantile count_values group
    """.split()
)
PROMQL_KEYWORDS = set("by without on ignoring group_left group_right bool and or unless offset inf nan".split())


def promql_problems(expr: str, exported: set[str] | None, others: frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with one query; `exported` is every series name oee exports
    (None when the binaries could not say: then names are not looked up), and
    `others` names series the query may also read (e.g. Prometheus's `up`)."""
    out = []
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)", e):
        word = m.group(1)
        is_call = e[m.end() :].lstrip().startswith("(")
        if word in PROMQL_KEYWORDS:
            continue
        if is_call:
            if word not in PROMQL_FUNCTIONS:
                out.append(f"unknown PromQL function {word!r}")
            continue
        if word in others:
            continue
        if not word.startswith("oee_"):
            out.append(f"metric {word!r} does not start with oee_")
        elif exported is not None and word not in exported:
            out.append(
                f"metric {word!r} is not one oee exports: neither `oee-api metrics --list` "
                "nor `oee-worker metrics --list` lists it"
            )
    if expr.count("(") != expr.count(")"):
        out.append("unbalanced parentheses")
    return out


def check_dashboard(exported: set[str] | None) -> None:
    before = len(problems)
    try:
        dash = json.loads((ROOT / DASHBOARD).read_text())
    except json.JSONDecodeError as e:
        problem(DASHBOARD, f"not JSON: {e}")
        return
    if not any(
        i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in dash.get("__inputs") or []
    ):
        problem(DASHBOARD, "__inputs has no Prometheus datasource named DS_PROMETHEUS")
    ids: set[int] = set()
    boxes: list[tuple[str, dict]] = []
    exprs = 0
    for p in dash.get("panels") or []:
        title = p.get("title", "?")
        if p.get("id") in ids:
            problem(DASHBOARD, f"panel {title!r}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        g = p.get("gridPos") or {}
        if not all(k in g for k in ("h", "w", "x", "y")) or g.get("x", 0) + g.get("w", 0) > 24:
            problem(DASHBOARD, f"panel {title!r}: bad gridPos {g}")
        for other, og in boxes:
            if (
                g["x"] < og["x"] + og["w"]
                and og["x"] < g["x"] + g["w"]
                and g["y"] < og["y"] + og["h"]
                and og["y"] < g["y"] + g["h"]
            ):
                problem(DASHBOARD, f"panel {title!r} overlaps panel {other!r}")
        boxes.append((title, g))
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
            problem(DASHBOARD, f"panel {title!r}: datasource is not ${{DS_PROMETHEUS}}")
        if not p.get("targets"):
            problem(DASHBOARD, f"panel {title!r}: no queries")
        for t in p.get("targets") or []:
            if (t.get("datasource") or {}).get("uid") not in (None, "${DS_PROMETHEUS}"):
                problem(DASHBOARD, f"panel {title!r} query {t.get('refId')}: datasource is not ${{DS_PROMETHEUS}}")
            exprs += 1
            for msg in promql_problems(t.get("expr", ""), exported):
                problem(DASHBOARD, f"panel {title!r} query {t.get('refId')}: {msg}")
    if len(problems) == before and exported is not None:
        ok(
            f"{DASHBOARD}: {len(ids)} panels, {exprs} queries, every metric one of the "
            f"{len(exported)} series oee-api and oee-worker list"
        )
