"""Istio routing semantics (as listed in engine/routing/istio.py), against small hand-written objects."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.hosts import in_cluster_service, service_of_host, visible
from socketguard.engine.routing.istio import IstioRouter

GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [chat.example.com]
    tls: {mode: SIMPLE, credentialName: chat-tls}
"""

BACKENDS = """
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
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: web}
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat, tier: socket}}
    spec: {containers: [{name: c, ports: [{containerPort: 3000}]}]}
"""


def inventory(*documents: str) -> Inventory:
    inv = Inventory()
    for text in documents:
        for doc in yaml.safe_load_all(textwrap.dedent(text)):
            if doc:
                inv.add(doc)
    return inv


def virtual_service(http: str, gateways: str = "[public]", hosts: str = "[chat.example.com]") -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: routes, namespace: web}}
spec:
  hosts: {hosts}
  gateways: {gateways}
  http:
{textwrap.indent(textwrap.dedent(http).strip(), "  ")}
"""


def route(inv: Inventory, path: str, **request: object) -> tuple[str | None, str | None]:
    """(winning rule path, upstream path) for a browser handshake at the public gateway."""
    result = IstioRouter(inv).route(Request(host=str(request.pop("host", "chat.example.com")), path=path,
                                            **request))  # type: ignore[arg-type]
    hop = result.winner
    return (hop.rule_path_text, hop.upstream_path) if hop else (None, None)


def test_prefix_is_a_plain_string_prefix() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - match: [{uri: {prefix: /socket.io}}]
          route: [{destination: {host: chat}}]
    """))
    assert route(inv, "/socket.io/")[0] == "spec.http[0]"
    assert route(inv, "/socket.iox/")[0] == "spec.http[0]"  # Istio prefix is not segment-wise
    assert route(inv, "/other/")[0] is None


def test_first_matching_rule_wins_in_order() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - match: [{uri: {prefix: /}}]
          route: [{destination: {host: app}}]
        - match: [{uri: {prefix: /socket.io/}}]
          route: [{destination: {host: chat}}]
    """))
    result = IstioRouter(inv).route(Request(host="chat.example.com", path="/socket.io/"))
    assert [h.rule_path_text for h in result.hops] == ["spec.http[0]", "spec.http[1]"]
    assert result.winner is not None and result.winner.backends[0].host == "app"


def test_exact_and_regex_match_whole_path() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service(r"""
        - match: [{uri: {exact: /socket.io}}]
          route: [{destination: {host: app}}]
        - match: [{uri: {regex: '/ws/socket\.io/.*'}}]
          route: [{destination: {host: chat}}]
    """))
    assert route(inv, "/socket.io/")[0] is None  # exact /socket.io never sees the handshake P/
    assert route(inv, "/socket.io")[0] == "spec.http[0]"
    assert route(inv, "/ws/socket.io/")[0] == "spec.http[1]"
    assert route(inv, "/x/ws/socket.io/")[0] is None  # RE2 full match, not search


def test_ignore_uri_case_applies_to_prefix() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - match: [{uri: {prefix: /Chat/Socket.IO/}, ignoreUriCase: true}]
          route: [{destination: {host: chat}}]
    """))
    assert route(inv, "/chat/socket.io/")[0] == "spec.http[0]"


@pytest.mark.parametrize(
    ("match", "rewrite", "request_path", "upstream"),
    [
        ("{prefix: /mageagent/socket.io/}", "{uri: /socket.io/}", "/mageagent/socket.io/", "/socket.io/"),
        ("{prefix: /mageagent/socket.io}", "{uri: /socket.io}", "/mageagent/socket.io/", "/socket.io/"),
        # the subtle one: the rewrite drops the trailing slash the server needs
        ("{prefix: /mageagent/socket.io/}", "{uri: /socket.io}", "/mageagent/socket.io/", "/socket.io"),
        ("{exact: /mageagent/socket.io/}", "{uri: /socket.io/}", "/mageagent/socket.io/", "/socket.io/"),
        ("{regex: '/mageagent/.*'}", "{uri: /socket.io/}", "/mageagent/socket.io/", "/socket.io/"),
        ("{regex: '/mageagent(/.*)'}", "{uriRegexRewrite: {match: '^/mageagent(/.*)$', rewrite: '\\1'}}",
         "/mageagent/socket.io/", "/socket.io/"),
    ],
)
def test_rewrite_semantics(match: str, rewrite: str, request_path: str, upstream: str) -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service(f"""
        - match: [{{uri: {match}}}]
          rewrite: {rewrite}
          route: [{{destination: {{host: chat}}}}]
    """))
    assert route(inv, request_path) == ("spec.http[0]", upstream)


def test_gateways_absent_means_mesh_only() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - route: [{destination: {host: chat}}]
    """, gateways="[]", hosts="[chat]"))
    router = IstioRouter(inv)
    mesh = router.route(Request(host="chat.web.svc.cluster.local", path="/socket.io/", via="mesh",
                                scheme="http", port=80, source_namespace="web"))
    assert mesh.winner is not None
    assert router.route(Request(host="chat.example.com", path="/socket.io/")).winner is None


def test_match_gateways_override_the_virtual_service_gateways() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - match: [{uri: {prefix: /socket.io/}, gateways: [mesh]}]
          route: [{destination: {host: app}}]
        - route: [{destination: {host: chat}}]
    """, gateways="[public, mesh]"))
    assert route(inv, "/socket.io/")[0] == "spec.http[1]"


def test_header_conditions_follow_the_transport() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - match: [{uri: {prefix: /socket.io/}, headers: {upgrade: {exact: websocket}}}]
          route: [{destination: {host: chat}}]
        - match: [{uri: {prefix: /socket.io/}, headers: {x-tenant: {exact: a}}}]
          route: [{destination: {host: app}}]
    """))
    assert route(inv, "/socket.io/", transport="polling")[0] is None  # no custom headers from a browser
    assert route(inv, "/socket.io/", transport="websocket")[0] == "spec.http[0]"


def test_backend_resolution_follows_service_to_workloads() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - route:
          - {destination: {host: chat}, weight: 90}
          - {destination: {host: chat.web}, weight: 10}
    """))
    hop = IstioRouter(inv).route(Request(host="chat.example.com", path="/socket.io/")).winner
    assert hop is not None
    main, literal = hop.backends
    assert main.service is not None and main.service.name == "chat" and main.weight == 90
    assert main.target_port == 3000 and [w.name for w in main.workloads] == ["chat"]
    assert literal.service is None  # `name.ns` is taken literally by Istio: no Service


def test_multi_port_service_needs_a_port() -> None:
    inv = inventory(GATEWAY, """
apiVersion: v1
kind: Service
metadata: {name: chat, namespace: web}
spec:
  selector: {app: chat}
  ports: [{name: http, port: 80}, {name: metrics, port: 9090}]
""", virtual_service("""
        - route: [{destination: {host: chat}}]
        - route: [{destination: {host: chat, port: {number: 9090}}}]
    """))
    router = IstioRouter(inv)
    unresolved = router.resolve_backend("chat", "web", ())
    assert unresolved.service is not None and unresolved.service_port is None
    assert router.resolve_backend("chat", "web", (), port=9090).target_port == 9090


def test_destination_rule_consistent_hash_gives_affinity() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - route: [{destination: {host: chat}}]
    """), """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: chat, namespace: web}
spec:
  host: chat.web.svc.cluster.local
  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: io, ttl: 0s}}}}
""")
    backend = IstioRouter(inv).resolve_backend("chat", "web", ())
    assert [a.kind for a in backend.affinity] == ["cookie"]


def test_export_to_dot_hides_the_route_from_other_namespaces() -> None:
    inv = inventory(GATEWAY.replace("namespace: web", "namespace: istio-system"), BACKENDS, """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: routes, namespace: web}
spec:
  hosts: [chat.example.com]
  gateways: [istio-system/public]
  exportTo: ["."]
  http:
  - route: [{destination: {host: chat}}]
""")
    result = IstioRouter(inv).route(Request(host="chat.example.com", path="/socket.io/"))
    assert result.winner is None
    assert [ref.name for ref, _ in result.hidden_routes] == ["routes"]


def test_host_helpers() -> None:
    assert service_of_host("chat", "web") == ("web", "chat")
    assert service_of_host("chat.other.svc.cluster.local", "web") == ("other", "chat")
    assert service_of_host("chat.other", "web") is None
    assert in_cluster_service("chat.other.svc", "web") == ("other", "chat")
    assert in_cluster_service("example.com", "web") is None
    assert visible(None, "a", "b") and visible(["*"], "a", "b")
    assert not visible(["."], "a", "b") and visible(["."], "a", "a") and visible(["b"], "a", "b")


def test_unweighted_destinations_beside_weighted_ones_get_no_traffic() -> None:
    inv = inventory(GATEWAY, BACKENDS, virtual_service("""
        - route:
          - {destination: {host: chat}, weight: 100}
          - {destination: {host: app}}
    """))
    hop = IstioRouter(inv).route(Request(host="chat.example.com", path="/socket.io/")).winner
    assert hop is not None and [b.weight for b in hop.backends] == [100, 0]


def test_a_short_host_name_means_the_namespace_of_its_object() -> None:
    """`host: chat` in a DestinationRule or a mesh VirtualService names the Service of its own
    namespace: the same short name in another namespace affects only that namespace's Service."""
    inv = inventory(BACKENDS, BACKENDS.replace("namespace: web", "namespace: other"))
    hashes = {"web": {"httpCookie": {"name": "io", "ttl": "0s"}}, "other": {"useSourceIp": True}}
    for namespace, hashed_by in hashes.items():
        metadata = {"name": "chat", "namespace": namespace}
        inv.add({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": metadata,
                 "spec": {"host": "chat", "trafficPolicy": {"loadBalancer": {"consistentHash": hashed_by}}}})
        inv.add({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": metadata,
                 "spec": {"hosts": ["chat"], "http": [{"match": [{"uri": {"prefix": f"/{namespace}/"}}],
                                                       "route": [{"destination": {"host": "chat"}}]}]}})
    router = IstioRouter(inv)
    assert [a.kind for a in router.resolve_backend("chat", "web", ()).affinity] == ["cookie"]
    assert [a.kind for a in router.resolve_backend("chat", "other", ()).affinity] == ["source-ip"]
    for namespace in ("web", "other"):
        result = router.route(Request(host=f"chat.{namespace}.svc.cluster.local", path=f"/{namespace}/socket.io/",
                                      scheme="http", port=80, via="mesh", source_namespace=namespace))
        assert result.winner is not None and result.winner.route.namespace == namespace
        assert [hop.route.namespace for hop in result.hops] == [namespace]
