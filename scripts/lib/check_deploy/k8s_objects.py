"""Cross-checks of one rendered kustomization: what schemas cannot see. Every
object in namespace oee; selectors that match pods; the restricted security
context, resources, probe ports and referenced ConfigMaps and Secrets of every
container; pinned images (release versions or digests in prod); grace periods
against the shutdown settings; Service, Ingress and PodDisruptionBudget targets;
one autoscaler per Deployment, and KEDA's streams and group against what
`oee-worker streams` prints for OEE_NAMESPACE and OEE_JOB_PARTITIONS (every
partition watched, nothing else)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .common import ROOT, load_yaml_docs, problem

# The job stream's partition keys for (OEE_NAMESPACE, OEE_JOB_PARTITIONS), as
# `oee-worker streams` prints them, or None if it could not tell (reported).
Streams = Callable[[str, str], "list[str] | None"]

# The Secret created by hand in a real cluster, and its template.
EXTERNAL_SECRET = "oee-secrets"
SECRET_TEMPLATE = "k8s/base/secret.example.yaml"

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


def name_of(d: dict) -> str:
    return f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}"


class Rendered:
    """The objects of one rendered kustomization, by kind and name."""

    def __init__(self, where: str, docs: list[dict], deployable: bool, prod: bool, streams: Streams) -> None:
        self.where, self.docs, self.deployable, self.prod = where, docs, deployable, prod
        self.streams = streams
        self.by_kind: dict[str, dict[str, dict]] = {}
        for d in docs:
            self.by_kind.setdefault(d.get("kind", ""), {})[(d.get("metadata") or {}).get("name", "")] = d
        self.configmaps = self.kind("ConfigMap")
        self.secrets = self.kind("Secret")
        self.template_keys = secret_template_keys()
        # The settings the processes read (k8s/base/oee.env, as patched).
        self.config = next(
            (cm.get("data") or {} for name, cm in self.configmaps.items() if name.startswith("oee-config")), {}
        )
        self.workloads = [d for k in WORKLOADS for d in self.kind(k).values()]

    def kind(self, kind: str) -> dict[str, dict]:
        return self.by_kind.get(kind, {})

    def problem(self, message: str) -> None:
        problem(self.where, message)

    def secret_has(self, name: str, key: str | None) -> bool:
        """Whether Secret `name` (with `key`) exists here, or is the hand-made one and its template has it."""
        if name in self.secrets:
            s = self.secrets[name]
            return key is None or key in ((s.get("stringData") or {}) | (s.get("data") or {}))
        return name == EXTERNAL_SECRET and (key is None or key in self.template_keys)

    def selects_pods(self, selector: dict) -> bool:
        return any(selects(selector, pod_labels(w)) for w in self.workloads)

    def workload_ports(self, selector: dict) -> list[dict]:
        return [
            p
            for w in self.workloads
            if selects(selector, pod_labels(w))
            for c in pod_spec(w).get("containers") or []
            for p in c.get("ports") or []
        ]


def check_rendered(where: str, docs: list[dict], deployable: bool, prod: bool, streams: Streams) -> None:
    """All cross-checks of one kustomization's objects; `deployable` for overlays, `prod` for the prod one."""
    r = Rendered(where, docs, deployable, prod, streams)
    check_namespaces(r)
    for w in r.workloads:
        check_workload(r, w)
    check_services(r)
    check_ingresses(r)
    check_disruption_budgets(r)
    check_autoscalers(r)
    check_authentication(r)


def check_authentication(r: Rendered) -> None:
    """Production never runs without API keys: OEE_AUTH=off is for local experiments."""
    auth = r.config.get("OEE_AUTH", "required")
    if r.prod and auth != "required":
        r.problem(f"OEE_AUTH={auth!r} in production: every /api route must need an API key")
    for w in r.workloads:
        for c in pod_spec(w).get("containers") or []:
            for env in c.get("env") or []:
                if r.prod and env.get("name") == "OEE_AUTH" and env.get("value") != "required":
                    r.problem(f"{name_of(w)} container {c.get('name')}: OEE_AUTH={env.get('value')!r} in production")


def check_namespaces(r: Rendered) -> None:
    for d in r.docs:
        if d.get("kind") not in CLUSTER_SCOPED and (d.get("metadata") or {}).get("namespace") != "oee":
            r.problem(
                f"{name_of(d)}: not in namespace oee (metadata.namespace is "
                f"{(d.get('metadata') or {}).get('namespace')!r})"
            )


def check_workload(r: Rendered, w: dict) -> None:
    name = name_of(w)
    spec = pod_spec(w)
    labels = pod_labels(w)
    if w["kind"] != "Job":
        selector = ((w.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not selects(selector, labels):
            r.problem(f"{name}: spec.selector.matchLabels {selector} does not match the pod labels")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        check_container(r, w, c)


def check_container(r: Rendered, w: dict, c: dict) -> None:
    name = name_of(w)
    spec = pod_spec(w)
    pod_sc = spec.get("securityContext") or {}
    cname = f"{name} container {c.get('name')}"
    sc = c.get("securityContext") or {}
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        r.problem(f"{cname}: runAsNonRoot is not set")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        r.problem(f"{cname}: seccompProfile is not RuntimeDefault")
    if sc.get("allowPrivilegeEscalation") is not False:
        r.problem(f"{cname}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        r.problem(f"{cname}: readOnlyRootFilesystem must be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        r.problem(f"{cname}: capabilities.drop must include ALL")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (res.get(part) or {}):
                r.problem(f"{cname}: resources.{part}.{resource} is missing")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
        if port is not None and port not in ports and port not in ports.values():
            r.problem(f"{cname}: {probe} uses port {port!r}, which the container does not expose")
    for src in c.get("envFrom") or []:
        if "configMapRef" in src and src["configMapRef"].get("name") not in r.configmaps:
            r.problem(f"{cname}: envFrom ConfigMap {src['configMapRef'].get('name')!r} does not exist")
        if "secretRef" in src and not r.secret_has(src["secretRef"].get("name"), None):
            r.problem(f"{cname}: envFrom Secret {src['secretRef'].get('name')!r} does not exist")
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref and not r.secret_has(ref.get("name"), ref.get("key")):
            r.problem(
                f"{cname}: env {env.get('name')} reads Secret "
                f"{ref.get('name')!r} key {ref.get('key')!r}, which does not exist"
            )
    image = c.get("image", "")
    img_name, tag = image_ref(image)
    if r.prod and img_name.rsplit("/", 1)[-1].startswith("oee-"):
        if not (tag.startswith("sha256:") or re.fullmatch(r"v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?", tag)):
            r.problem(f"{cname}: prod image {image!r} must be pinned to a release version or digest")
    elif r.deployable and (not tag or tag == "latest"):
        r.problem(f"{cname}: image {image!r} has no pinned tag")
    check_grace_period(r, w, c, img_name.rsplit("/", 1)[-1])


def check_grace_period(r: Rendered, w: dict, c: dict, image: str) -> None:
    """The pod's grace period against the shutdown settings the process reads."""
    name = name_of(w)
    config = r.config
    grace_s = int(pod_spec(w).get("terminationGracePeriodSeconds", 30))
    if image == "oee-worker" and config:
        need = duration_ms(config.get("OEE_SHUTDOWN_GRACE_MS", "10000")) + 10_000
        if grace_s * 1000 < need:
            r.problem(
                f"{name}: terminationGracePeriodSeconds {grace_s} leaves less than 10 s "
                f"after OEE_SHUTDOWN_GRACE_MS={config.get('OEE_SHUTDOWN_GRACE_MS')}"
            )
    if image == "oee-api" and config and w["kind"] == "Deployment":
        # preStop sleep, shutdown delay, then up to 5 s of draining, then 5 s of slack
        pre_stop = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}
        pre_stop_s = int(pre_stop.get("seconds", 0))
        need = pre_stop_s * 1000 + duration_ms(config.get("OEE_SHUTDOWN_DELAY_MS", "0")) + 10_000
        if grace_s * 1000 < need:
            r.problem(
                f"{name}: terminationGracePeriodSeconds {grace_s} is shorter than preStop sleep {pre_stop_s} s "
                f"+ OEE_SHUTDOWN_DELAY_MS={config.get('OEE_SHUTDOWN_DELAY_MS')} + 5 s of draining + 5 s of slack"
            )


def check_services(r: Rendered) -> None:
    for svc in r.kind("Service").values():
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not r.selects_pods(selector):
            r.problem(f"{name_of(svc)}: selector {selector} matches no pods")
            continue
        names = {p.get("name") for p in r.workload_ports(selector)}
        numbers = {p.get("containerPort") for p in r.workload_ports(selector)}
        for p in (svc.get("spec") or {}).get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            if target not in names and target not in numbers:
                r.problem(f"{name_of(svc)}: targetPort {target!r} is not a port of the selected pods")


def check_ingresses(r: Rendered) -> None:
    services = r.kind("Service")
    for ing in r.kind("Ingress").values():
        for rule in (ing.get("spec") or {}).get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths")) or []:
                backend = (path.get("backend") or {}).get("service") or {}
                svc = services.get(backend.get("name"))
                if svc is None:
                    r.problem(f"{name_of(ing)}: backend Service {backend.get('name')!r} does not exist")
                    continue
                port = backend.get("port") or {}
                svc_ports = (svc.get("spec") or {}).get("ports") or []
                if "name" in port and port["name"] not in {p.get("name") for p in svc_ports}:
                    r.problem(f"{name_of(ing)}: Service {backend.get('name')} has no port named {port['name']!r}")
                if "number" in port and port["number"] not in {p.get("port") for p in svc_ports}:
                    r.problem(f"{name_of(ing)}: Service {backend.get('name')} has no port {port['number']}")


def check_disruption_budgets(r: Rendered) -> None:
    for pdb in r.kind("PodDisruptionBudget").values():
        selector = (((pdb.get("spec") or {}).get("selector")) or {}).get("matchLabels") or {}
        if not r.selects_pods(selector):
            r.problem(f"{name_of(pdb)}: selector {selector} matches no pods")


# KEDA's Redis stream triggers, and what each must be given, in its metadata or
# as a TriggerAuthentication parameter: (what, metadata keys, parameters).
REDIS_STREAM_TRIGGERS = {
    "redis-streams": [
        ("a Redis address", {"address", "addressFromEnv", "host", "hostFromEnv"}, {"address", "host"}),
    ],
    "redis-sentinel-streams": [
        (
            "the sentinels' addresses",
            {"addresses", "addressesFromEnv", "hosts", "hostsFromEnv"},
            {"addresses", "hosts"},
        ),
        ("the primary's Sentinel name", {"sentinelMaster", "sentinelMasterFromEnv"}, {"sentinelMaster"}),
    ],
    "redis-cluster-streams": [
        (
            "the cluster nodes' addresses",
            {"addresses", "addressesFromEnv", "hosts", "hostsFromEnv"},
            {"addresses", "hosts"},
        ),
    ],
}


def check_autoscalers(r: Rendered) -> None:
    """HPAs and KEDA ScaledObjects: targets exist, one per Deployment; KEDA's
    redis-streams, redis-sentinel-streams or redis-cluster-streams triggers
    read the workers' group on the job stream's partitions, one trigger each,
    and know where Redis is (and, through Sentinel, the primary's name), and
    their TriggerAuthentications' Secrets exist."""
    scaled: dict[str, str] = {}
    for hpa in r.kind("HorizontalPodAutoscaler").values():
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        target = r.kind(ref.get("kind", "")).get(ref.get("name", ""))
        if target is None:
            r.problem(f"{name_of(hpa)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} does not exist")
        scaled.setdefault(ref.get("name", ""), name_of(hpa))
    auths = r.kind("TriggerAuthentication")
    for so in r.kind("ScaledObject").values():
        spec = so.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        kind = ref.get("kind", "Deployment")
        if ref.get("name") not in r.kind(kind):
            r.problem(f"{name_of(so)}: scaleTargetRef {kind}/{ref.get('name')} does not exist")
        if ref.get("name") in scaled:
            r.problem(
                f"{name_of(so)} and {scaled[ref.get('name')]} both scale {ref.get('name')}: "
                "apply one autoscaler per Deployment"
            )
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
            r.problem(f"{name_of(so)}: minReplicaCount is above maxReplicaCount")
        ns = r.config.get("OEE_NAMESPACE", "oee")
        partitions = r.config.get("OEE_JOB_PARTITIONS", "1")
        settings = f"OEE_NAMESPACE={ns}, OEE_JOB_PARTITIONS={partitions}"
        streams = r.streams(ns, partitions)
        watched: list[str] = []
        for t in spec.get("triggers") or []:
            meta = t.get("metadata") or {}
            auth = auths.get((t.get("authenticationRef") or {}).get("name", "")) if t.get("authenticationRef") else None
            if t.get("authenticationRef") and auth is None:
                r.problem(f"{name_of(so)}: authenticationRef {t['authenticationRef'].get('name')!r} does not exist")
            needs = REDIS_STREAM_TRIGGERS.get(t.get("type", ""))
            if needs is None:
                continue
            stream = meta.get("stream")
            if streams is not None and stream not in streams:
                r.problem(
                    f"{name_of(so)}: trigger stream {stream!r} is not a partition of the job stream: "
                    f"workers read {', '.join(streams)} (`oee-worker streams` with {settings})"
                )
            elif stream in watched:
                r.problem(f"{name_of(so)}: two triggers watch {stream!r}")
            watched.append(stream)
            if meta.get("consumerGroup") != f"{ns}:workers":
                r.problem(
                    f"{name_of(so)}: trigger consumerGroup is {meta.get('consumerGroup')!r}, but workers use "
                    f"{ns + ':workers'!r} (OEE_NAMESPACE={ns})"
                )
            auth_params = {p.get("parameter") for p in ((auth or {}).get("spec") or {}).get("secretTargetRef") or []}
            for what, keys, params in needs:
                if not (keys & set(meta)) and not (params & auth_params):
                    r.problem(
                        f"{name_of(so)}: the {t['type']} trigger is not given {what} (metadata "
                        f"{'/'.join(sorted(keys))} or a TriggerAuthentication parameter {'/'.join(sorted(params))})"
                    )
        missing = [s for s in streams or [] if s not in watched]
        if watched and missing:
            r.problem(
                f"{name_of(so)}: no trigger watches {', '.join(missing)}, so KEDA never sees their "
                f"lag: one trigger per line of `oee-worker streams` ({settings})"
            )
    for ta in auths.values():
        for ref in ((ta.get("spec") or {}).get("secretTargetRef")) or []:
            if not r.secret_has(ref.get("name"), ref.get("key")):
                r.problem(
                    f"{name_of(ta)}: Secret {ref.get('name')!r} key {ref.get('key')!r} does not exist "
                    f"(nor in {SECRET_TEMPLATE})"
                )
