"""The routing rules read hops, not Istio objects: Gateway API and ingress-nginx routes are located
in their own schema (backendRefs[j].port, backend.service.name, ...)."""

from __future__ import annotations

from routing_kit import CLIENT, SERVER, SERVICE, lint, of, where, world

K8S_GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  gatewayClassName: istio
  listeners:
  - name: https
    hostname: chat.example.com
    port: 443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{name: chat-tls}]}
"""

HTTP_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: web}
spec:
  parentRefs: [{name: public}]
  hostnames: [chat.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /socket.io}
    backendRefs:
    - {name: chat, port: 80}
"""

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: chat, namespace: web}
spec:
  ingressClassName: nginx
  tls: [{hosts: [chat.example.com], secretName: chat-tls}]
  rules:
  - host: chat.example.com
    http:
      paths:
      - path: /socket.io
        pathType: Prefix
        backend:
          service: {name: chat, port: {number: 80}}
"""


def _gateway_api(route: str = HTTP_ROUTE, *, server: str = SERVER, service: str = SERVICE) -> str:
    return world(gateway=K8S_GATEWAY, route=route, server=server, service=service)


def test_gateway_api_topology_is_clean() -> None:
    assert lint(_gateway_api()) == []


def test_ingress_topology_is_clean() -> None:
    assert lint(world(gateway=None, route=INGRESS)) == []


def test_gateway_api_port_not_on_the_service_is_located_on_the_backend_ref() -> None:
    findings = of(lint(_gateway_api(HTTP_ROUTE.replace("port: 80", "port: 8080"))), "SG105")
    assert findings
    assert where(findings[0]) == ("HTTPRoute", "web/chat", "spec.rules[0].backendRefs[0].port", "error")
    assert "`port: 80`" in findings[0].fixes[0]


def test_ingress_backend_naming_no_service() -> None:
    findings = of(lint(world(gateway=None, route=INGRESS.replace("service: {name: chat,", "service: {name: chats,"))),
                  "SG101")
    assert findings
    assert where(findings[0])[:3] == ("Ingress", "web/chat", "spec.rules[0].http.paths[0].backend.service.name")


def test_cross_namespace_backend_without_reference_grant() -> None:
    moved = SERVICE.replace("namespace: web", "namespace: chat")
    server = SERVER.replace("namespace: web", "namespace: chat")
    route = HTTP_ROUTE.replace("{name: chat, port: 80}", "{name: chat, namespace: chat, port: 80}")
    findings = of(lint(_gateway_api(route, server=server, service=moved)), "SG113")
    assert [where(f)[:3] for f in findings] == [("HTTPRoute", "web/chat", "spec.rules[0].backendRefs[0]")]
    assert "ReferenceGrant" in findings[0].message


def test_port_name_prefix_does_not_matter_behind_ingress_nginx() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: tcp-socket, port: 80")
    assert not of(lint(world(gateway=None, route=INGRESS, service=service)), "SG107")


def test_h2c_app_protocol_matters_behind_gateway_api() -> None:
    service = SERVICE.replace("name: http, port: 80", "name: http, appProtocol: kubernetes.io/h2c, port: 80")
    [finding] = of(lint(_gateway_api(service=service)), "SG107")
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].appProtocol", "error")


def test_client_host_served_by_an_ingress_is_not_sg110() -> None:
    assert not of(lint(world(client=CLIENT, gateway=None, route=INGRESS)), "SG110")


def test_gateway_api_exact_without_the_slash() -> None:
    route = HTTP_ROUTE.replace("type: PathPrefix, value: /socket.io}", "type: Exact, value: /socket.io}")
    findings = lint(_gateway_api(route))
    [finding] = of(findings, "SG104")
    assert where(finding) == ("HTTPRoute", "web/chat", "spec.rules[0].matches[0].path.value", "error")
    assert "type: PathPrefix" in finding.fixes[0]
    assert not of(findings, "SG101") and not of(findings, "SG102")


def test_ingress_exact_without_the_slash() -> None:
    findings = lint(world(gateway=None, route=INGRESS.replace("pathType: Prefix", "pathType: Exact")))
    [finding] = of(findings, "SG104")
    assert where(finding) == ("Ingress", "web/chat", "spec.rules[0].http.paths[0].pathType", "error")
    assert not of(findings, "SG101")


def test_https_client_behind_an_ingress_without_tls() -> None:
    ingress = INGRESS.replace("  tls: [{hosts: [chat.example.com], secretName: chat-tls}]\n", "")
    [finding] = of(lint(world(gateway=None, route=ingress)), "SG111")
    assert where(finding)[:3] == ("Ingress", "web/chat", "spec.tls")
    assert "spec.tls" in finding.fixes[0]
