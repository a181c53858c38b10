"""k8s/: renders every kustomization with `kubectl kustomize`, validates each
object (k8s_schemas) and cross-checks it (k8s_objects, which asks `oee-worker
streams` for the job stream's partitions KEDA must watch); fails on files no
kustomization includes; checks the Secret template holds placeholders only and
that each overlay's migrate/ runs the image the overlay deploys."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import yaml

from .common import ROOT, load_yaml_docs, ok, problem, problems, rel, short
from .k8s_objects import SECRET_TEMPLATE, check_rendered, image_ref, pod_spec
from .k8s_schemas import K8S_VERSIONS, K8sSchemas, validate_objects

# Files under k8s/ that no kustomization includes on purpose, validated alone.
STANDALONE = {SECRET_TEMPLATE}


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


def stream_lister(bin_dir: Path):
    """What `oee-worker streams` prints for a namespace and partition count: the
    keys of the job stream's partitions, with the hash tags the code derives
    (so no copy of that rule lives here). Asked once per pair of settings; a
    failure is one problem, and None."""

    @functools.cache
    def streams(namespace: str, partitions: str) -> list[str] | None:
        worker = bin_dir / "oee-worker"
        where = f"{worker} streams"
        # Only these settings (and none of the caller's OEE_ variables, which the
        # worker would validate); the others keep their defaults.
        env = {"PATH": os.environ.get("PATH", ""), "OEE_NAMESPACE": namespace, "OEE_JOB_PARTITIONS": partitions}
        try:
            result = subprocess.run(
                [str(worker), "streams"], check=False, capture_output=True, text=True, timeout=60, env=env, cwd="/"
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            problem(where, f"could not run: {short(str(e))} (scripts/check-deploy builds it unless OEE_BIN_DIR is set)")
            return None
        listed = result.stdout.split()
        if result.returncode != 0 or not listed:
            why = f"exit status {result.returncode}" if result.returncode != 0 else "printed no stream"
            problem(
                where,
                f"{why} with OEE_NAMESPACE={namespace} OEE_JOB_PARTITIONS={partitions}: "
                + short(result.stderr.strip() or result.stdout.strip() or "no output"),
            )
            return None
        return listed

    return streams


def images_of(docs: list[dict]) -> dict[str, str]:
    out = {}
    for d in docs:
        for c in pod_spec(d).get("containers") or []:
            name, _ = image_ref(c.get("image", ""))
            out[name.rsplit("/", 1)[-1]] = c.get("image", "")
    return out


def check_k8s(kubectl: str, bin_dir: Path) -> None:
    schemas = [K8sSchemas(v) for v in K8S_VERSIONS]
    streams = stream_lister(bin_dir)
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
        parts = d.relative_to(ROOT).parts
        deployable = "overlays" in parts
        # prod and its variants (prod-ha) are held to production's rules
        prod = any(p == "prod" or p.startswith("prod-") for p in parts)
        check_rendered(where, docs, deployable, prod=prod, streams=streams)
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
