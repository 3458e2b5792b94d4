"""What the inventory notes about an object when it is added follows the object.

An object's `socketguard.io/ignore` codes and the removed apiVersion it is written in (SG006) are
read once, when it is added, not at every finding: replacing, removing, restoring it, taking it
into a scoped analysis or keeping it as JSON text (the webhook's compact inventory) must read as
a fresh read of the object would.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "SG006" / "bad-extensions-v1beta1-ingress.yaml"
INGRESS = ObjectRef("networking.k8s.io/v1", "Ingress", "web", "chat")


def documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(FIXTURE.read_text()) if doc]


def old_ingress(**annotations: str) -> dict[str, Any]:
    ingress = copy.deepcopy(documents()[0])
    ingress["metadata"]["annotations"].update(annotations)
    return ingress


def filled(*, compact: bool) -> Inventory:
    inventory = Inventory(compact=compact)
    for doc in documents():
        inventory.add(doc)
    return inventory


def removed_version_findings(inventory: Inventory, scope: list[ObjectRef] | None = None) -> list[str]:
    return [f"{f.code} {f.subject}" for f in analyze(inventory, scope=scope) if f.code == "SG006"]


@pytest.mark.parametrize("compact", [False, True], ids=["plain", "compact"])
def test_an_ignore_annotation_follows_the_object_it_is_on(compact: bool) -> None:
    inventory = filled(compact=compact)
    assert removed_version_findings(inventory) == [f"SG006 {INGRESS}"]
    inventory.add(old_ingress(**{"socketguard.io/ignore": "sg006, SG102"}))
    assert inventory.ignored_codes(INGRESS) == {"SG006", "SG102"}
    assert removed_version_findings(inventory) == []
    inventory.add(old_ingress())
    assert inventory.ignored_codes(INGRESS) == frozenset()
    assert removed_version_findings(inventory) == [f"SG006 {INGRESS}"]


@pytest.mark.parametrize("compact", [False, True], ids=["plain", "compact"])
def test_a_restored_entry_brings_back_what_was_noted(compact: bool) -> None:
    inventory = filled(compact=compact)
    taken = inventory.entry(INGRESS)
    inventory.add(old_ingress(**{"socketguard.io/ignore": "SG006"}))
    inventory.restore(INGRESS, taken)
    assert removed_version_findings(inventory) == [f"SG006 {INGRESS}"]
    inventory.remove(INGRESS)
    assert inventory.ignored_codes(INGRESS) == frozenset()
    assert removed_version_findings(inventory) == []


def test_an_object_rewritten_in_a_served_version_is_no_longer_reported() -> None:
    inventory = filled(compact=False)
    served = old_ingress()
    served["apiVersion"] = "networking.k8s.io/v1"
    served["spec"]["rules"][0]["http"]["paths"][0] = {
        "path": "/socket.io/", "pathType": "Prefix",
        "backend": {"service": {"name": "chat", "port": {"number": 80}}}}
    inventory.add(served)
    assert removed_version_findings(inventory) == []


def test_a_scoped_analysis_reads_the_notes_of_its_part() -> None:
    inventory = filled(compact=True)
    assert removed_version_findings(inventory, scope=[INGRESS]) == [f"SG006 {INGRESS}"]
    inventory.add(old_ingress(**{"socketguard.io/ignore": "SG006"}))
    assert removed_version_findings(inventory, scope=[INGRESS]) == []
