"""What every check shares: the repository, the files several checks read, the
list of problems found and how they are printed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[3]

COMPOSE_FILE = "docker-compose.yml"
DOCKERFILE = "deploy/Dockerfile"
NGINX_CONF = "deploy/nginx/nginx.conf"

# Every problem found, one line each, in the order found (printed at the end).
problems: list[str] = []


def problem(where: str, message: str) -> None:
    line = f"{where}: {message}"
    if line not in problems:
        problems.append(line)


def ok(message: str) -> None:
    print(f"ok   {message}", flush=True)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def load_yaml_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def short(message: str, limit: int = 240) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def schema_errors(validator: jsonschema.protocols.Validator, doc: Any) -> Iterable[str]:
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in error.absolute_path) or "(top)"
        yield f"{path}: {short(error.message)}"
