"""Which workloads a Service selects: found by pod label, the same as reading every workload of the namespace."""

from __future__ import annotations

from typing import Any

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.backends import ServiceResolver

HASH = "rollouts-pod-template-hash"


def _workload(kind: str, name: str, labels: dict[str, str] | None, *, namespace: str = "web",
              workload_ref: dict[str, str] | None = None) -> dict[str, Any]:
    api_version = "argoproj.io/v1alpha1" if kind == "Rollout" else "apps/v1"
    spec: dict[str, Any] = {"selector": {"matchLabels": labels or {}}}
    if labels is not None:
        spec["template"] = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    if workload_ref is not None:
        spec["workloadRef"] = workload_ref
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def _inventory() -> Inventory:
    inventory = Inventory()
    for raw in (
        _workload("Deployment", "chat", {"app": "chat", "tier": "web"}),
        _workload("StatefulSet", "chat", {"app": "chat"}),
        _workload("Deployment", "hashed", {"app": "chat", HASH: "6d4f"}),
        _workload("Rollout", "canary", {"app": "chat", "track": "canary"}),
        _workload("Rollout", "borrower", None, workload_ref={"kind": "Deployment", "name": "chat"}),
        _workload("Rollout", "own-labels", {"app": "other"}, workload_ref={"name": "chat"}),
        _workload("Rollout", "dangling", None, workload_ref={"name": "missing"}),
        _workload("Deployment", "elsewhere", {"app": "chat"}, namespace="other"),
        _workload("Deployment", "api", {"app": "api"}),
    ):
        inventory.add(raw)
    return inventory


def _scanned(inventory: Inventory, namespace: str, selector: dict[str, str]) -> tuple[ObjectRef, ...]:
    """The definition: every workload of the namespace, in inventory order, whose pods the selector selects."""
    return tuple(inventory.ref_of(w) for w in inventory.workloads(namespace) if w.selected_by(selector))


@pytest.mark.parametrize("selector", [
    {"app": "chat"},
    {"app": "chat", "tier": "web"},
    {"app": "chat", HASH: "6d4f"},
    {HASH: "6d4f"},
    {"app": "other"},
    {"app": "api"},
    {"app": "nothing"},
    {"track": "canary", HASH: "x"},
])
def test_selection_is_what_reading_every_workload_gives(selector: dict[str, str]) -> None:
    inventory = _inventory()
    assert ServiceResolver(inventory).selected_workloads("web", selector) == _scanned(inventory, "web", selector)


def test_a_rollout_borrowing_a_template_is_selected_by_that_template_labels() -> None:
    selected = ServiceResolver(_inventory()).selected_workloads("web", {"app": "chat", "tier": "web"})
    assert [(ref.kind, ref.name) for ref in selected] == [("Deployment", "chat"), ("Rollout", "borrower")]


def test_the_pod_template_hash_does_not_hide_a_rollout() -> None:
    selected = ServiceResolver(_inventory()).selected_workloads("web", {"app": "chat", HASH: "6d4f"})
    assert [(ref.kind, ref.name) for ref in selected] == [
        ("Deployment", "hashed"), ("Rollout", "borrower"), ("Rollout", "canary")]


def test_no_selector_selects_nothing() -> None:
    assert ServiceResolver(_inventory()).selected_workloads("web", {}) == ()
