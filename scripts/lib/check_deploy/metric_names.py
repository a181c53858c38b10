"""The series names oee exports, asked of the binaries themselves: `oee-api
metrics --list` and `oee-worker metrics --list` print every name their /metrics
can expose, one a line (counters with _total, histograms as _bucket, _sum and
_count), read from the registry each process serves. Nothing here is a copy
that could fall behind the code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .common import ROOT, problem, short

BINARIES = ("oee-api", "oee-worker")
METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def exported(bin_dir: Path) -> set[str] | None:
    """Every name either binary lists, or None (each failure reported as a problem)."""
    names: set[str] = set()
    failed = False
    for binary in BINARIES:
        path = bin_dir / binary
        where = f"{shown(path)} metrics --list"
        try:
            result = subprocess.run(
                [str(path), "metrics", "--list"], check=False, capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            problem(where, f"could not run: {short(str(e))} (scripts/check-deploy builds it unless OEE_BIN_DIR is set)")
            failed = True
            continue
        listed = result.stdout.split()
        bad = [n for n in listed if not METRIC_NAME.fullmatch(n)]
        if result.returncode != 0 or not listed or bad:
            why = f"exit status {result.returncode}" if result.returncode != 0 else "printed no metric names"
            if bad:
                why = f"printed {bad[0]!r}, not a metric name"
            problem(where, f"{why}: {short(result.stderr.strip() or result.stdout.strip() or 'no output')}")
            failed = True
            continue
        names |= set(listed)
    return None if failed else names
