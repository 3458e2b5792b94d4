"""Traefik: IngressRoutes with the v3 rule language and path-changing Middlewares, and Ingresses of
class `traefik`; every routing rule applies through them (issue 16's acceptance cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from routing_kit import CLIENT, SERVER, SERVICE, annotate, inventory, lint, of, where, world

from socketguard.cli.route import route_command
from socketguard.engine.routing import Request, RouteHop
from socketguard.engine.routing.traefik import TraefikRouter

INGRESS_ROUTE = """
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: chat, namespace: web}
spec:
  entryPoints: [websecure]
  routes:
  - match: Host(`chat.example.com`) && PathPrefix(`/socket.io/`)
    kind: Rule
    services:
    - {name: chat, port: 80}
  tls: {secretName: chat-tls}
"""

PREFIXED_ROUTE = INGRESS_ROUTE.replace("PathPrefix(`/socket.io/`)", "PathPrefix(`/chat/socket.io/`)").replace(
    "    services:", "    middlewares: [{name: strip}]\n    services:")


def middleware(spec: str, name: str = "strip") -> str:
    """A Middleware in namespace web with `spec` (one line of flow YAML)."""
    return f"""
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {{name: {name}, namespace: web}}
spec:
  {spec}
"""


def strip(prefix: str) -> str:
    return middleware(f"stripPrefix: {{prefixes: ['{prefix}']}}")


def winner(text: str, path: str, *, scheme: str = "https", port: int = 443) -> RouteHop | None:
    """The winning hop of the Traefik router for `path` on chat.example.com."""
    request = Request(host="chat.example.com", path=path, scheme=scheme, port=port)
    return TraefikRouter(inventory(text)).route(request).winner


def traefik_world(route: str = INGRESS_ROUTE, *, server: str = SERVER, service: str = SERVICE,
                  extra: tuple[str, ...] = ()) -> str:
    return world(gateway=None, route=route, server=server, service=service, extra=extra)


def test_ingress_route_topology_is_clean() -> None:
    assert lint(traefik_world()) == []


def test_strip_prefix_that_removes_the_socket_path_is_sg102() -> None:
    client = annotate(CLIENT, client_path="/chat/socket.io")
    findings = lint(world(client=client, gateway=None, route=PREFIXED_ROUTE, extra=[strip("/chat/socket.io")]))
    sg102 = of(findings, "SG102")
    assert sg102, findings
    assert where(sg102[0]) == ("IngressRoute", "web/chat", "spec.routes[0].middlewares[0]", "error")
    assert "as /" in sg102[0].message
    assert any("Middlewares on spec.routes[0]" in fix and "stripPrefix" in fix for fix in sg102[0].fixes)


def test_strip_prefix_that_keeps_the_socket_path_is_clean() -> None:
    client = annotate(CLIENT, client_path="/chat/socket.io")
    findings = lint(world(client=client, gateway=None, route=PREFIXED_ROUTE, extra=[strip("/chat")]))
    assert of(findings, "SG102") == []
    assert [f for f in findings if f.severity.label == "error"] == []


THREE_REPLICAS = SERVER.replace("spec:\n  selector:", "spec:\n  replicas: 3\n  selector:")
STICKY_ROUTE = INGRESS_ROUTE.replace("port: 80}", "port: 80, sticky: {cookie: {name: io}}}")


def test_three_replicas_without_sticky_cookie_is_sg301_with_a_traefik_fix() -> None:
    [finding] = of(lint(traefik_world(server=THREE_REPLICAS)), "SG301")
    assert "3 replicas" in finding.message
    assert any("sticky" in fix and "cookie" in fix and "spec.routes[0].services[0]" in fix for fix in finding.fixes)


def test_sticky_cookie_on_the_route_service_keeps_sessions() -> None:
    assert of(lint(traefik_world(STICKY_ROUTE, server=THREE_REPLICAS)), "SG301") == []


def test_native_lb_defeats_the_sticky_cookie() -> None:
    native = STICKY_ROUTE.replace("sticky: {cookie: {name: io}}", "nativeLB: true, sticky: {cookie: {name: io}}")
    [finding] = of(lint(traefik_world(native, server=THREE_REPLICAS)), "SG301")
    assert any("no `nativeLB: true`" in fix for fix in finding.fixes)


def test_path_prefix_is_a_string_prefix_with_a_note() -> None:
    route = INGRESS_ROUTE.replace("PathPrefix(`/socket.io/`)", "PathPrefix(`/socket.io`)")
    assert lint(traefik_world(route)) == []
    router = TraefikRouter(inventory(traefik_world(route)))
    result = router.route(Request(host="chat.example.com", path="/socket.iox"))
    assert result.winner is not None and result.winner.route.name == "chat"
    assert any("string prefix" in note and "/socket.iox" in note for note in result.winner.assumptions)


def test_legacy_group_is_read_the_same() -> None:
    legacy = INGRESS_ROUTE.replace("traefik.io/v1alpha1", "traefik.containo.us/v1alpha1")
    assert lint(traefik_world(legacy)) == []
    hop = TraefikRouter(inventory(traefik_world(legacy))).route(Request(host="chat.example.com",
                                                                        path="/socket.io/")).winner
    assert hop is not None and any("Traefik v2" in note for note in hop.assumptions)
    assert of(lint(traefik_world(legacy.replace("/socket.io/", "/sockets/"))), "SG101")


def test_a_longer_rule_wins_unless_priority_says_otherwise() -> None:
    catch_all = """
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: site, namespace: web}
spec:
  routes:
  - match: Host(`chat.example.com`) && PathPrefix(`/`) && !Header(`X-Debug`, `1`)
    services: [{name: chat, port: 80}]
"""
    router = TraefikRouter(inventory(traefik_world(extra=(catch_all,))))
    request = Request(host="chat.example.com", path="/socket.io/")
    assert [hop.route.name for hop in router.route(request).hops] == ["site", "chat"]
    prioritised = catch_all.replace("  - match:", "  - priority: 1\n    match:")
    router = TraefikRouter(inventory(traefik_world(extra=(prioritised,))))
    assert [hop.route.name for hop in router.route(request).hops] == ["chat", "site"]


@pytest.mark.parametrize(("spec", "arrives"), [
    ("stripPrefixRegex: {regex: ['/[a-z]+']}", "/socket.io/"),
    ("replacePath: {path: /socket.io/}", "/socket.io/"),
    ("replacePathRegex: {regex: '^/chat/(.*)', replacement: '/$1'}", "/socket.io/"),
    ("replacePathRegex: {regex: '^/chat/(.*)', replacement: '/$1x'}", "/"),
    ("addPrefix: {prefix: /api}", "/api/chat/socket.io/"),
])
def test_path_changing_middlewares(spec: str, arrives: str) -> None:
    hop = winner(traefik_world(PREFIXED_ROUTE, extra=(middleware(spec),)), "/chat/socket.io/")
    assert hop is not None and hop.upstream_path == arrives


def test_chain_and_redirect_scheme() -> None:
    chain = (middleware("chain: {middlewares: [{name: to-https}, {name: inner}]}"),
             middleware("stripPrefix: {prefixes: [/chat]}", "inner"),
             middleware("redirectScheme: {scheme: https, permanent: true}", "to-https"))
    text = traefik_world(PREFIXED_ROUTE, extra=chain)
    secure = winner(text, "/chat/socket.io/", scheme="https")
    assert secure is not None and secure.delivers and secure.upstream_path == "/socket.io/"
    plain = winner(text, "/chat/socket.io/", scheme="http", port=80)
    assert plain is not None and not plain.delivers and plain.redirect is not None
    assert (plain.redirect.status, plain.redirect.location) == (
        301, "https://chat.example.com/chat/socket.io/?EIO=4&transport=polling")


def test_a_missing_middleware_keeps_traefik_from_building_the_router() -> None:
    [finding] = of(lint(traefik_world(PREFIXED_ROUTE.replace("/chat/socket.io/", "/socket.io/"))), "SG115")
    assert where(finding) == ("IngressRoute", "web/chat", "spec.routes[0].middlewares[0]", "error")
    assert "Middleware web/strip does not exist" in finding.message


def test_a_rule_that_does_not_parse_matches_nothing() -> None:
    broken = INGRESS_ROUTE.replace("&& PathPrefix", "&& PathPrefx")
    [finding] = of(lint(traefik_world(broken)), "SG115")
    assert where(finding) == ("IngressRoute", "web/chat", "spec.routes[0].match", "error")
    assert "unknown matcher 'PathPrefx'" in finding.message


TRAEFIK_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: chat
  namespace: web
  annotations:
    traefik.ingress.kubernetes.io/router.tls: "true"
spec:
  ingressClassName: traefik
  rules:
  - host: chat.example.com
    http:
      paths:
      - path: /socket.io
        pathType: Prefix
        backend:
          service: {name: chat, port: {number: 80}}
"""


def test_ingress_of_class_traefik_is_modelled_not_sg114() -> None:
    findings = lint(traefik_world(TRAEFIK_INGRESS))
    assert findings == []
    router = TraefikRouter(inventory(traefik_world(TRAEFIK_INGRESS)))
    hop = router.route(Request(host="chat.example.com", path="/socket.iox")).winner
    assert hop is not None and 'PathPrefix("/socket.io")' in hop.match_text


def test_ingress_class_object_with_traefik_controller() -> None:
    ingress_class = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: edge}
spec: {controller: traefik.io/ingress-controller}
"""
    routed = traefik_world(TRAEFIK_INGRESS.replace("ingressClassName: traefik", "ingressClassName: edge"),
                           extra=(ingress_class,))
    assert lint(routed) == []
    assert TraefikRouter(inventory(routed)).route(Request(host="chat.example.com", path="/socket.io/")).hops


def test_strict_prefix_matching_flag_on_the_traefik_deployment() -> None:
    traefik = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: traefik, namespace: kube-system}
spec:
  selector: {matchLabels: {app: traefik}}
  template:
    metadata: {labels: {app: traefik}}
    spec:
      containers:
      - name: traefik
        args: [--providers.kubernetesingress.strictPrefixMatching=true]
"""
    request = Request(host="chat.example.com", path="/socket.iox")
    assert TraefikRouter(inventory(traefik_world(TRAEFIK_INGRESS))).route(request).hops
    assert not TraefikRouter(inventory(traefik_world(TRAEFIK_INGRESS, extra=(traefik,)))).route(request).hops


def test_ingress_middleware_annotation_and_service_sticky_annotation() -> None:
    ingress = TRAEFIK_INGRESS.replace(
        '    traefik.ingress.kubernetes.io/router.tls: "true"',
        '    traefik.ingress.kubernetes.io/router.tls: "true"\n'
        "    traefik.ingress.kubernetes.io/router.middlewares: web-strip@kubernetescrd").replace(
        "path: /socket.io", "path: /chat/socket.io")
    client = annotate(CLIENT, client_path="/chat/socket.io")
    sg102 = of(lint(world(client=client, gateway=None, route=ingress, extra=[strip("/chat/socket.io")])), "SG102")
    assert sg102 and sg102[0].field_path == (
        "metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']")
    annotated = "metadata:\n  name: chat\n  namespace: web\n  annotations:\n" \
                "    traefik.ingress.kubernetes.io/service.sticky.cookie: 'true'\n"
    sticky = SERVICE.replace("metadata: {name: chat, namespace: web}\n", annotated)
    assert of(lint(traefik_world(TRAEFIK_INGRESS, server=THREE_REPLICAS, service=sticky)), "SG301") == []
    native = SERVICE.replace("metadata: {name: chat, namespace: web}\n",
                             annotated + "    traefik.ingress.kubernetes.io/service.nativelb: 'true'\n")
    assert of(lint(traefik_world(TRAEFIK_INGRESS, server=THREE_REPLICAS, service=native)), "SG301")


def test_route_command_notes_the_string_prefix(tmp_path: Path) -> None:
    manifest = tmp_path / "route.yaml"
    manifest.write_text(traefik_world(INGRESS_ROUTE.replace("PathPrefix(`/socket.io/`)", "PathPrefix(`/socket.io`)")))
    result = CliRunner().invoke(route_command, ["https://chat.example.com/socket.iox/", str(manifest)])
    assert "traefik at IngressClass traefik: forward" in result.stdout
    assert "PathPrefix(`/socket.io`) is a string prefix: it also matches /socket.iox" in result.stdout



def test_a_traefik_service_backend_is_not_a_missing_route() -> None:
    weighted = INGRESS_ROUTE.replace("- {name: chat, port: 80}", "- {name: wrr, kind: TraefikService}")
    findings = lint(traefik_world(weighted))
    assert of(findings, "SG101") == []
    hop = winner(traefik_world(weighted), "/socket.io/")
    assert hop is not None and hop.delivers and hop.backends == ()
    assert "TraefikService wrr: its backends are not modelled" in hop.assumptions
