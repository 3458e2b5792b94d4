"""Scoped analysis (operator, webhook) gives the routing findings the full analysis gives."""

from __future__ import annotations

import pytest
from routing_kit import CLIENT, GATEWAY, ROUTE, SERVER, SERVICE, inventory, world

from socketguard.engine.analysis import analyze
from socketguard.engine.scope import neighbourhood

FRONTEND = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: web-app}
  ports: [{name: http, port: 80, targetPort: http}]
"""

SCENARIOS = {
    "shadowed": world(route=ROUTE.replace("prefix: /socket.io/", "prefix: /").replace("host: chat,", "host: web,")
                      + ROUTE.split("  http:\n")[1], extra=[FRONTEND]),
    "exact": world(route=ROUTE.replace("prefix: /socket.io/", "exact: /socket.io")),
    "port": world(route=ROUTE.replace("number: 80", "number: 8080")),
    "selector": world(service=SERVICE.replace("{app: chat}", "{app: chat, version: v2}")),
    "tcp": world(service=SERVICE.replace("name: http, port", "name: tcp-web, port")),
    "timeout": world(route=ROUTE + "    timeout: 20s\n"),
    "namespace": world(client=CLIENT.replace("client-url: https://chat.example.com",
                                             "client-url: https://chat.example.com/admin")),
    "gateway": world(route=ROUTE.replace("gateways: [public]", "gateways: [gone]")),
    "mixed": world(client=CLIENT.replace("client-url: https://chat.example.com", "client-url: ws://chat.example.com")),
    "hidden": world(gateway=GATEWAY.replace("namespace: web", "namespace: istio-ingress"),
                    route=ROUTE.replace("gateways: [public]", "gateways: [istio-ingress/public]")
                    .replace("  hosts:", "  exportTo: ['.']\n  hosts:")),
    "inferred": world(server=SERVER.replace("    socketguard.io/role: server\n    socketguard.io/port: http\n", "")
                      .replace("  annotations:\n", ""), client=None),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scoped_analysis_matches_the_full_one(name: str) -> None:
    inv = inventory(SCENARIOS[name])
    full = analyze(inv)
    assert full, f"{name} must produce findings for this test to mean anything"
    for entry in list(inv.entries()):
        closure = neighbourhood(inv, [entry.ref])
        expected = [f for f in full if f.subject in closure]
        assert analyze(inv, scope=[entry.ref]) == expected, entry.ref
