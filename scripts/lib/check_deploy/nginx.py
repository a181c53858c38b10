"""deploy/nginx/nginx.conf, the Compose stack's load balancer, parsed with
crossplane: no unknown directive, WebSocket upgrades passed through with a read
timeout long enough for quiet sockets, upstreams that are Compose services."""

from __future__ import annotations

import re
from collections.abc import Iterable

import crossplane
import crossplane.analyzer

from .common import COMPOSE_FILE, NGINX_CONF, ROOT, problem

DATA_BLOCKS = {"map", "types", "geo", "split_clients", "match"}


def nginx_directives(block: list[dict], parents: tuple[str, ...] = ()) -> Iterable[tuple[dict, tuple[str, ...]]]:
    for d in block:
        yield d, parents
        if "block" in d and d["directive"] not in DATA_BLOCKS:
            yield from nginx_directives(d["block"], parents + (d["directive"],))


def check_nginx(compose: dict) -> set[str]:
    """Checks nginx.conf; returns the upstream host names it proxies to."""
    path = ROOT / NGINX_CONF
    parsed = crossplane.parse(str(path), single=True, comments=False, check_ctx=True, check_args=True)
    for e in parsed["errors"]:
        problem(NGINX_CONF, f"line {e.get('line')}: {e.get('error')}")
    if parsed["errors"]:
        return set()
    tree = parsed["config"][0]["parsed"]
    hosts: set[str] = set()
    upstreams: set[str] = set()
    locations: list[tuple[str, list[dict]]] = []
    has_upgrade_map = False
    for d, parents in nginx_directives(tree):
        name, args = d["directive"], d["args"]
        if name not in crossplane.analyzer.DIRECTIVES:
            problem(NGINX_CONF, f"line {d['line']}: unknown directive {name!r}")
        if name == "map" and args[:2] == ["$http_upgrade", "$connection_upgrade"]:
            has_upgrade_map = True
        if name == "upstream":
            upstreams.add(args[0])
        if name == "server" and parents and parents[-1] == "upstream":
            hosts.add(args[0].split(":")[0])
        if name == "location" and any(x["directive"] == "proxy_pass" for x in d.get("block", [])):
            locations.append((" ".join(args), d["block"]))
    if not has_upgrade_map:
        problem(NGINX_CONF, "no `map $http_upgrade $connection_upgrade`: WebSocket upgrades would not pass")
    for loc, block in locations:
        settings = {x["directive"]: x["args"] for x in block}
        headers = {
            x["args"][0].lower(): x["args"][1]
            for x in block
            if x["directive"] == "proxy_set_header" and len(x["args"]) == 2
        }
        target = re.sub(r"^https?://", "", settings["proxy_pass"][0]).split("/")[0]
        if target not in upstreams:
            problem(NGINX_CONF, f"location {loc}: proxy_pass to {target!r}, which is not an upstream")
        if headers.get("upgrade") != "$http_upgrade" or headers.get("connection") != "$connection_upgrade":
            problem(NGINX_CONF, f"location {loc}: must set Upgrade $http_upgrade and Connection $connection_upgrade")
        if settings.get("proxy_http_version") != ["1.1"]:
            problem(NGINX_CONF, f"location {loc}: proxy_http_version 1.1 is needed for WebSockets")
        timeout = (settings.get("proxy_read_timeout") or ["60s"])[0]
        seconds = int(timeout.rstrip("s")) if re.fullmatch(r"\d+s?", timeout) else 0
        if seconds < 300:
            problem(NGINX_CONF, f"location {loc}: proxy_read_timeout {timeout} cuts quiet WebSockets; use 300s or more")
    services = set(compose.get("services") or {})
    for h in sorted(hosts):
        if h not in services:
            problem(NGINX_CONF, f"upstream server {h!r} is not a service of {COMPOSE_FILE}")
    return hosts
