"""ingress-nginx cases the nginx oracle found the model getting wrong (tests/oracles/nginx, real nginx).

Each is the general case of one divergence class, with the smallest Ingress set that shows it.
"""

from __future__ import annotations

from typing import Any

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request, RouteHop
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter

HOST = "chat.test"


def ingress(name: str, *paths: tuple[str, str, str], timestamp: str | None = None,
            **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "web", "annotations": {
        "nginx.ingress.kubernetes.io/" + key.replace("_", "-"): value for key, value in annotations.items()}}
    if timestamp:
        metadata["creationTimestamp"] = timestamp
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata,
            "spec": {"ingressClassName": "nginx", "rules": [{"host": HOST, "http": {"paths": [
                {"path": path, "pathType": path_type, "backend": {"service": {"name": service, "port": {"number": 80}}}}
                for path_type, path, service in paths]}}]}}


def route(path: str, *ingresses: dict[str, Any]) -> RouteHop | None:
    inventory = Inventory()
    for service in ("chat", "app"):
        inventory.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": "web"},
                       "spec": {"selector": {"app": service}, "ports": [{"port": 80}]}})
    for document in ingresses:
        inventory.add(document)
    return IngressNginxRouter(inventory).route(Request(host=HOST, path=path, scheme="http", port=80)).winner


def service(hop: RouteHop | None) -> str | None:
    return hop.backends[0].host if hop and hop.backends else None


def test_in_regex_mode_an_exact_path_is_a_regex_tried_in_the_controller_order() -> None:
    # `~* "^/socket.io/?(.*)"` is longer, so it comes first and wins over the Exact path.
    hop = route("/socket.io/", ingress("a", ("Exact", "/socket.io/", "chat"),
                                      ("ImplementationSpecific", "/socket.io/?(.*)", "app"), use_regex="true"))
    assert service(hop) == "app"
    assert service(route("/ab/x", ingress("a", ("Exact", "/ab", "chat"), rewrite_target="/$1"))) == "chat"


def test_an_ingress_whose_paths_all_lost_to_an_earlier_one_does_not_turn_on_regex_mode() -> None:
    # Without timestamps the controller takes `web/b` before `web/a`; a's /A is a duplicate, so its
    # rewrite-target renders nowhere and /a stays a case-sensitive miss.
    hop = route("/a", ingress("b", ("Prefix", "/A", "chat")), ingress("a", ("Prefix", "/A", "app"), rewrite_target="/"))
    assert hop is None


def test_the_same_path_and_type_goes_to_the_first_ingress_by_timestamp_then_name_descending() -> None:
    assert service(route("/x", ingress("a", ("Exact", "/x", "chat")), ingress("b", ("Exact", "/x", "app")))) == "app"
    older = ingress("a", ("Exact", "/x", "chat"), timestamp="2024-01-01T00:00:00Z")
    newer = ingress("b", ("Exact", "/x", "app"), timestamp="2025-01-01T00:00:00Z")
    assert service(route("/x", older, newer)) == "chat"


def test_a_path_ending_in_a_slash_redirects_the_path_without_it() -> None:
    for path_type in ("Prefix", "Exact", "ImplementationSpecific"):
        hop = route("/socket.io", ingress("a", (path_type, "/socket.io/", "chat")))
        assert hop is not None and not hop.delivers and hop.redirect is not None, path_type
        assert (hop.redirect.status, hop.redirect.location) == (301, "http://chat.test/socket.io/?EIO=4&transport=polling")
    assert route("/socket.io", ingress("a", ("Prefix", "/socket.io", "chat")))  # `location = /socket.io` exists


def test_a_no_op_rewrite_on_an_unslashed_prefix_still_rewrites_its_slash_location() -> None:
    hop = route("/app/socket.io/", ingress("a", ("Prefix", "/app", "chat"), rewrite_target="/app"))
    assert hop is not None and hop.upstream_path == "/app"


def test_the_default_location_carries_the_first_ingress_s_rewrite_into_regex_mode() -> None:
    # b (first by name) has a no-op rewrite on its Exact path, but the host's `location /` gets the
    # rewrite too, and `/` differs from `/Socket.IO/`: every location becomes a case-insensitive regex.
    hop = route("/socket.io/", ingress("b", ("Exact", "/Socket.IO/", "chat"), rewrite_target="/Socket.IO/"))
    assert service(hop) == "chat"


def test_app_root_redirects_the_root_of_the_whole_host_only() -> None:
    # The host's `location /` carries the first Ingress's app-root: `/` is redirected even though no
    # path of that Ingress is `/`; other paths are routed as usual.
    first = ingress("b", ("Prefix", "/app", "chat"), app_root="/app")
    hop = route("/", first, ingress("a", ("Prefix", "/", "app")))
    assert hop is not None and hop.redirect is not None and not hop.delivers
    assert (hop.redirect.status, hop.redirect.location) == (302, "http://chat.test/app")
    assert service(route("/app/x", first)) == "chat"
    assert route("/", ingress("a", ("Prefix", "/app", "chat"), app_root="app")) is None  # not a path: ignored
