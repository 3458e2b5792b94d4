"""SG003's checker: objects the inventory kept aside for wrong field types, one finding per field."""

from __future__ import annotations

from typing import Any

import yaml
from lintkit import service

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.rules.sg003_unparseable_manifest import RULE


def inventory_of(*documents: dict[str, Any]) -> Inventory:
    inventory = Inventory()
    for document in documents:
        inventory.add(document)
    return inventory


def test_wrong_field_type_is_reported_at_the_field() -> None:
    broken = yaml.safe_load(service("api").replace("port: 80", "port: eighty"))
    (finding,) = analyze(inventory_of(broken), rules=[RULE])
    assert (finding.code, finding.severity) == ("SG003", Severity.ERROR)
    assert (str(finding.subject), finding.field_path) == ("Service web/api", "spec.ports[0].port")
    assert finding.message.endswith("Service web/api is left out of the analysis")


def test_valid_objects_and_unknown_kinds_give_nothing() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": 3}
    assert analyze(inventory_of(yaml.safe_load(service("api")), widget), rules=[RULE]) == []


def test_the_ignore_annotation_suppresses_it() -> None:
    broken = yaml.safe_load(service("api").replace("port: 80", "port: eighty"))
    broken["metadata"]["annotations"] = {"socketguard.io/ignore": "SG003"}
    assert analyze(inventory_of(broken), rules=[RULE]) == []
