"""The relation model: one edge function per kind, read from raw objects, never raising."""

from __future__ import annotations

from typing import Any

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.relations import EDGES, ROLES, links_of

GARBAGE: list[Any] = [None, 3, "text", [], [None, 1, "x"], {"hosts": None, "http": [None, {"route": 5}]},
                      {"rules": [{"host": 7, "http": {"paths": [None, {"backend": []}]}}], "defaultBackend": None},
                      {"selector": [], "template": "x", "servers": [{"hosts": [None]}], "listeners": [{}]},
                      {"from": [{"namespace": None}], "scaleTargetRef": {"kind": 1}, "host": ["x"]}]


def _api_version(group: str) -> str:
    return f"{group}/v1" if group else "v1"


@pytest.mark.parametrize(("group", "kind"), sorted(EDGES))
@pytest.mark.parametrize("spec", GARBAGE)
def test_an_edge_function_reads_any_shape_without_raising(group: str, kind: str, spec: Any) -> None:
    ref = ObjectRef(_api_version(group), kind, "ns", "name")
    raw = {"apiVersion": ref.api_version, "kind": kind, "metadata": {"name": "name", "annotations": spec},
           "spec": spec}
    assert isinstance(links_of(ref, raw), tuple)


def test_every_kind_with_edges_has_a_role() -> None:
    assert set(EDGES) == set(ROLES)


def _obj(api_version: str, kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_routes_for_host_covers_every_router_kind_and_wildcards_both_ways() -> None:
    inventory = Inventory()
    inventory.add(_obj("networking.istio.io/v1", "VirtualService", "vs", "a", {"hosts": ["*.example.com"]}))
    inventory.add(_obj("gateway.networking.k8s.io/v1", "HTTPRoute", "hr", "b", {"hostnames": ["chat.example.com"]}))
    inventory.add(_obj("networking.k8s.io/v1", "Ingress", "catch-all", "c",
                       {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}))
    inventory.add(_obj("networking.k8s.io/v1", "Ingress", "other", "c", {"rules": [{"host": "other.org"}]}))
    assert {ref.name for ref in inventory.routes_for_host("chat.example.com")} == {"vs", "hr", "catch-all"}
    assert {ref.name for ref in inventory.routes_for_host("*.example.com")} == {"vs", "hr", "catch-all"}
    assert {ref.name for ref in inventory.routes_for_host("other.org")} == {"catch-all", "other"}


def test_mirrors_and_hosts_that_name_a_service_relate_the_route_to_it() -> None:
    inventory = Inventory()
    inventory.add(_obj("v1", "Service", "shadow", "a", {"selector": {"app": "shadow"}}))
    inventory.add(_obj("networking.istio.io/v1", "VirtualService", "vs", "a", {
        "hosts": ["app.example.com"], "http": [{"route": [{"destination": {"host": "web"}}],
                                                 "mirror": {"host": "shadow"}}]}))
    service = ObjectRef("v1", "Service", "a", "shadow")
    assert [vs.metadata.name for vs in inventory.virtual_services_to("a", "shadow")] == ["vs"]
    assert ObjectRef("networking.istio.io/v1", "VirtualService", "a", "vs") in inventory.related(service)


def test_a_page_origin_makes_a_client_of_its_host() -> None:
    inventory = Inventory()
    inventory.add({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "portal", "namespace": "web", "annotations": {
                       "socketguard.io/role": "client", "socketguard.io/client-url": "/",
                       "socketguard.io/client-origin": "https://Chat.Example.com"}},
                   "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}})
    assert [w.metadata.name for w in inventory.clients_of_host("chat.example.com")] == ["portal"]


def test_rollouts_relate_to_their_services_workload_ref_and_scalers() -> None:
    inventory = Inventory()
    inventory.add(_obj("apps/v1", "Deployment", "chat", "web", {"template": {"metadata": {"labels": {"app": "chat"}}}}))
    inventory.add(_obj("argoproj.io/v1alpha1", "Rollout", "chat", "web", {"workloadRef": {"name": "chat"}}))
    inventory.add(_obj("argoproj.io/v1alpha1", "Rollout", "api", "web",
                       {"template": {"metadata": {"labels": {"app": "api"}}}}))
    inventory.add(_obj("v1", "Service", "api", "web", {"selector": {"app": "api", "rollouts-pod-template-hash": "6d"}}))
    inventory.add(_obj("keda.sh/v1alpha1", "ScaledObject", "chat", "web", {"scaleTargetRef": {"name": "chat"}}))
    deployment = ObjectRef("apps/v1", "Deployment", "web", "chat")
    rollout = ObjectRef("argoproj.io/v1alpha1", "Rollout", "web", "chat")
    assert deployment in inventory.related(rollout)
    assert ObjectRef("keda.sh/v1alpha1", "ScaledObject", "web", "chat") in inventory.related(deployment)
    assert ObjectRef("argoproj.io/v1alpha1", "Rollout", "web", "api") in inventory.related(
        ObjectRef("v1", "Service", "web", "api"))


def test_an_ingress_class_relates_to_the_ingresses_that_name_it() -> None:
    inventory = Inventory()
    inventory.add({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "edge"},
                   "spec": {"controller": "traefik.io/ingress-controller"}})
    for name, class_name in (("chat", "edge"), ("web", "nginx")):
        inventory.add(_obj("networking.k8s.io/v1", "Ingress", name, "a", {"ingressClassName": class_name}))
    related = inventory.related(ObjectRef("networking.k8s.io/v1", "IngressClass", "", "edge"))
    assert ObjectRef("networking.k8s.io/v1", "Ingress", "a", "chat") in related
    assert ObjectRef("networking.k8s.io/v1", "Ingress", "a", "web") not in related
