"""SG501-SG504 through the real engine: annotations -> contract -> pairing -> findings."""

from __future__ import annotations

from typing import Any

from socketguard.engine import analyze
from socketguard.inventory import Inventory


def deployment(name: str, annotations: dict[str, str], app: str) -> dict[str, Any]:
    labels = {"app": app}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "web", "annotations": annotations},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "x",
                                     "ports": [{"containerPort": 8080, "name": "http"}]}]}}},
    }


def test_event_contract_findings_from_annotations() -> None:
    inventory = Inventory()
    inventory.add(deployment("mageagent", {
        "socketguard.io/role": "server", "socketguard.io/emits": "agent_stream",
        "socketguard.io/listens": "subscribe", "socketguard.io/rooms": "agent:{id}"}, "m"))
    inventory.add(deployment("frontend", {
        "socketguard.io/role": "client", "socketguard.io/client-server": "web/mageagent",
        "socketguard.io/client-url": "http://mageagent.web.svc.cluster.local",
        "socketguard.io/listens": "agent:spawned,agent_stream",
        "socketguard.io/emits": "subscribe,hello", "socketguard.io/rooms": "task:{id}"}, "f"))
    inventory.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mageagent", "namespace": "web"},
                   "spec": {"selector": {"app": "m"}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]}})
    found = {(f.code, f.subject.name, f.field_path) for f in analyze(inventory)
             if f.code.startswith("SG50")}
    assert found == {
        ("SG501", "frontend", "metadata.annotations['socketguard.io/listens']"),
        ("SG502", "frontend", "metadata.annotations['socketguard.io/emits']"),
        ("SG504", "frontend", "metadata.annotations['socketguard.io/rooms']"),
    }
