from __future__ import annotations

from routing_kit import CLIENT, ROUTE, SERVER, lint, of, where, world

from socketguard.engine.rules.sg101_socket_route_missing import RULE


def _route(http: str) -> str:
    return ROUTE.split("  http:\n")[0] + "  http:\n" + http


def test_routed_client_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_client_path_no_rule_matches() -> None:
    client = CLIENT.replace("client-origin: https://chat.example.com",
                            "client-origin: https://chat.example.com\n    socketguard.io/client-path: /ws")
    [finding] = lint(world(client=client), RULE)
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-path']", "error")
    assert "GET /ws/ on chat.example.com" in finding.message and "404" in finding.message


def test_handshake_reaching_a_frontend_is_not_a_server() -> None:
    frontend = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: web-app}
  ports: [{name: http, port: 80, targetPort: http}]
"""
    route = _route("""  - match:
    - uri: {prefix: /chat/socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
  - route:
    - destination: {host: web, port: {number: 80}}
""")
    [finding] = lint(world(route=route, extra=[frontend]), RULE)
    assert where(finding)[:2] == ("Deployment", "web/app")
    assert "Deployment web/app, which is not a Socket.IO server" in finding.message


def test_dotted_destination_host_is_not_expanded() -> None:
    route = ROUTE.replace("host: chat,", "host: chat.web,")
    findings = of(lint(world(route=route)), "SG101")
    assert findings
    finding = findings[0]
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].route[0].destination.host", "error")
    assert "chat.web.svc.cluster.local" in finding.fixes[0]


def test_redirect_answering_the_handshake() -> None:
    route = _route("""  - match:
    - uri: {prefix: /socket.io/}
    redirect: {uri: /login}
""")
    [finding] = lint(world(route=route), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0]", "error")
    assert "redirect" in finding.message


def test_mesh_request_unmatched_on_a_routed_host_gets_no_direct_service() -> None:
    client = CLIENT.replace("https://chat.example.com\n    socketguard.io/client-origin",
                            "http://chat:80\n    socketguard.io/client-origin")
    mesh_route = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: chat-mesh, namespace: web}
spec:
  hosts: [chat]
  http:
  - match:
    - uri: {prefix: /api/}
    route:
    - destination: {host: chat, port: {number: 80}}
"""
    [finding] = lint(world(client=client, extra=[mesh_route]), RULE)
    assert "GET /socket.io/ on chat.web.svc.cluster.local" in finding.message


def test_direct_in_cluster_connection_without_a_route_is_fine() -> None:
    client = CLIENT.replace("https://chat.example.com\n    socketguard.io/client-origin",
                            "http://chat:80\n    socketguard.io/client-origin")
    assert lint(world(client=client, route=None, gateway=None), RULE) == []


def test_in_cluster_host_naming_no_service() -> None:
    client = CLIENT.replace("https://chat.example.com\n    socketguard.io/client-origin",
                            "http://chats:80\n    socketguard.io/client-origin")
    findings = lint(world(client=client))
    [finding] = of(findings, "SG101")
    assert where(finding)[:3] == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']")
    assert not of(findings, "SG110")


def test_catch_all_to_an_unannotated_workload_is_a_warning() -> None:
    unannotated = SERVER.replace("  annotations:\n    socketguard.io/role: server\n    socketguard.io/port: http\n", "")
    route = _route("""  - route:
    - destination: {host: chat, port: {number: 80}}
""")
    [finding] = lint(world(server=unannotated, route=route), RULE)
    assert where(finding)[:2] == ("Deployment", "web/app") and finding.severity.label == "warning"
    assert "is not known as a Socket.IO server" in finding.message and finding.assumptions
