"""A `/Socket.IO/` route is a socket route for every router, but each router matches it by its own
case rules: the default handshake `/socket.io/` misses a case-sensitive match, and the findings
say that letter case is the reason."""

from __future__ import annotations

import pytest
from routing_kit import CLIENT, ROUTE, SERVER, inventory, lint, of, world
from test_routing_rules_other_routers import HTTP_ROUTE, INGRESS, K8S_GATEWAY

from socketguard.engine.context import Context
from socketguard.engine.objects import ObjectRef

UNANNOTATED_SERVER = SERVER.replace("    socketguard.io/role: server\n    socketguard.io/port: http\n",
                                    "    team: chat\n")

ISTIO = ROUTE.replace("prefix: /socket.io/", "prefix: /Socket.IO/")
GATEWAY_API = HTTP_ROUTE.replace("value: /socket.io}", "value: /Socket.IO}")
NGINX = INGRESS.replace("path: /socket.io", "path: /Socket.IO")

ROUTERS = {
    "istio": (ISTIO, None, "VirtualService"),
    "gateway-api": (GATEWAY_API, K8S_GATEWAY, "HTTPRoute"),
    "ingress-nginx": (NGINX, "", "Ingress"),
}


def _is_route(ref: ObjectRef | None, router: str) -> bool:
    return ref is not None and (ref.kind, ref.namespace, ref.name) == (ROUTERS[router][2], "web", "chat")


def _world(router: str, *, client: str | None = CLIENT, server: str = SERVER, route: str | None = None) -> str:
    written, gateway, _ = ROUTERS[router]
    kept_gateway = world().split("\n---\n")[3] if gateway is None else gateway or None
    return world(client=client, server=server, gateway=kept_gateway, route=route or written)


@pytest.mark.parametrize("router", ROUTERS)
def test_a_capitalised_socket_route_is_recognised(router: str) -> None:
    text = _world(router, client=None, server=UNANNOTATED_SERVER)
    context = Context(inventory(text))
    [trace] = context.traces.route_traces()
    assert trace.origin is not None and _is_route(trace.origin.route, router)
    assert trace.request.path == "/Socket.IO/"
    # zero-config: the server behind a socket route is checked
    assert [(w.kind, w.name) for w in context.traces.inferred] == [("Deployment", "chat")]
    [finding] = of(lint(text), "SG102")
    assert "/Socket.IO differs from /socket.io only in letter case" in finding.message


@pytest.mark.parametrize("router", ROUTERS)
def test_the_default_handshake_misses_a_case_sensitive_match(router: str) -> None:
    findings = lint(_world(router))
    [missing] = of(findings, "SG101")
    assert (missing.subject.kind, missing.subject.name) == ("Deployment", "app")
    assert "/Socket.IO, which differs from the client's /socket.io only in letter case" in missing.message
    assert any(_is_route(ref, router) for ref in missing.related)
    assert "write /Socket.IO as /socket.io" in missing.fixes[0]


CASE_INSENSITIVE = {
    "istio": ISTIO.replace("    - uri: {prefix: /Socket.IO/}",
                           "    - uri: {prefix: /Socket.IO/}\n      ignoreUriCase: true"),
    "ingress-nginx": NGINX.replace("metadata: {name: chat, namespace: web}",
                                   "metadata:\n  name: chat\n  namespace: web\n"
                                   "  annotations: {nginx.ingress.kubernetes.io/use-regex: 'true'}"),
}


@pytest.mark.parametrize("router", CASE_INSENSITIVE)
def test_a_case_insensitive_match_takes_the_default_handshake(router: str) -> None:
    """Istio `ignoreUriCase`, nginx regex locations (`~*`)."""
    text = _world(router, route=CASE_INSENSITIVE[router])
    [client_trace] = Context(inventory(text)).traces.client_traces()
    assert client_trace.hop is not None and _is_route(client_trace.hop.route, router)
    assert lint(text) == []


def test_gateway_api_path_prefix_is_case_sensitive() -> None:
    [client_trace] = Context(inventory(_world("gateway-api"))).traces.client_traces()
    assert client_trace.routing.entrance is not None and client_trace.hop is None
