"""SG501-SG504 through the real engine: annotations -> contract -> pairing -> findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from socketguard.cli import main
from socketguard.engine.analysis import analyze
from socketguard.engine.inventory import Inventory


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


def test_scanned_annotations_pasted_into_manifests_reproduce_the_seed_mismatches() -> None:
    """The `contract scan` output is valid annotation input: no SG001, and the seed's findings."""
    sources = Path(__file__).parent.parent / "fixtures" / "sources"

    def scanned(directory: str) -> dict[str, str]:
        result = CliRunner().invoke(main, ["contract", "scan", str(sources / directory)])
        assert result.exit_code == 0, result.output
        annotations: dict[str, str] = yaml.safe_load(result.output)["metadata"]["annotations"]
        return annotations

    frontend = scanned("frontend") | {
        "socketguard.io/client-url": "http://mageagent.web.svc.cluster.local",
        "socketguard.io/client-server": "web/mageagent",
    }
    inventory = Inventory()
    inventory.add(deployment("mageagent", scanned("backend-py"), "m"))
    inventory.add(deployment("frontend", frontend, "f"))
    inventory.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mageagent", "namespace": "web"},
                   "spec": {"selector": {"app": "m"}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]}})
    findings = analyze(inventory)
    assert not [f for f in findings if f.code == "SG001"]
    never_emitted = sorted(f.message.split("'")[1] for f in findings if f.code == "SG501")
    assert never_emitted == sorted(["agent:spawned", "agent:progress", "agent:complete", "tool:executing",
                                    "tool:complete", "task:start", "task:complete", "task:failed",
                                    "memory:recalled"])
    assert [f.code for f in findings if f.code == "SG504"] == ["SG504"]
