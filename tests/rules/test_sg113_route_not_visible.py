from __future__ import annotations

from routing_kit import GATEWAY, ROUTE, SERVICE, inventory, lint, of, where, world

from socketguard.engine.context import Context
from socketguard.engine.rules.sg113_route_not_visible import RULE

INGRESS_GATEWAY = GATEWAY.replace("namespace: web", "namespace: istio-ingress")
INGRESS_ROUTE = ROUTE.replace("gateways: [public]", "gateways: [istio-ingress/public]")


def test_visible_everywhere_is_fine() -> None:
    assert lint(world(gateway=INGRESS_GATEWAY, route=INGRESS_ROUTE), RULE) == []


def test_virtual_service_exported_to_its_own_namespace_is_hidden_from_the_gateway() -> None:
    route = INGRESS_ROUTE.replace("  hosts: [chat.example.com]", "  exportTo: ['.']\n  hosts: [chat.example.com]")
    findings = lint(world(gateway=INGRESS_GATEWAY, route=route))
    [finding] = of(findings, "SG113")
    assert where(finding) == ("VirtualService", "web/chat", "spec.exportTo", "error")
    assert "exportTo [.]" in finding.message and "namespace istio-ingress" in finding.message
    assert not of(findings, "SG101") and not of(findings, "SG110")


def test_export_to_the_gateway_namespace_is_fine() -> None:
    route = INGRESS_ROUTE.replace("  hosts: [chat.example.com]", "  exportTo: ['.', istio-ingress]\n"
                                  "  hosts: [chat.example.com]")
    assert lint(world(gateway=INGRESS_GATEWAY, route=route), RULE) == []


def test_service_exported_to_its_own_namespace() -> None:
    service = SERVICE.replace("metadata: {name: chat, namespace: web}",
                              "metadata:\n  name: chat\n  namespace: web\n  annotations:\n"
                              "    networking.istio.io/exportTo: '.'")
    [finding] = lint(world(gateway=INGRESS_GATEWAY, route=INGRESS_ROUTE, service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "metadata.annotations['networking.istio.io/exportTo']", "error")


def test_destination_rule_hidden_loses_its_affinity() -> None:
    rule = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: chat, namespace: web}
spec:
  host: chat
  exportTo: ['.']
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpCookie: {name: io, ttl: 0s}}
"""
    [finding] = lint(world(gateway=INGRESS_GATEWAY, route=INGRESS_ROUTE, extra=[rule]), RULE)
    assert where(finding)[:3] == ("DestinationRule", "web/chat", "spec.exportTo")
    assert "session affinity" in finding.message


def test_hidden_destination_rule_gives_no_affinity() -> None:
    rule = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: chat, namespace: web}
spec:
  host: chat
  exportTo: ['.']
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpCookie: {name: io, ttl: 0s}}
"""
    for export_to, expected in (("['.']", ()), ("['*']", ("cookie",))):
        text = world(gateway=INGRESS_GATEWAY, route=INGRESS_ROUTE, extra=[rule.replace("['.']", export_to)])
        [trace] = list(Context(inventory(text)).traces.client_traces())
        assert trace.hop is not None
        assert tuple(a.kind for b in trace.hop.backends for a in b.affinity) == expected
