"""Regression: a client known only by its page origin, in another namespace than the route.

`socketguard.io/client-origin` without `client-url`: the handshake goes to the origin's host.
When the route for that host stops matching the handshake, the full analysis reports SG101 on
the client; the scoped analysis of the route change (what the operator and the webhook run) must
report it too, and the webhook must tell whoever makes the change.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from routing_kit import CLIENT, inventory, world

from socketguard.engine import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.webhook.admission import admit
from socketguard.webhook.modes import MODE_KEY, Mode
from socketguard.webhook.review import parse_review

# The routing kit's topology, with its client moved to another namespace and known only by its
# page origin (no `client-url`: the handshake goes to the origin's host).
ORIGIN_ONLY_CLIENT = CLIENT.replace("  namespace: web\n", "  namespace: frontend\n").replace(
    "    socketguard.io/client-url: https://chat.example.com\n", "")

ROUTE = ObjectRef("networking.istio.io/v1", "VirtualService", "web", "chat")
PORTAL = ObjectRef("apps/v1", "Deployment", "frontend", "app")


def topology() -> Inventory:
    assert "client-url" not in ORIGIN_ONLY_CLIENT and "namespace: frontend" in ORIGIN_ONLY_CLIENT
    return inventory(world(client=ORIGIN_ONLY_CLIENT))


def route_elsewhere(inventory: Inventory) -> dict[str, Any]:
    """The route, changed so that the client's handshake no longer matches it (a header the browser
    does not send); nothing else about the route is wrong, so SG101 on the client is the only news."""
    raw = copy.deepcopy(inventory.raw(ROUTE))
    assert raw is not None
    raw["spec"]["http"][0]["match"][0]["headers"] = {"x-canary": {"exact": "1"}}
    return raw


def missing_routes(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code == "SG101" and f.subject == PORTAL]


def test_the_scoped_analysis_of_the_route_change_reports_sg101_on_the_origin_only_client() -> None:
    inventory = topology()
    assert not missing_routes(analyze(inventory)), "the client must be served before the change"
    inventory.add(route_elsewhere(inventory))
    full = missing_routes(analyze(inventory))
    assert full, "the full analysis must see the broken client for this test to mean anything"
    assert missing_routes(analyze(inventory, scope=[ROUTE])) == full


def review(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "uid-origin", "operation": "UPDATE", "name": "chat", "namespace": "web",
            "kind": {"group": "networking.istio.io", "version": "v1", "kind": "VirtualService"},
            "resource": {"group": "networking.istio.io", "version": "v1", "resource": "virtualservices"},
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": new, "oldObject": old, "dryRun": False,
        },
    }


class _State:
    def __init__(self, inventory: Inventory, mode: Mode) -> None:
        self.inventory = inventory
        self.namespace_labels = {"web": {MODE_KEY: mode.name.lower()}, "frontend": {MODE_KEY: mode.name.lower()}}


@pytest.mark.parametrize("mode", [Mode.ENFORCE, Mode.WARN], ids=["enforce", "warn"])
def test_the_webhook_reports_the_route_change_that_breaks_the_origin_only_client(mode: Mode) -> None:
    inventory = topology()
    old = inventory.raw(ROUTE)
    assert old is not None
    outcome = admit(parse_review(review(route_elsewhere(inventory), copy.deepcopy(old))), _State(inventory, mode),
                    webhook="validate", default_mode=Mode.WARN)
    assert [f.code for f in outcome.introduced] == ["SG101"], outcome
    assert missing_routes(list(outcome.introduced)), outcome
    assert any(warning.startswith("SG101 ") for warning in outcome.answer.warnings), outcome.answer.warnings
    assert inventory.raw(ROUTE) == old, "the webhook must leave the inventory as it found it"
