from __future__ import annotations

from routing_kit import CLIENT, SERVICE, lint, of, where, world

from socketguard.engine.models.services import ServicePort
from socketguard.engine.rules.sg107_port_protocol_not_http import RULE, port_protocol

MESH_CLIENT = CLIENT.replace("https://chat.example.com\n    socketguard.io/client-origin",
                             "http://chat.web.svc.cluster.local\n    socketguard.io/client-origin")
MESH_ROUTE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: chat-mesh, namespace: web}
spec:
  hosts: [chat]
  http:
  - match:
    - uri: {prefix: /socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
"""


def _port(name: str | None = None, app: str | None = None) -> ServicePort:
    return ServicePort(name=name, port=80, app_protocol=app)


def test_protocol_selection_follows_app_protocol_then_name_prefix() -> None:
    assert port_protocol(_port("tcp-web", "http")) == ("http", "appProtocol")
    assert port_protocol(_port("http2-web")) == ("http2", "name")
    assert port_protocol(_port("http")) == ("http", "name")
    assert port_protocol(_port("httpweb")) == (None, "name")
    assert port_protocol(_port(None)) == (None, "name")
    assert port_protocol(_port("web", "kubernetes.io/h2c")) == ("kubernetes.io/h2c", "appProtocol")


def test_http_port_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_tcp_port_in_the_mesh_defeats_path_routing() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: tcp-socket, port: 80")
    findings = lint(world(client=MESH_CLIENT, service=service, gateway=None, route=MESH_ROUTE))
    [finding] = of(findings, "SG107")
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].name", "error")
    assert "opaque TCP" in finding.message and "VirtualService web/chat-mesh spec.http[0]" in finding.message


def test_tcp_port_behind_the_gateway_is_info() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: tcp-socket, port: 80")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].name", "info")
    assert "harmless behind the ingress gateway" in finding.message


def test_http2_port_in_front_of_a_socket_io_server() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: http2-socket, port: 80")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].name", "error")
    assert "HTTP/2" in finding.message and "Deployment web/chat" in finding.message


def test_h2c_app_protocol_is_http2() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: http, appProtocol: kubernetes.io/h2c, port: 80")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].appProtocol", "error")


def test_unnamed_port_is_sniffed_info() -> None:
    service = SERVICE.replace("name: http, port: 80", "port: 80")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0]", "info")
    assert "sniffed" in finding.message
