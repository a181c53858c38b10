"""Schema validation of Kubernetes objects: kubernetes-validate's strict schemas
for each supported Kubernetes version, and the vendored KEDA CRD schemas."""

from __future__ import annotations

import json
import re
from typing import Any

import importlib_resources
import jsonschema
from referencing import Registry, Resource

from .common import ROOT, problem, schema_errors

# Kubernetes versions every rendered object must be valid for: the oldest we
# support and the newest kubernetes-validate knows.
K8S_VERSIONS = ("1.31", "1.37")

KEDA_SCHEMAS = {
    "ScaledObject": "deploy/schemas/keda/scaledobject-keda.sh-v1alpha1.json",
    "TriggerAuthentication": "deploy/schemas/keda/triggerauthentication-keda.sh-v1alpha1.json",
}


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
