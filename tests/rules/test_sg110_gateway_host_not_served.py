from __future__ import annotations

from routing_kit import CLIENT, GATEWAY, ROUTE, lint, of, where, world

from socketguard.engine.rules.sg110_gateway_host_not_served import RULE


def test_served_host_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_wildcard_gateway_host_serves_it() -> None:
    assert lint(world(gateway=GATEWAY.replace("hosts: [chat.example.com]", "hosts: ['*.example.com']")), RULE) == []


def test_client_host_no_gateway_lists() -> None:
    client = CLIENT.replace("client-url: https://chat.example.com", "client-url: https://live.example.com")
    [finding] = lint(world(client=client), RULE)
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']", "error")
    assert "live.example.com" in finding.message


def test_no_gateway_in_the_inputs_is_a_warning() -> None:
    [finding] = lint(world(gateway=None, route=None), RULE)
    assert where(finding)[3] == "warning" and finding.assumptions


def test_referenced_gateway_missing() -> None:
    findings = lint(world(route=ROUTE.replace("gateways: [public]", "gateways: [public-gw]")))
    [finding] = of(findings, "SG110")
    assert where(finding) == ("VirtualService", "web/chat", "spec.gateways[0]", "error")
    assert "`public-gw`" in finding.message and "create Gateway web/public-gw" in finding.fixes[0]


def test_gateway_in_a_namespace_outside_the_inputs_is_a_warning() -> None:
    [finding] = lint(world(route=ROUTE.replace("gateways: [public]", "gateways: [istio-system/public]")), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.gateways[0]", "warning")


def test_gateway_serves_the_host_but_the_route_binds_another() -> None:
    route = ROUTE.replace("gateways: [public]", "gateways: [mesh]")
    [finding] = lint(world(route=route), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.gateways", "error")
    assert "add `public` to spec.gateways" in finding.fixes[0]
