"""The implementation facts: detection from a GatewayClass, and docs/migration.md carrying the table."""

from __future__ import annotations

from pathlib import Path

import pytest
from migration_kit import faithful_after, inventory

from socketguard.engine.migration.implementations import IMPLEMENTATIONS, UNKNOWN, by_name, detect, facts_table

DOCS = Path(__file__).resolve().parents[2] / "docs/migration.md"


def test_docs_carry_the_table() -> None:
    assert facts_table() in DOCS.read_text()


def test_every_fact_names_a_source() -> None:
    for item in (*IMPLEMENTATIONS, UNKNOWN):
        for fact in (item.session_persistence_fact, item.default_timeout_fact, item.own_stickiness_fact,
                     item.websocket_default):
            assert fact.source.strip(), (item.name, fact)


@pytest.mark.parametrize(("controller", "name"), [
    ("gateway.envoyproxy.io/gatewayclass-controller", "envoy-gateway"),
    ("istio.io/gateway-controller", "istio"),
    ("gateway.nginx.org/nginx-gateway-controller", "nginx-gateway-fabric"),
    ("traefik.io/gateway-controller", "traefik"),
    ("io.cilium/gateway-controller", "cilium"),
    ("kgateway.dev/kgateway", "kgateway"),
    ("example.com/homegrown", "unknown"),
])
def test_the_gateway_class_names_the_implementation(controller: str, name: str) -> None:
    gateway_class = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                     "metadata": {"name": "eg"}, "spec": {"controllerName": controller}}
    found, notes = detect(inventory([*faithful_after(), gateway_class]))
    assert found.name == name
    assert controller in notes[0]


def test_without_a_gateway_class_it_says_what_it_assumed() -> None:
    found, notes = detect(inventory(faithful_after()))
    assert found is UNKNOWN and "--implementation" in notes[0]
    assert detect(inventory(faithful_after()), "istio")[0] is by_name("istio")
