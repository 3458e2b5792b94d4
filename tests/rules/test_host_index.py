"""The host indexes the routers build once per analysis give the answers a scan of every object gives.

`HostIndex` is checked against the scan it replaces (the routers' own `host_matches`), and each
router's indexed lookup through the router itself: wildcard and case-insensitive hosts, a route
attached to two Gateways, and the order in which candidates come out.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st
from routing_kit import SERVICE
from routing_kit import inventory as read

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter
from socketguard.engine.routing.hosts import HostIndex, host_matches
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter
from socketguard.engine.routing.traefik import TraefikRouter
from socketguard.engine.routing.traefik_rules import fold_host
from socketguard.engine.routing.traefik_rules import host_matches as traefik_host_matches

LABELS = st.sampled_from(["a", "B", "chat", "example", "com", "*", ""])
PATTERNS = st.builds(lambda labels, dot: ".".join(labels) + dot,
                     st.lists(LABELS, min_size=1, max_size=4), st.sampled_from(["", "."]))
ENTRIES = st.lists(st.one_of(st.none(), st.lists(PATTERNS, max_size=3)), max_size=12)
HOSTS = st.builds(lambda labels, dot: ".".join(labels) + dot,
                  st.lists(st.sampled_from(["a", "b", "chat", "Chat", "example", "com", "x"]), min_size=1, max_size=4),
                  st.sampled_from(["", "."]))


def scanned(entries: list[list[str] | None], host: str, matches: Callable[[str, str], bool]) -> list[int]:
    """What the routers computed before the index: every entry, in order, one of whose patterns matches."""
    return [i for i, patterns in enumerate(entries) if patterns is None or any(matches(p, host) for p in patterns)]


@given(ENTRIES, st.lists(HOSTS, min_size=1, max_size=4))
def test_index_answers_as_the_gateway_api_scan(entries: list[list[str] | None], hosts: list[str]) -> None:
    index: HostIndex[int] = HostIndex()
    for position, patterns in enumerate(entries):
        index.add(position, patterns)
    for host in hosts:
        assert index.lookup(host) == scanned(entries, host, host_matches)


@given(ENTRIES, st.lists(HOSTS, min_size=1, max_size=4))
def test_index_answers_as_the_traefik_scan(entries: list[list[str] | None], hosts: list[str]) -> None:
    index: HostIndex[int] = HostIndex(traefik_host_matches, fold_host)
    for position, patterns in enumerate(entries):
        index.add(position, patterns)
    for host in hosts:
        assert index.lookup(host) == scanned(entries, host, traefik_host_matches)


def test_index_keeps_insertion_order_and_lists_an_item_once() -> None:
    index: HostIndex[str] = HostIndex()
    index.add("wildcard-first", ["*.example.com"])
    index.add("exact-twice", ["chat.example.com", "CHAT.example.com"])
    index.add("everywhere", None)
    index.add("other", ["other.example.com"])
    index.add("star", ["*"])
    assert index.lookup("Chat.Example.COM") == ["wildcard-first", "exact-twice", "everywhere", "star"]
    assert index.lookup("example.com") == ["everywhere", "star"]  # `*.example.com` needs a label before it
    index.add("late", ["chat.example.com"])  # an item added after a lookup is found by the next one
    assert index.lookup("chat.example.com")[-1] == "late"


def inventory(*documents: str) -> Inventory:
    return read("\n---\n".join(documents))


def gateway(name: str, listeners: str) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: web}}
spec:
  gatewayClassName: eg
  listeners: {listeners}
"""


def http_route(name: str, hostnames: str, parents: str, path: str = "/socket.io/") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: web}}
spec:
  parentRefs: {parents}
  hostnames: {hostnames}
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
    backendRefs: [{{name: chat, port: 80}}]
"""


def test_gateway_api_listeners_by_host_wildcard_and_case() -> None:
    router = GatewayAPIRouter(inventory(
        gateway("b-exact", "[{name: web, port: 80, protocol: HTTP, hostname: Chat.Example.com}]"),
        gateway("a-wild", "[{name: web, port: 80, protocol: HTTP, hostname: '*.example.com'},"
                          " {name: any, port: 8080, protocol: HTTP},"
                          " {name: tcp, port: 9000, protocol: TCP}]"),
    ))
    request = Request(host="chat.EXAMPLE.com", path="/socket.io/", scheme="http", port=80)
    assert [(ref.name, serves) for ref, serves in router.entrances(request)] == [("a-wild", True), ("b-exact", True)]
    other = Request(host="other.example.com", path="/socket.io/", scheme="http", port=80)
    assert [(ref.name, serves) for ref, serves in router.entrances(other)] == [("a-wild", True), ("b-exact", False)]
    apex = Request(host="example.com", path="/socket.io/", scheme="http", port=8080)
    assert [ref.name for ref, _ in router.entrances(apex, serving_only=True)] == ["a-wild"]  # hostname-less listener


def test_gateway_api_route_attached_to_two_gateways_answers_at_each() -> None:
    inv = inventory(
        SERVICE,
        gateway("public", "[{name: web, port: 80, protocol: HTTP, hostname: chat.example.com}]"),
        gateway("internal", "[{name: web, port: 80, protocol: HTTP}]"),
        http_route("both", "[Chat.Example.com]", "[{name: public}, {name: internal}]"),
        http_route("wild", "['*.example.com']", "[{name: public}]", path="/socket.io"),
    )
    router = GatewayAPIRouter(inv)
    for entrance in ("public", "internal"):
        pinned = Request(host="chat.example.com", path="/socket.io/", scheme="http", port=80,
                         entrance=ObjectRef("gateway.networking.k8s.io/v1", "Gateway", "web", entrance))
        hops = [hop.route.name for hop in router.route(pinned).hops]
        assert hops == (["both", "wild"] if entrance == "public" else ["both"])


def test_gateway_api_route_without_hostnames_takes_its_parent_listener_host() -> None:
    inv = inventory(
        SERVICE,
        gateway("a-first", "[{name: web, port: 80, protocol: HTTP, hostname: first.example.com}]"),
        gateway("b-named", "[{name: plain, port: 80, protocol: HTTP},"
                           " {name: web, port: 443, protocol: HTTPS, hostname: chat.example.com}]"),
        http_route("bare", "[]", "[{name: b-named}, {name: missing}]"),
    )
    [candidate] = GatewayAPIRouter(inv).candidates({})
    assert (candidate.request.host, candidate.request.scheme) == ("chat.example.com", "https")


def nginx_ingress(name: str, host: str, app_root: str) -> str:
    path = "{path: /socket.io/, pathType: Prefix, backend: {service: {name: chat, port: {number: 80}}}}"
    return (f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: web, "
            f"annotations: {{nginx.ingress.kubernetes.io/app-root: {app_root}}}}}\n"
            f"spec: {{ingressClassName: nginx, rules: [{{host: '{host}', http: {{paths: [{path}]}}}}]}}\n")


def test_nginx_server_takes_its_root_from_the_first_ingress_naming_the_host() -> None:
    """The controller orders Ingresses by `namespace/name` descending (no timestamps): `b` comes first."""
    router = IngressNginxRouter(inventory(
        SERVICE,
        nginx_ingress("a", "chat.example.com", "/from-a"),
        nginx_ingress("b", "CHAT.example.com", "/from-b"),
        nginx_ingress("c", "*.example.com", "/from-c"),
        nginx_ingress("d", "*.example.com", "/from-d"),
    ))

    def root_redirect(host: str) -> str | None:
        hop = router.route(Request(host=host, path="/", scheme="http", port=80)).winner
        return hop.redirect.location if hop is not None and hop.redirect is not None else None

    assert root_redirect("chat.example.com") == "http://chat.example.com/from-b"
    assert root_redirect("other.Example.com") == "http://other.Example.com/from-d"
    assert root_redirect("example.org") is None  # no server names it: the default server has no app-root


def ingress_route(name: str, match: str, priority: int = 100) -> str:
    return f"""
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: {name}, namespace: web}}
spec:
  routes:
  - match: {match}
    priority: {priority}
    kind: Rule
    services: [{{name: chat, port: 80}}]
"""


def test_traefik_routes_by_host_keep_their_order_for_equal_priorities() -> None:
    router = TraefikRouter(inventory(
        SERVICE,
        ingress_route("wild", "Host(`*.example.com`) && PathPrefix(`/socket.io/`)"),
        ingress_route("exact", "Host(`CHAT.example.com.`) || Host(`chat.example.com`)"),
        ingress_route("anyhost", "PathPrefix(`/`)"),
        ingress_route("elsewhere", "Host(`other.example.com`)"),
        ingress_route("deep", "Host(`*.example.com`)"),
    ))
    request = Request(host="Chat.Example.com.", path="/socket.io/", scheme="http", port=80)
    # the routes in inventory order (namespace, name), as the scan of every route gave them
    assert [hop.route.name for hop in router.route(request).hops] == ["anyhost", "deep", "exact", "wild"]
    apex = Request(host="example.com", path="/socket.io/", scheme="http", port=80)
    assert [hop.route.name for hop in router.route(apex).hops] == ["anyhost"]
