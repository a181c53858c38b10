"""docker-compose.yml against the Compose Specification, then what the schema
cannot see: images built once, depends_on targets and conditions, build targets,
volumes, stop grace periods against the shutdown settings; and nginx.conf
(nginx), whose upstreams must be services listening on 0.0.0.0."""

from __future__ import annotations

import json
import re

import jsonschema
import yaml

from .common import COMPOSE_FILE, DOCKERFILE, NGINX_CONF, ROOT, ok, problem, problems, schema_errors, short
from .dockerfile import dockerfile_stages
from .nginx import check_nginx

COMPOSE_SCHEMA = "deploy/schemas/compose-spec.json"


def compose_duration_s(value: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value)):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


def check_compose() -> None:
    schema = json.loads((ROOT / COMPOSE_SCHEMA).read_text())
    try:
        compose = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())
    except yaml.YAMLError as e:
        problem(COMPOSE_FILE, f"not YAML: {short(str(e))}")
        return
    before = len(problems)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = list(schema_errors(validator, compose))
    for e in errors:
        # A wrong property also makes its siblings "unevaluated"; report only the real one.
        path = e.split(":", 1)[0]
        if "Unevaluated properties are not allowed" in e and any(o != e and o.startswith(path + ".") for o in errors):
            continue
        problem(COMPOSE_FILE, e)
    if len(problems) > before:
        return
    services: dict = compose.get("services") or {}
    volumes = set(compose.get("volumes") or {})
    stages = dockerfile_stages()
    built: dict[str, str] = {}
    for name, svc in services.items():
        image = svc.get("image")
        if svc.get("build") and image:
            if image in built:
                problem(
                    COMPOSE_FILE,
                    f"services.{name} and services.{built[image]} both build {image}: "
                    "parallel builds collide on the tag; let one build it and the other only use it",
                )
            built.setdefault(image, name)
        elif (
            image
            and image.endswith(":local")
            and image not in {s.get("image") for s in services.values() if s.get("build")}
        ):
            problem(COMPOSE_FILE, f"services.{name} uses {image}, which no service builds")
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        deps = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for dep, cond in deps.items():
            if dep not in services:
                problem(COMPOSE_FILE, f"services.{name}.depends_on: {dep!r} is not a service")
                continue
            condition = (cond or {}).get("condition", "service_started")
            if condition == "service_healthy" and not services[dep].get("healthcheck"):
                problem(COMPOSE_FILE, f"services.{name} waits for {dep} to be healthy, but {dep} has no healthcheck")
            if condition == "service_completed_successfully" and services[dep].get("restart", "no") != "no":
                problem(COMPOSE_FILE, f"services.{name} waits for {dep} to complete, but {dep} restarts")
        build = svc.get("build")
        if isinstance(build, dict):
            dockerfile = ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                problem(COMPOSE_FILE, f"services.{name}.build: {dockerfile.relative_to(ROOT)} does not exist")
            elif dockerfile.resolve() == (ROOT / DOCKERFILE).resolve() and build.get("target") not in stages:
                problem(
                    COMPOSE_FILE, f"services.{name}.build.target {build.get('target')!r} is not a stage of {DOCKERFILE}"
                )
        for v in svc.get("volumes") or []:
            source = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if source.startswith((".", "/")):
                if not (ROOT / source).exists():
                    problem(COMPOSE_FILE, f"services.{name}.volumes: {source} does not exist")
            elif source and source not in volumes:
                problem(COMPOSE_FILE, f"services.{name}.volumes: named volume {source!r} is not declared")
        env = svc.get("environment") or {}
        if isinstance(env, dict) and "OEE_SHUTDOWN_GRACE_MS" in env:
            grace = compose_duration_s(svc.get("stop_grace_period", "10s"))
            if grace * 1000 < int(env["OEE_SHUTDOWN_GRACE_MS"]) + 5000:
                problem(
                    COMPOSE_FILE,
                    f"services.{name}: stop_grace_period {svc.get('stop_grace_period', '10s')} "
                    f"is not above OEE_SHUTDOWN_GRACE_MS={env['OEE_SHUTDOWN_GRACE_MS']} + 5 s",
                )
        if isinstance(env, dict) and "OEE_SHUTDOWN_DELAY_MS" in env:
            # the delay, then up to 5 s of draining, then some slack
            grace = compose_duration_s(svc.get("stop_grace_period", "10s"))
            if grace * 1000 < int(env["OEE_SHUTDOWN_DELAY_MS"]) + 8000:
                problem(
                    COMPOSE_FILE,
                    f"services.{name}: stop_grace_period {svc.get('stop_grace_period', '10s')} is not above "
                    f"OEE_SHUTDOWN_DELAY_MS={env['OEE_SHUTDOWN_DELAY_MS']} + 5 s of draining + slack",
                )
    mounts_conf = any(str(v).startswith(f"./{NGINX_CONF}:") for s in services.values() for v in s.get("volumes") or [])
    if not mounts_conf:
        problem(COMPOSE_FILE, f"no service mounts ./{NGINX_CONF}")
    hosts = check_nginx(compose)
    for h in hosts & set(services):
        env = services[h].get("environment") or {}
        if isinstance(env, dict) and not str(env.get("OEE_HTTP_ADDR", "")).startswith("0.0.0.0:"):
            problem(COMPOSE_FILE, f"services.{h}: nginx proxies to it, but OEE_HTTP_ADDR does not listen on 0.0.0.0")
    if len(problems) == before:
        ok(
            f"{COMPOSE_FILE}: valid Compose file ({len(services)} services); {NGINX_CONF} proxies to {', '.join(sorted(hosts))}"
        )
