"""A compact inventory (the operator's and the webhook's) reads exactly as a plain one.

It keeps objects as JSON text and shares what equal views hold; every example directory gives
the same raw objects, views and findings either way, and sharing never shows through a view.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.inventory import Inventory, identity_problems
from socketguard.engine.models.argo import Rollout
from socketguard.engine.objects import ObjectRef

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
# The Kubernetes examples; `repo` is a whole repository (chart templates, workflows), for `scan`.
DIRECTORIES = sorted({path.parent for path in EXAMPLES.rglob("*.yaml")} - set(EXAMPLES.glob("repo/**")) - {
    EXAMPLES / "repo"})


def documents(directory: Path) -> list[dict[str, Any]]:
    return [doc for path in sorted(directory.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())
            if not identity_problems(doc)]


def filled(docs: list[dict[str, Any]], *, compact: bool) -> Inventory:
    inventory = Inventory(compact=compact)
    for doc in docs:
        inventory.add(doc)
    return inventory


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: str(d.relative_to(EXAMPLES)))
def test_compact_inventory_reads_as_plain(directory: Path) -> None:
    docs = documents(directory)
    plain, compact = filled(docs, compact=False), filled(docs, compact=True)
    assert [entry.ref for entry in compact.entries()] == [entry.ref for entry in plain.entries()]
    for entry in plain.entries():
        held = compact.entry(entry.ref)
        assert held is not None
        assert held.raw == entry.raw and held.view == entry.view and held.problems == entry.problems
        assert held.links == entry.links
    assert analyze(compact) == analyze(plain)


def test_an_object_json_cannot_spell_is_kept_as_it_came() -> None:
    obj = service("chat")
    obj["metadata"]["creationTimestamp"] = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)  # unquoted YAML date
    inventory = Inventory(compact=True)
    ref = inventory.add(obj)
    assert inventory.raw(ref) == obj


def test_a_shared_field_set_does_not_leak_into_a_copy() -> None:
    inventory = Inventory(compact=True)
    inventory.add(deployment("base"))
    refs = [inventory.add(rollout(name)) for name in ("one", "two")]
    one, two = (inventory.view("argoproj.io", "Rollout", "default", ref.name) for ref in refs)
    assert isinstance(one, Rollout) and isinstance(two, Rollout)
    given = set(two.spec.model_fields_set)
    resolved = inventory.workload("Rollout", "default", "one")
    assert resolved is not None and resolved.spec.template.metadata.labels == {"app": "base"}
    assert "template" in resolved.spec.model_fields_set
    assert two.spec.model_fields_set == given


def service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}


def rollout(name: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "base"},
                     "selector": {"matchLabels": {"app": "base"}}}}


def test_ref_of_a_compact_view_is_its_own() -> None:
    inventory = Inventory(compact=True)
    ref = inventory.add(service("chat"))
    view = inventory.view("", "Service", "default", "chat")
    assert view is not None and inventory.ref_of(view) == ref == ObjectRef("v1", "Service", "default", "chat")
