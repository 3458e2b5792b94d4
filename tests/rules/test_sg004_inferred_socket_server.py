from __future__ import annotations

from routing_kit import SERVER, lint, of, where, world

from socketguard.engine.rules.sg004_inferred_socket_server import RULE

UNANNOTATED = SERVER.replace("""  annotations:
    socketguard.io/role: server
    socketguard.io/port: http
""", "")

MAGEAGENT_ROUTE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: chat, namespace: web}
spec:
  hosts: [chat.example.com]
  gateways: [public]
  http:
  - match:
    - uri: {prefix: /mageagent/socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
"""


def test_unannotated_workload_behind_socket_route_is_inferred_with_the_implied_annotations() -> None:
    [finding] = lint(world(client=None, server=UNANNOTATED, route=MAGEAGENT_ROUTE), RULE)
    assert where(finding) == ("Deployment", "web/chat", "metadata.annotations", "info")
    assert "VirtualService web/chat spec.http[0] (prefix /mageagent/socket.io/)" in finding.message
    assert "deliver /mageagent/socket.io" in finding.message
    fix = finding.fixes[0]
    assert "socketguard.io/path: /mageagent/socket.io" in fix
    assert "socketguard.io/port: http" in fix
    assert "socketguard.io/role: server" in fix


def test_inferred_server_path_mismatch_is_capped_at_warning() -> None:
    findings = lint(world(client=None, server=UNANNOTATED, route=MAGEAGENT_ROUTE))
    [mismatch] = of(findings, "SG102")
    assert mismatch.severity.label == "warning"
    assert of(findings, "SG004")


def test_annotated_server_is_not_inferred() -> None:
    assert lint(world(route=MAGEAGENT_ROUTE), RULE) == []


def test_workload_behind_a_non_socket_route_is_not_inferred() -> None:
    route = MAGEAGENT_ROUTE.replace("/mageagent/socket.io/", "/api/")
    assert lint(world(client=None, server=UNANNOTATED, route=route), RULE) == []
