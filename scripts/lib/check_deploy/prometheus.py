"""deploy/prometheus/: the alerting rules (alerts.yml), their unit tests
(alerts.test.yml) and the example configuration (prometheus.yml), through
promtool (`check rules`, `test rules`, `check config`); then what promtool does
not know: every rule's metrics are ones oee exports (metric_names, as for the
dashboard), its jobs are the scrape jobs, it has a severity, a summary, a
description and a runbook that is a heading of docs/OPERATIONS.md, and the tests
have a case where it fires and one where it does not."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import yaml

from .common import ROOT, ok, problem, problems, short
from .dashboard import promql_problems

RULES = "deploy/prometheus/alerts.yml"
TESTS = "deploy/prometheus/alerts.test.yml"
CONFIG = "deploy/prometheus/prometheus.yml"
JOBS = {"oee-api", "oee-worker"}
SEVERITIES = {"page", "ticket"}
ANNOTATIONS = ("summary", "description", "runbook")
# Series Prometheus itself writes for every target, which rules may read.
PROMETHEUS_SERIES = frozenset({"up"})


def promtool(binary: str, *args: str) -> None:
    """Runs `promtool ARGS`; each failure it prints becomes a problem."""
    where = args[-1]
    try:
        result = subprocess.run(
            [binary, *args], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        problem(where, f"promtool {args[0]} {args[1]} could not run: {short(str(e))}")
        return
    if result.returncode == 0:
        return
    output = (result.stdout + result.stderr).strip()
    failures = list(test_failures(output)) if args[:2] == ("test", "rules") else []
    for failure in failures or [short(output or f"exit status {result.returncode}", 600)]:
        problem(where, f"promtool {args[0]} {args[1]}: {failure}")


def test_failures(output: str) -> Iterator[str]:
    """One line per failed case of `promtool test rules`: test, alert, time."""
    for m in re.finditer(r"name: (.*),\s*\n\s*alertname: (\S+), time: (\S+),", output):
        yield f"test {m.group(1)!r}: {m.group(2)} at {m.group(3)} is not as expected"


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings."""
    anchors = set()
    for m in re.finditer(r"(?m)^#{1,6}\s+(.+?)\s*$", markdown):
        anchors.add(re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-"))
    return anchors


def rules_of(doc: dict) -> Iterator[dict]:
    for group in doc.get("groups") or []:
        yield from group.get("rules") or []


def tested(tests: dict) -> tuple[set[str], set[str]]:
    """Alerts the tests expect to fire somewhere, and expect quiet somewhere."""
    fires, quiet = set(), set()
    for test in tests.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case.get("alertname"))
    return fires, quiet


def check_prometheus(binary: str, exported: set[str] | None) -> None:
    before = len(problems)
    promtool(binary, "check", "rules", RULES)
    promtool(binary, "test", "rules", TESTS)
    promtool(binary, "check", "config", CONFIG)

    doc = yaml.safe_load((ROOT / RULES).read_text()) or {}
    anchors = heading_anchors((ROOT / "docs/OPERATIONS.md").read_text())
    alerts = []
    for rule in rules_of(doc):
        name = rule.get("alert") or rule.get("record") or "?"
        alerts.append(name)
        where = f"{RULES}: {name}"
        expr = str(rule.get("expr", ""))
        for msg in promql_problems(expr, exported, PROMETHEUS_SERIES):
            problem(where, msg)
        for job in re.findall(r'\bjob\s*=~?\s*"([^"]*)"', expr):
            if job not in JOBS:
                problem(where, f"selects job {job!r}, which is not a scrape job ({', '.join(sorted(JOBS))})")
        if "record" in rule:
            continue
        severity = (rule.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            problem(where, f"severity is {severity!r}, not one of {', '.join(sorted(SEVERITIES))}")
        annotations = rule.get("annotations") or {}
        for key in ANNOTATIONS:
            if not annotations.get(key):
                problem(where, f"has no {key} annotation")
        runbook = str(annotations.get("runbook", ""))
        page, _, anchor = runbook.partition("#")
        if runbook and (page != "docs/OPERATIONS.md" or anchor not in anchors):
            problem(where, f"runbook {runbook!r} is not a heading of docs/OPERATIONS.md")

    fires, quiet = tested(yaml.safe_load((ROOT / TESTS).read_text()) or {})
    for name in alerts:
        if name not in fires:
            problem(TESTS, f"no case where {name} fires")
        if name not in quiet:
            problem(TESTS, f"no case where {name} stays quiet")
    for name in sorted((fires | quiet) - set(alerts)):
        problem(TESTS, f"tests {name}, which {RULES} does not define")

    config = yaml.safe_load((ROOT / CONFIG).read_text()) or {}
    jobs = {c.get("job_name") for c in config.get("scrape_configs") or []}
    if not JOBS <= jobs:
        problem(CONFIG, f"does not scrape the jobs the rules select: {', '.join(sorted(JOBS - jobs))}")
    if "alerts.yml" not in (config.get("rule_files") or []):
        problem(CONFIG, "does not load alerts.yml")

    if len(problems) == before and exported is not None:
        ok(
            f"deploy/prometheus: {len(alerts)} alerts, promtool check and unit tests pass (each alert "
            "fires and stays quiet), every metric one oee-api or oee-worker lists"
        )
