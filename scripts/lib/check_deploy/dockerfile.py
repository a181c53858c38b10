"""deploy/Dockerfile linted with hadolint (any finding fails), its api and worker
stages, and a .dockerignore that keeps the build context small but complete."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess

from .common import DOCKERFILE, ROOT, ok, problem, problems, short


def dockerfile_stages() -> set[str]:
    text = (ROOT / DOCKERFILE).read_text()
    return {m.lower() for m in re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", text)}


def check_dockerfile(hadolint: str) -> None:
    before = len(problems)
    result = subprocess.run(
        [hadolint, "--no-color", "--format", "json", "--failure-threshold", "style", str(ROOT / DOCKERFILE)],
        check=False,
        capture_output=True,
        text=True,
    )
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        problem(DOCKERFILE, "hadolint: " + short(result.stderr or result.stdout))
        findings = []
    for f in findings:
        problem(DOCKERFILE, f"line {f.get('line')}: {f.get('code')} ({f.get('level')}): {f.get('message')}")
    if result.returncode != 0 and not findings and len(problems) == before:
        problem(DOCKERFILE, "hadolint failed: " + short(result.stderr or result.stdout))
    ignore = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in ("target", ".git"):
        if must not in ignore:
            problem(".dockerignore", f"does not exclude {must}/ from the build context")
    for needed in ("Cargo.toml", "Cargo.lock", "crates", "migrations"):
        if any(fnmatch.fnmatch(needed, pattern) for pattern in ignore):
            problem(".dockerignore", f"excludes {needed}, which the image build needs")
    for stage in ("api", "worker"):
        if stage not in dockerfile_stages():
            problem(DOCKERFILE, f"has no stage named {stage!r}")
    if len(problems) == before:
        ok(f"{DOCKERFILE}: hadolint clean; targets api and worker; .dockerignore keeps the context small")
