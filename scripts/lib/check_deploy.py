#!/usr/bin/env python3
"""Offline checks of the deployment files (k8s/, docker-compose.yml, deploy/).

Run by scripts/check-deploy inside its tool venv, which provides kubectl (for
`kubectl kustomize`), hadolint, kubernetes-validate, jsonschema, PyYAML and
crossplane. Needs no network. Prints one line per problem and exits 1 if there
is any; prints one `ok` line per checked thing otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import crossplane
import crossplane.analyzer
import importlib_resources
import jsonschema
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]

# Kubernetes versions every rendered object must be valid for: the oldest we
# support and the newest kubernetes-validate knows.
K8S_VERSIONS = ("1.31", "1.37")

# Files under k8s/ that no kustomization includes on purpose, validated alone.
STANDALONE = {"k8s/base/secret.example.yaml"}
# The Secret created by hand in a real cluster (its template is above).
EXTERNAL_SECRET = "oee-secrets"
SECRET_TEMPLATE = "k8s/base/secret.example.yaml"

KEDA_SCHEMAS = {
    "ScaledObject": "deploy/schemas/keda/scaledobject-keda.sh-v1alpha1.json",
    "TriggerAuthentication": "deploy/schemas/keda/triggerauthentication-keda.sh-v1alpha1.json",
}
COMPOSE_SCHEMA = "deploy/schemas/compose-spec.json"
DASHBOARD = "deploy/grafana/oee.json"
NGINX_CONF = "deploy/nginx/nginx.conf"
COMPOSE_FILE = "docker-compose.yml"
DOCKERFILE = "deploy/Dockerfile"

# The metrics oee-api and oee-worker export (names fixed by the metrics work);
# the dashboard may use these and nothing else. Histograms also have
# _bucket, _sum and _count series.
COUNTERS_AND_GAUGES = {
    # oee-api
    "oee_orders_accepted_total",
    "oee_orders_rejected_total",
    "oee_http_requests_total",
    "oee_ws_sockets_open",
    "oee_ws_events_sent_total",
    "oee_ws_slow_closes_total",
    "oee_store_unavailable_total",
    # oee-worker
    "oee_orders_finished_total",
    "oee_retries_total",
    "oee_reclaims_total",
    "oee_dead_letters_total",
    "oee_requeued_total",
    "oee_jobs_in_flight",
    "oee_stream_length",
    "oee_stream_pending",
    "oee_stream_lag",
    "oee_dead_letter_length",
}
HISTOGRAMS = {
    "oee_accept_duration_seconds",
    "oee_pubsub_delay_seconds",
    "oee_queue_wait_seconds",
    "oee_routing_duration_seconds",
    "oee_execution_duration_seconds",
    "oee_order_duration_seconds",
}
KNOWN_METRICS = COUNTERS_AND_GAUGES | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}

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


# --------------------------------------------------------------------------- k8s schemas


class K8sSchemas:
    """Strict schemas of one Kubernetes version (from kubernetes-validate), plus KEDA's."""

    def __init__(self, version: str) -> None:
        self.version = version
        base = importlib_resources.files("kubernetes_validate") / "kubernetes-json-schema"
        dirs = [d for d in base.iterdir() if d.name == f"v{version}.0-local-strict"]
        if not dirs:
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
        self.dir = dirs[0]
        definitions = json.loads((self.dir / "_definitions.json").read_text())
        registry = Resource.from_contents(definitions) @ Registry()
        self.keda = {}
        for kind, path in KEDA_SCHEMAS.items():
            schema = json.loads((ROOT / path).read_text())
            registry = Resource.from_contents(schema) @ registry
            self.keda[kind] = schema
        self.registry = registry
        self.cache: dict[tuple[str, str], Any] = {}

    def validator(self, doc: dict):
        kind, api_version = doc.get("kind", ""), doc.get("apiVersion", "")
        key = (kind, api_version)
        if key not in self.cache:
            schema = None
            if api_version == "keda.sh/v1alpha1" and kind in self.keda:
                schema = self.keda[kind]
            elif kind and api_version:
                group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 → apps-v1
                file = self.dir / f"{kind.lower()}-{group}.json"
                if file.is_file():
                    schema = json.loads(file.read_text())
            self.cache[key] = (
                None if schema is None else jsonschema.Draft202012Validator(schema, registry=self.registry)
            )
        return self.cache[key]


def validate_objects(where: str, docs: list[dict], schemas: list[K8sSchemas]) -> None:
    for doc in docs:
        name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        for s in schemas:
            validator = s.validator(doc)
            if validator is None:
                problem(
                    where,
                    f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} "
                    f"in Kubernetes {s.version} (nor a vendored CRD schema)",
                )
                break
            errors = list(schema_errors(validator, doc))
            for e in errors:
                problem(where, f"{name}: {e} (Kubernetes {s.version})")
            if errors:
                break  # the same mistake would repeat for the next version


# --------------------------------------------------------------------------- kustomize


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "k8s").rglob("kustomization.yaml"))


def is_component(d: Path) -> bool:
    doc = yaml.safe_load((d / "kustomization.yaml").read_text()) or {}
    return doc.get("kind") == "Component"


def referenced_files(d: Path) -> set[Path]:
    """Files one kustomization (or component) reads, other than kustomization.yaml."""
    doc = yaml.safe_load((d / "kustomization.yaml").read_text()) or {}
    out: set[Path] = set()
    for entry in (doc.get("resources") or []) + (doc.get("components") or []):
        p = (d / entry).resolve()
        if p.is_file():
            out.add(p)
    for patch in doc.get("patches") or []:
        if isinstance(patch, dict) and patch.get("path"):
            out.add((d / patch["path"]).resolve())
    for gen in (doc.get("configMapGenerator") or []) + (doc.get("secretGenerator") or []):
        for f in (gen.get("envs") or []) + (gen.get("files") or []):
            out.add((d / f.split("=", 1)[-1]).resolve())
    return out


def check_coverage() -> None:
    referenced: set[Path] = set()
    for d in kustomization_dirs():
        referenced |= referenced_files(d)
    for f in sorted((ROOT / "k8s").rglob("*")):
        if not f.is_file() or f.name == "kustomization.yaml":
            continue
        if rel(f) in STANDALONE:
            continue
        if f.resolve() not in referenced:
            problem(rel(f), "no kustomization includes this file, so it is neither deployed nor validated")
    ok("every file under k8s/ is part of a kustomization or validated on its own")


def render(kubectl: str, d: Path) -> list[dict] | None:
    result = subprocess.run([kubectl, "kustomize", str(d)], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        problem(rel(d), "kustomize: " + short(result.stderr.strip() or "failed"))
        return None
    return load_yaml_docs(result.stdout)


# --------------------------------------------------------------------------- cross-checks

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def secret_template_keys() -> set[str]:
    docs = load_yaml_docs((ROOT / SECRET_TEMPLATE).read_text())
    return {k for d in docs for k in (d.get("stringData") or {}) | (d.get("data") or {})}


def duration_ms(value: str) -> int:
    return int(value) if str(value).isdigit() else 0


def pod_spec(obj: dict) -> dict:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def pod_labels(obj: dict) -> dict:
    return (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def image_ref(image: str) -> tuple[str, str]:
    """(name, tag or digest) of an image reference."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
        return name, tag
    return image, ""


def check_render(where: str, docs: list[dict], deployable: bool, prod: bool) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d.get("kind", ""), {})[(d.get("metadata") or {}).get("name", "")] = d
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    template_keys = secret_template_keys()
    config = next((cm.get("data") or {} for name, cm in configmaps.items() if name.startswith("oee-config")), {})

    def name_of(d: dict) -> str:
        return f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}"

    def secret_has(name: str, key: str | None) -> bool:
        if name in secrets:
            s = secrets[name]
            return key is None or key in ((s.get("stringData") or {}) | (s.get("data") or {}))
        return name == EXTERNAL_SECRET and (key is None or key in template_keys)

    for d in docs:
        if d.get("kind") not in CLUSTER_SCOPED and (d.get("metadata") or {}).get("namespace") != "oee":
            problem(
                where,
                f"{name_of(d)}: not in namespace oee (metadata.namespace is "
                f"{(d.get('metadata') or {}).get('namespace')!r})",
            )

    workloads = [d for k in WORKLOADS for d in by_kind.get(k, {}).values()]
    for w in workloads:
        name = name_of(w)
        spec = pod_spec(w)
        labels = pod_labels(w)
        if w["kind"] != "Job":
            selector = ((w.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not selects(selector, labels):
                problem(where, f"{name}: spec.selector.matchLabels {selector} does not match the pod labels")
        pod_sc = spec.get("securityContext") or {}
        containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
        for c in containers:
            cname = f"{name} container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
                problem(where, f"{cname}: runAsNonRoot is not set")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                problem(where, f"{cname}: seccompProfile is not RuntimeDefault")
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(where, f"{cname}: allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(where, f"{cname}: readOnlyRootFilesystem must be true")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problem(where, f"{cname}: capabilities.drop must include ALL")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        problem(where, f"{cname}: resources.{part}.{r} is missing")
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
                if port is not None and port not in ports and port not in ports.values():
                    problem(where, f"{cname}: {probe} uses port {port!r}, which the container does not expose")
            for src in c.get("envFrom") or []:
                if "configMapRef" in src and src["configMapRef"].get("name") not in configmaps:
                    problem(where, f"{cname}: envFrom ConfigMap {src['configMapRef'].get('name')!r} does not exist")
                if "secretRef" in src and not secret_has(src["secretRef"].get("name"), None):
                    problem(where, f"{cname}: envFrom Secret {src['secretRef'].get('name')!r} does not exist")
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not secret_has(ref.get("name"), ref.get("key")):
                    problem(
                        where,
                        f"{cname}: env {env.get('name')} reads Secret "
                        f"{ref.get('name')!r} key {ref.get('key')!r}, which does not exist",
                    )
            image = c.get("image", "")
            img_name, tag = image_ref(image)
            if prod and img_name.rsplit("/", 1)[-1].startswith("oee-"):
                if not (tag.startswith("sha256:") or re.fullmatch(r"v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?", tag)):
                    problem(where, f"{cname}: prod image {image!r} must be pinned to a release version or digest")
            elif deployable and (not tag or tag == "latest"):
                problem(where, f"{cname}: image {image!r} has no pinned tag")
            # Grace periods against the settings the process reads.
            grace_s = int(spec.get("terminationGracePeriodSeconds", 30))
            base = img_name.rsplit("/", 1)[-1]
            if base == "oee-worker" and config:
                need = duration_ms(config.get("OEE_SHUTDOWN_GRACE_MS", "10000")) + 10_000
                if grace_s * 1000 < need:
                    problem(
                        where,
                        f"{name}: terminationGracePeriodSeconds {grace_s} leaves less than 10 s "
                        f"after OEE_SHUTDOWN_GRACE_MS={config.get('OEE_SHUTDOWN_GRACE_MS')}",
                    )
            if base == "oee-api" and config and w["kind"] == "Deployment":
                # preStop sleep, shutdown delay, then up to 5 s of draining, then 5 s of slack
                pre_stop = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}
                pre_stop_s = int(pre_stop.get("seconds", 0))
                need = pre_stop_s * 1000 + duration_ms(config.get("OEE_SHUTDOWN_DELAY_MS", "0")) + 10_000
                if grace_s * 1000 < need:
                    problem(
                        where,
                        f"{name}: terminationGracePeriodSeconds {grace_s} is shorter than preStop sleep {pre_stop_s} s "
                        f"+ OEE_SHUTDOWN_DELAY_MS={config.get('OEE_SHUTDOWN_DELAY_MS')} + 5 s of draining + 5 s of slack",
                    )

    def workload_ports(selector: dict) -> list[dict]:
        return [
            p
            for w in workloads
            if selects(selector, pod_labels(w))
            for c in pod_spec(w).get("containers") or []
            for p in c.get("ports") or []
        ]

    for svc in by_kind.get("Service", {}).values():
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not any(selects(selector, pod_labels(w)) for w in workloads):
            problem(where, f"{name_of(svc)}: selector {selector} matches no pods")
            continue
        names = {p.get("name") for p in workload_ports(selector)}
        numbers = {p.get("containerPort") for p in workload_ports(selector)}
        for p in (svc.get("spec") or {}).get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            if target not in names and target not in numbers:
                problem(where, f"{name_of(svc)}: targetPort {target!r} is not a port of the selected pods")

    services = by_kind.get("Service", {})
    for ing in by_kind.get("Ingress", {}).values():
        for rule in (ing.get("spec") or {}).get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths")) or []:
                backend = (path.get("backend") or {}).get("service") or {}
                svc = services.get(backend.get("name"))
                if svc is None:
                    problem(where, f"{name_of(ing)}: backend Service {backend.get('name')!r} does not exist")
                    continue
                port = backend.get("port") or {}
                svc_ports = (svc.get("spec") or {}).get("ports") or []
                if "name" in port and port["name"] not in {p.get("name") for p in svc_ports}:
                    problem(where, f"{name_of(ing)}: Service {backend.get('name')} has no port named {port['name']!r}")
                if "number" in port and port["number"] not in {p.get("port") for p in svc_ports}:
                    problem(where, f"{name_of(ing)}: Service {backend.get('name')} has no port {port['number']}")

    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        selector = (((pdb.get("spec") or {}).get("selector")) or {}).get("matchLabels") or {}
        if not any(selects(selector, pod_labels(w)) for w in workloads):
            problem(where, f"{name_of(pdb)}: selector {selector} matches no pods")

    scaled: dict[str, str] = {}
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        target = by_kind.get(ref.get("kind", ""), {}).get(ref.get("name", ""))
        if target is None:
            problem(where, f"{name_of(hpa)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} does not exist")
        scaled.setdefault(ref.get("name", ""), name_of(hpa))
    auths = by_kind.get("TriggerAuthentication", {})
    for so in by_kind.get("ScaledObject", {}).values():
        spec = so.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        kind = ref.get("kind", "Deployment")
        if ref.get("name") not in by_kind.get(kind, {}):
            problem(where, f"{name_of(so)}: scaleTargetRef {kind}/{ref.get('name')} does not exist")
        if ref.get("name") in scaled:
            problem(
                where,
                f"{name_of(so)} and {scaled[ref.get('name')]} both scale {ref.get('name')}: "
                "apply one autoscaler per Deployment",
            )
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
            problem(where, f"{name_of(so)}: minReplicaCount is above maxReplicaCount")
        ns = config.get("OEE_NAMESPACE", "oee")
        for t in spec.get("triggers") or []:
            meta = t.get("metadata") or {}
            auth = auths.get((t.get("authenticationRef") or {}).get("name", "")) if t.get("authenticationRef") else None
            if t.get("authenticationRef") and auth is None:
                problem(
                    where, f"{name_of(so)}: authenticationRef {t['authenticationRef'].get('name')!r} does not exist"
                )
            if t.get("type") != "redis-streams":
                continue
            for key, want in (("stream", f"{ns}:orders"), ("consumerGroup", f"{ns}:workers")):
                if meta.get(key) != want:
                    problem(
                        where,
                        f"{name_of(so)}: trigger {key} is {meta.get(key)!r}, but workers use "
                        f"{want!r} (OEE_NAMESPACE={ns})",
                    )
            auth_params = {r.get("parameter") for r in ((auth or {}).get("spec") or {}).get("secretTargetRef") or []}
            if not ({"address", "addressFromEnv", "host", "hostFromEnv"} & set(meta)) and not (
                {"address", "host"} & auth_params
            ):
                problem(
                    where,
                    f"{name_of(so)}: the redis-streams trigger has no Redis address "
                    "(metadata address/host or a TriggerAuthentication parameter)",
                )
    for ta in auths.values():
        for r in ((ta.get("spec") or {}).get("secretTargetRef")) or []:
            if not secret_has(r.get("name"), r.get("key")):
                problem(
                    where,
                    f"{name_of(ta)}: Secret {r.get('name')!r} key {r.get('key')!r} does not exist "
                    f"(nor in {SECRET_TEMPLATE})",
                )


def images_of(docs: list[dict]) -> dict[str, str]:
    out = {}
    for d in docs:
        for c in pod_spec(d).get("containers") or []:
            name, _ = image_ref(c.get("image", ""))
            out[name.rsplit("/", 1)[-1]] = c.get("image", "")
    return out


def check_k8s(kubectl: str) -> None:
    schemas = [K8sSchemas(v) for v in K8S_VERSIONS]
    check_coverage()
    rendered: dict[Path, list[dict]] = {}
    for d in kustomization_dirs():
        if is_component(d):
            continue  # rendered as part of the overlays that use it
        docs = render(kubectl, d)
        if docs is None:
            continue
        where = rel(d)
        before = len(problems)
        validate_objects(where, docs, schemas)
        if len(problems) > before:
            continue  # the cross-checks below assume well-formed objects
        deployable = "overlays" in d.relative_to(ROOT).parts
        check_render(where, docs, deployable, prod="prod" in d.relative_to(ROOT).parts)
        rendered[d] = docs
        if len(problems) == before:
            count = f"{len(docs)} object" + ("s" if len(docs) != 1 else "")
            ok(f"{where}: {count} valid for Kubernetes {' and '.join(K8S_VERSIONS)}")
    # An overlay's migrate/ must run the image the overlay deploys.
    for d, docs in rendered.items():
        if (d / "migrate") in rendered:
            mine, theirs = images_of(docs), images_of(rendered[d / "migrate"])
            for name, image in theirs.items():
                if name in mine and mine[name] != image:
                    problem(rel(d / "migrate"), f"runs {image}, but {rel(d)} deploys {mine[name]}")
    for f in sorted(STANDALONE):
        docs = load_yaml_docs((ROOT / f).read_text())
        before = len(problems)
        validate_objects(f, docs, schemas)
        for d in docs:
            for key, value in ((d.get("stringData") or {}) | (d.get("data") or {})).items():
                if "CHANGE-ME" not in str(value):
                    problem(f, f"{key}: a template holds placeholders only (CHANGE-ME…), never real values")
        if len(problems) == before:
            ok(f"{f}: valid template")


# --------------------------------------------------------------------------- compose + nginx

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


def compose_duration_s(value: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value)):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


def dockerfile_stages() -> set[str]:
    text = (ROOT / DOCKERFILE).read_text()
    return {m.lower() for m in re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", text)}


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


# --------------------------------------------------------------------------- Dockerfile


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


# --------------------------------------------------------------------------- Grafana


def promql_problems(expr: str) -> list[str]:
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
        if not word.startswith("oee_"):
            out.append(f"metric {word!r} does not start with oee_")
        elif word not in KNOWN_METRICS:
            out.append(f"metric {word!r} is not one oee exports")
    if expr.count("(") != expr.count(")"):
        out.append("unbalanced parentheses")
    return out


def check_dashboard() -> None:
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
            for msg in promql_problems(t.get("expr", "")):
                problem(DASHBOARD, f"panel {title!r} query {t.get('refId')}: {msg}")
    if len(problems) == before:
        ok(f"{DASHBOARD}: {len(ids)} panels, {exprs} queries, every metric one of oee's")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--hadolint", required=True)
    args = parser.parse_args()
    checks = [
        ("k8s/", lambda: check_k8s(args.kubectl)),
        (COMPOSE_FILE, check_compose),
        (DOCKERFILE, lambda: check_dockerfile(args.hadolint)),
        (DASHBOARD, check_dashboard),
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
