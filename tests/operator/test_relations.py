from __future__ import annotations

from typing import Any

from sg_objects import gateway, route, server, service

from socketguard.controller.relations import Relations
from socketguard.engine.objects import ObjectRef


def relations_of(*objects: dict[str, Any]) -> Relations:
    relations = Relations()
    for obj in objects:
        relations.update(ObjectRef.of(obj), obj)
    return relations


def refs(*objects: dict[str, Any]) -> set[ObjectRef]:
    return {ObjectRef.of(o) for o in objects}


def test_a_pair_is_its_own_part_and_other_pairs_are_untouched() -> None:
    a = [server("a"), service("a"), route("a")]
    b = [server("b"), service("b"), route("b")]
    relations = relations_of(*a, *b)
    for obj in a:
        assert relations.affected([ObjectRef.of(obj)]) == refs(*a)


def test_a_service_joins_routes_and_the_workloads_it_selects() -> None:
    relations = relations_of(server("a"), route("a", backend="a-svc"), service("a-svc", app="a"), server("x"))
    assert relations.affected([ObjectRef.of(service("a-svc", app="a"))]) == refs(
        server("a"), route("a", backend="a-svc"), service("a-svc", app="a"))


def test_routes_sharing_a_host_are_evaluated_together() -> None:
    first, second = route("one", host="app.example.com"), route("two", host="app.example.com", prefix="/")
    relations = relations_of(first, second, route("three", host="other.example.com"))
    assert relations.affected([ObjectRef.of(first)]) == refs(first, second)


def test_a_gateway_is_context_unless_it_changed() -> None:
    gw = gateway("gw")
    one = route("one", host="one.example.com", gateway="gw")
    two = route("two", host="two.example.com", gateway="gw")
    relations = relations_of(gw, one, two)
    assert relations.affected([ObjectRef.of(one)]) == refs(one, gw)
    assert relations.affected([ObjectRef.of(gw)]) == refs(gw, one, two)


def test_a_client_reaches_the_routes_of_its_host() -> None:
    client = server("page")
    client["metadata"]["annotations"] = {"socketguard.io/role": "client",
                                         "socketguard.io/client-url": "https://app.example.com"}
    vs = route("web", host="app.example.com")
    relations = relations_of(client, vs, route("else", host="else.example.com"))
    assert relations.affected([ObjectRef.of(client)]) == refs(client, vs)
    assert ObjectRef.of(client) in relations.affected([ObjectRef.of(vs)])


def test_removed_objects_leave_the_indexes() -> None:
    relations = relations_of(server("a"), service("a"))
    relations.update(ObjectRef.of(service("a")), None)
    assert relations.affected([ObjectRef.of(server("a"))]) == refs(server("a"))


def _http_route(name: str, host: str, backend: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"parentRefs": [{"name": "public"}], "hostnames": [host],
                     "rules": [{"backendRefs": [{"name": backend, "port": 80}]}]}}


def _ingress(name: str, host: str, backend: str, namespace: str) -> dict[str, Any]:
    path = {"path": "/socket.io", "pathType": "Prefix",
            "backend": {"service": {"name": backend, "port": {"number": 80}}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": namespace},
            "spec": {"rules": [{"host": host, "http": {"paths": [path]}}]}}


def test_http_routes_and_ingresses_join_their_services_workloads_and_host() -> None:
    svc = service("a-svc", app="a")
    namespace = svc["metadata"]["namespace"]
    http_route = _http_route("web", "chat.example.com", "a-svc", namespace)
    ingress = _ingress("legacy", "chat.example.com", "a-svc", namespace)
    relations = relations_of(server("a"), svc, http_route, ingress, server("x"))
    assert relations.affected([ObjectRef.of(http_route)]) == refs(server("a"), svc, http_route, ingress)
    assert ObjectRef.of(http_route) in relations.affected([ObjectRef.of(svc)])


def test_a_client_known_by_its_page_origin_reaches_the_routes_of_its_host() -> None:
    client = server("page", ns="frontend")
    client["metadata"]["annotations"] = {"socketguard.io/role": "client",
                                         "socketguard.io/client-origin": "https://app.example.com"}
    vs = route("web", host="app.example.com")
    relations = relations_of(client, vs, route("else", host="else.example.com"))
    assert relations.affected([ObjectRef.of(vs)]) == refs(client, vs)


def test_a_route_reaches_the_service_it_mirrors_to_and_its_workloads() -> None:
    vs = route("web", host="app.example.com", backend="live")
    vs["spec"]["http"][0]["mirror"] = {"host": "shadow"}
    relations = relations_of(vs, service("shadow"), server("shadow"), service("live"))
    assert relations.affected([ObjectRef.of(vs)]) == refs(vs, service("shadow"), server("shadow"), service("live"))


def test_an_object_the_engine_would_reject_still_routes_its_changes() -> None:
    vs = route("web", host="app.example.com")
    vs["spec"]["http"][0]["timeout"] = ["not", "a", "duration"]
    relations = relations_of(vs, service("web"))
    assert relations.affected([ObjectRef.of(vs)]) == refs(vs, service("web"))
def _ingress_route(name: str, host: str, backend: str, middleware: str | None = None) -> dict[str, Any]:
    route_spec: dict[str, Any] = {"match": f"Host(`{host}`) && PathPrefix(`/socket.io/`)",
                                  "services": [{"name": backend, "port": 80}]}
    if middleware:
        route_spec["middlewares"] = [{"name": middleware}]
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
            "metadata": {"name": name, "namespace": "demo"}, "spec": {"routes": [route_spec]}}


def test_an_ingress_route_joins_its_services_middlewares_and_host() -> None:
    strip = {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
             "metadata": {"name": "strip", "namespace": "demo"}, "spec": {"stripPrefix": {"prefixes": ["/a"]}}}
    ingress_route = _ingress_route("a", "app.example.com", "a-svc", middleware="strip")
    same_host = route("vs", host="app.example.com")
    objects = [server("a"), service("a-svc", app="a"), ingress_route, strip, same_host, server("x")]
    relations = relations_of(*objects)
    assert relations.affected([ObjectRef.of(ingress_route)]) == refs(*objects[:-1])
    assert ObjectRef.of(ingress_route) in relations.affected([ObjectRef.of(strip)])
