"""Runs every check of the deployment files; prints one `ok` line per thing that
passed, then one `FAIL` line per problem, and exits 1 if there is any."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as package_doc
from .common import COMPOSE_FILE, DOCKERFILE, problem, problems, short
from .compose import check_compose
from .dashboard import DASHBOARD, check_dashboard
from .dockerfile import check_dockerfile
from .k8s import check_k8s
from .metric_names import exported
from .prometheus import RULES, check_prometheus


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m check_deploy", description=package_doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kubectl", required=True, help="kubectl, for `kubectl kustomize`")
    parser.add_argument("--hadolint", required=True, help="hadolint")
    parser.add_argument("--promtool", required=True, help="promtool (Debian: the prometheus package)")
    parser.add_argument(
        "--bin-dir",
        required=True,
        type=Path,
        help="where oee-api and oee-worker are, to ask what they export and which streams they read",
    )
    args = parser.parse_args()
    names = exported(args.bin_dir.resolve())
    checks = [
        ("k8s/", lambda: check_k8s(args.kubectl, args.bin_dir.resolve())),
        (COMPOSE_FILE, check_compose),
        (DOCKERFILE, lambda: check_dockerfile(args.hadolint)),
        (DASHBOARD, lambda: check_dashboard(names)),
        (RULES, lambda: check_prometheus(args.promtool, names)),
    ]
    for where, check in checks:
        try:
            check()
        except Exception as e:  # noqa: BLE001 - a file too broken for the checks themselves
            problem(where, f"could not be checked: {type(e).__name__}: {short(str(e))}")
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        print(f"{len(problems)} problem(s) in the deployment files")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
