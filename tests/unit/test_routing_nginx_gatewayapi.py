"""ingress-nginx and Gateway API semantics where they differ from Istio's (issue 9's subtle cases)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter, replace_prefix
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter

SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: chat, namespace: web}
spec:
  selector: {app: chat}
  ports: [{name: http, port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: web}
spec:
  selector: {app: app}
  ports: [{name: http, port: 80}]
"""


def inventory(*documents: str) -> Inventory:
    inv = Inventory()
    for text in documents:
        for doc in yaml.safe_load_all(textwrap.dedent(text)):
            if doc:
                inv.add(doc)
    return inv


def ingress(paths: str, annotations: str = "{}", tls: bool = False) -> str:
    tls_block = "  tls: [{hosts: [chat.example.com], secretName: chat-tls}]\n" if tls else ""
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: chat, namespace: web, annotations: {annotations}}}
spec:
  ingressClassName: nginx
{tls_block}  rules:
  - host: chat.example.com
    http:
      paths:
{textwrap.indent(textwrap.dedent(paths).strip(), "      ")}
"""


def nginx(inv: Inventory, path: str) -> tuple[str | None, str | None]:
    hop = IngressNginxRouter(inv).route(Request(host="chat.example.com", path=path)).winner
    return (hop.rule_path_text, hop.upstream_path) if hop else (None, None)


def test_nginx_prefix_is_per_segment_but_implementation_specific_is_a_string_prefix() -> None:
    segment = inventory(SERVICES, ingress("""
        - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
    """))
    assert nginx(segment, "/socket.io/")[0] is not None
    assert nginx(segment, "/socket.iox/")[0] is None
    plain = inventory(SERVICES, ingress("""
        - {path: /socket.io, pathType: ImplementationSpecific, backend: {service: {name: chat, port: {number: 80}}}}
    """))
    assert nginx(plain, "/socket.iox/")[0] is not None


def test_rewrite_target_capture_group_drops_the_sub_path() -> None:
    inv = inventory(SERVICES, ingress("""
        - {path: /chat(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: chat, port: {number: 80}}}}
    """, annotations="{nginx.ingress.kubernetes.io/rewrite-target: /$2}"))
    assert nginx(inv, "/chat/socket.io/")[1] == "/socket.io/"


def test_rewrite_target_applies_to_every_path_of_the_ingress() -> None:
    """The public-chart bug: a plain /socket.io path beside a capture-group path is rewritten to /."""
    inv = inventory(SERVICES, ingress("""
        - {path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: app, port: {number: 80}}}}
        - {path: /socket.io, pathType: ImplementationSpecific, backend: {service: {name: chat, port: {number: 80}}}}
    """, annotations="{nginx.ingress.kubernetes.io/rewrite-target: /$2}"))
    assert nginx(inv, "/socket.io/") == ("spec.rules[0].http.paths[1]", "/")


def test_regex_mode_makes_every_path_of_the_host_case_insensitive() -> None:
    inv = inventory(SERVICES, ingress("""
        - {path: /Socket.IO, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
    """, annotations="{nginx.ingress.kubernetes.io/use-regex: 'true'}"))
    assert nginx(inv, "/socket.io/")[0] == "spec.rules[0].http.paths[0]"


def test_rewrite_target_equal_to_the_path_is_no_rewrite() -> None:
    inv = inventory(SERVICES, ingress("""
        - {path: /, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
    """, annotations="{nginx.ingress.kubernetes.io/rewrite-target: /}"))
    hop = IngressNginxRouter(inv).route(Request(host="chat.example.com", path="/socket.io/")).winner
    assert hop is not None and hop.upstream_path == "/socket.io/" and hop.rewrite_path is None


def test_nginx_timeouts_affinity_cors_and_tls() -> None:
    inv = inventory(SERVICES, ingress("""
        - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {name: http}}}}
    """, annotations="{nginx.ingress.kubernetes.io/proxy-read-timeout: '20', "
                     "nginx.ingress.kubernetes.io/affinity: cookie, nginx.ingress.kubernetes.io/enable-cors: 'true'}",
                     tls=True))
    result = IngressNginxRouter(inv).route(Request(host="chat.example.com", path="/socket.io/"))
    hop = result.winner
    assert result.entrance is not None and result.entrance.tls
    assert hop is not None and hop.timeout_ms == 20000 and hop.read_timeout and not hop.timeout_cuts_websocket
    assert [a.kind for a in hop.backends[0].affinity] == ["cookie"]
    assert hop.cors is not None and hop.cors.allow_origins == (("exact", "*"),) and hop.cors.allow_credentials
    assert hop.backends[0].target_port == 3000


def test_other_ingress_classes_are_not_guessed() -> None:
    inv = inventory(SERVICES, ingress("""
        - {path: /socket.io, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}
    """).replace("ingressClassName: nginx", "ingressClassName: gce"))
    router = IngressNginxRouter(inv)
    assert router.route(Request(host="chat.example.com", path="/socket.io/")).entrance is None
    assert [cls for _, cls in router.unmodelled()] == ["gce"]


GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  gatewayClassName: istio
  listeners:
  - {name: https, hostname: chat.example.com, port: 443, protocol: HTTPS, tls: {mode: Terminate}}
"""


def http_route(rules: str, name: str = "chat", namespace: str = "web") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  parentRefs: [{{name: public, namespace: web}}]
  hostnames: [chat.example.com]
  rules:
{textwrap.indent(textwrap.dedent(rules).strip(), "  ")}
"""


def gateway_api(inv: Inventory, path: str) -> tuple[str | None, str | None, str | None]:
    hop = GatewayAPIRouter(inv).route(Request(host="chat.example.com", path=path)).winner
    if hop is None:
        return None, None, None
    return hop.route.name, hop.rule_path_text, hop.upstream_path


def test_path_prefix_matches_whole_segments() -> None:
    inv = inventory(SERVICES, GATEWAY, http_route("""
        - matches: [{path: {type: PathPrefix, value: /socket.io}}]
          backendRefs: [{name: chat, port: 80}]
    """))
    assert gateway_api(inv, "/socket.io/")[0] == "chat"
    assert gateway_api(inv, "/socket.iox/")[0] is None


def test_exact_beats_a_longer_prefix_across_routes() -> None:
    inv = inventory(SERVICES, GATEWAY, http_route("""
        - matches: [{path: {type: PathPrefix, value: /socket.io/}}]
          backendRefs: [{name: chat, port: 80}]
    """, name="long-prefix"), http_route("""
        - matches: [{path: {type: Exact, value: /socket.io/}}]
          backendRefs: [{name: app, port: 80}]
    """, name="exact"))
    assert gateway_api(inv, "/socket.io/")[0] == "exact"


@pytest.mark.parametrize(
    ("prefix", "replacement", "path", "expected"),
    [
        ("/chat", "/", "/chat/socket.io/", "/socket.io/"),
        ("/chat/", "/", "/chat/socket.io/", "/socket.io/"),
        ("/chat", "/ws", "/chat/socket.io/", "/ws/socket.io/"),
        ("/chat", "/", "/chat", "/"),
    ],
)
def test_replace_prefix_match_is_per_segment(prefix: str, replacement: str, path: str, expected: str) -> None:
    assert replace_prefix(prefix, replacement, path) == expected


def test_url_rewrite_timeout_and_session_persistence() -> None:
    inv = inventory(SERVICES, GATEWAY, http_route("""
        - matches: [{path: {type: PathPrefix, value: /chat}}]
          filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
          timeouts: {request: 20s}
          sessionPersistence: {sessionName: io, type: Cookie}
          backendRefs: [{name: chat, port: 80}]
    """))
    hop = GatewayAPIRouter(inv).route(Request(host="chat.example.com", path="/chat/socket.io/")).winner
    assert hop is not None and hop.upstream_path == "/socket.io/"
    assert hop.timeout_ms == 20000 and hop.timeout_cuts_websocket
    assert [a.kind for a in hop.backends[0].affinity] == ["session-persistence"]


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    other = SERVICES.replace("namespace: web", "namespace: backend")
    route = http_route("""
        - backendRefs: [{name: chat, namespace: backend, port: 80}]
    """)
    grant = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-web, namespace: backend}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: web}]
  to: [{group: "", kind: Service}]
"""
    denied = GatewayAPIRouter(inventory(other, GATEWAY, route)).route(
        Request(host="chat.example.com", path="/socket.io/")).winner
    assert denied is not None and denied.backends[0].hidden_by
    allowed = GatewayAPIRouter(inventory(other, GATEWAY, route, grant)).route(
        Request(host="chat.example.com", path="/socket.io/")).winner
    assert allowed is not None and not allowed.backends[0].hidden_by
