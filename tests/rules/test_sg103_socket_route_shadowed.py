from __future__ import annotations

from routing_kit import ROUTE, lint, of, where, world

from socketguard.engine.rules.sg103_socket_route_shadowed import RULE

FRONTEND = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def _route(http: str, name: str = "chat") -> str:
    head = ROUTE.split("  http:\n")[0].replace("name: chat,", f"name: {name},")
    return head + "  http:\n" + http


SOCKET_RULE = """  - match:
    - uri: {prefix: /socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
"""
CATCH_ALL = """  - match:
    - uri: {prefix: /}
    route:
    - destination: {host: web, port: {number: 80}}
"""


def test_broader_earlier_route_shadows_the_socket_route() -> None:
    findings = lint(world(route=_route(CATCH_ALL + SOCKET_RULE), extra=[FRONTEND]))
    [finding] = of(findings, "SG103")
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].match[0]", "error")
    assert "spec.http[0] (prefix /)" in finding.message and "spec.http[1] (prefix /socket.io/)" in finding.message
    assert "Service web/web" in finding.message
    assert "move spec.http[1] above spec.http[0]" in finding.fixes[0]
    assert not of(findings, "SG102") and not of(findings, "SG101")


def test_socket_route_first_is_fine() -> None:
    assert lint(world(route=_route(SOCKET_RULE + CATCH_ALL), extra=[FRONTEND]), RULE) == []


def test_another_virtual_service_for_the_host_shadows_it() -> None:
    findings = lint(world(route=_route(SOCKET_RULE, "b-chat"), extra=[FRONTEND, _route(CATCH_ALL, "a-web")]), RULE)
    [finding] = findings
    assert where(finding)[:3] == ("VirtualService", "web/a-web", "spec.http[0].match[0]")
    assert "no guaranteed order" in finding.message
    assert "one VirtualService" in finding.fixes[0]


def test_earlier_route_to_the_same_server_on_a_path_it_serves_is_not_shadowing() -> None:
    same = """  - match:
    - uri: {prefix: /}
    route:
    - destination: {host: chat, port: {number: 80}}
"""
    assert lint(world(route=_route(same + SOCKET_RULE)), RULE) == []


def test_client_handshake_captured_before_the_server_route() -> None:
    # No socket.io segment in either rule: only the client's trace sees the shadowing.
    server_rule = """  - match:
    - uri: {prefix: /socket.io}
    route:
    - destination: {host: chat, port: {number: 80}}
"""
    findings = lint(world(route=_route(CATCH_ALL + server_rule), extra=[FRONTEND]), RULE)
    assert [where(f)[:3] for f in findings] == [("VirtualService", "web/chat", "spec.http[0].match[0]")]
