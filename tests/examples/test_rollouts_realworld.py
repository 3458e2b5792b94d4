"""Public Argo Rollouts in front of WebSocket servers, re-expressed as minimal manifests (sources in each file).

As published (WebSocket only), both are clean: the Services select the Rollouts' pods (no SG106, the
false positive before Rollouts were workloads) and a weighted canary is chosen once per connection.
Served with polling as well, which Socket.IO clients do by default, each breaks a different way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory

HERE = Path(__file__).parent / "rollouts_realworld"
TRANSPORTS = "socketguard.io/transports"


def inventory(name: str, *, polling: bool = False) -> Inventory:
    found = Inventory()
    for document in yaml.safe_load_all((HERE / name).read_text()):
        if document["kind"] == "Rollout" and polling:
            document["metadata"]["annotations"][TRANSPORTS] = "polling,websocket"
        found.add(document)
    return found


def codes(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.code, f.subject.kind, f.field_path) for f in findings]


@pytest.mark.parametrize("name", ["aragora.yaml", "tous-chat-server.yaml"])
def test_as_published_the_rollout_is_the_server_and_nothing_is_wrong(name: str) -> None:
    found = inventory(name)
    assert analyze(found) == []
    assert [ref.kind for ref in Context(found).servers] == ["Rollout"]


def test_aragora_with_polling_splits_sessions_across_the_nginx_canary() -> None:
    findings = analyze(inventory("aragora.yaml", polling=True))
    assert ("SG303", "Rollout", "spec.strategy.canary.trafficRouting.nginx") in codes(findings)
    assert ("SG301", "Rollout", "spec.replicas") in codes(findings)


def test_tous_chat_server_with_polling_needs_affinity_on_its_node_port_service() -> None:
    findings = analyze(inventory("tous-chat-server.yaml", polling=True))
    assert codes(findings) == [("SG301", "Rollout", "spec.replicas")]
