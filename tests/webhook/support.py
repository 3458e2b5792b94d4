"""The mageagent example as an inventory, and AdmissionReview requests about it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from socketguard.cluster import kube
from socketguard.engine.inventory import Inventory
from socketguard.webhook.admission import Outcome, Webhook, admit
from socketguard.webhook.modes import MODE_KEY, Mode
from socketguard.webhook.review import parse_review

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "mageagent"
NAMESPACE = "mageagent"
PLURALS = {**kube.PLURALS, "ConfigMap": "configmaps"}


@dataclass
class State:
    inventory: Inventory
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def mode(self, mode: str) -> State:
        self.namespace_labels[NAMESPACE] = {MODE_KEY: mode}
        return self


def documents(variant: str, *files: str) -> list[dict[str, Any]]:
    names = files or tuple(p.name for p in sorted((EXAMPLE / variant).glob("*.yaml")))
    out: list[dict[str, Any]] = []
    for name in names:
        out.extend(doc for doc in yaml.safe_load_all((EXAMPLE / variant / name).read_text()) if doc)
    return out


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name))


def working_state(mode: str = "enforce") -> State:
    """The broken example's workloads and gateway with the fixed-by-rewrite route: no error."""
    inventory = Inventory()
    for doc in documents("broken", "mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
        inventory.add(doc)
    inventory.add(documents("fixed-by-rewrite", "virtualservice.yaml")[0])
    return State(inventory).mode(mode)


def review(operation: str, obj: dict[str, Any] | None, old: dict[str, Any] | None = None, *,
           sub_resource: str = "", uid: str = "uid-1", username: str = "alice", dry_run: bool = False
           ) -> dict[str, Any]:
    subject = obj if obj is not None and sub_resource == "" else old if old is not None else obj
    assert subject is not None
    group, _, version = subject["apiVersion"].rpartition("/")
    kind = subject["kind"]
    meta = subject["metadata"]
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": PLURALS.get(kind, kind.lower() + "s")},
            "subResource": sub_resource or None,
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", NAMESPACE),
            "operation": operation,
            "userInfo": {"username": username, "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": dry_run,
        },
    }


def run(state: State, body: dict[str, Any], webhook: Webhook = "validate", default: Mode = Mode.WARN) -> Outcome:
    return admit(parse_review(body), state, webhook=webhook, default_mode=default)


def annotate(obj: dict[str, Any], key: str, value: str, *, template: bool = False) -> dict[str, Any]:
    target = obj["spec"]["template"] if template else obj
    target.setdefault("metadata", {}).setdefault("annotations", {})[key] = value
    return obj


def snapshot(inventory: Inventory) -> Iterator[tuple[Any, Any]]:
    return iter(sorted(((e.ref, repr(e.raw)) for e in inventory.entries()), key=lambda item: item[0]))
