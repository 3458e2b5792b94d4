"""`Router.entrances(request, serving_only=True)`: the entrances serving a host, found from the host.

A trace asks this for every client, so the routers answer it from their host index instead of
listing every Gateway; the answer must be exactly the serving part of the full listing, in the
same order.
"""

from __future__ import annotations

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Request, Router
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter
from socketguard.engine.routing.istio import IstioRouter


def istio_gateway(name: str, host: str) -> dict[str, object]:
    server = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": [host]}
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": "edge"}, "spec": {"servers": [server]}}


def gateway_api_gateway(name: str, hostname: str | None) -> dict[str, object]:
    listener = {"name": "https", "port": 443, "protocol": "HTTPS", **({"hostname": hostname} if hostname else {})}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": "edge"},
            "spec": {"gatewayClassName": "any", "listeners": [listener]}}


GATEWAYS = [
    istio_gateway("zeta", "chat.example.com"), istio_gateway("alpha", "*.example.com"),
    istio_gateway("other", "shop.example.org"),
    gateway_api_gateway("zeta", "chat.example.com"), gateway_api_gateway("alpha", None),
    gateway_api_gateway("other", "shop.example.org"),
]


def routers() -> list[Router]:
    inventory = Inventory()
    for document in GATEWAYS:
        inventory.add(document)
    return [IstioRouter(inventory), GatewayAPIRouter(inventory)]


def names(entrances: list[ObjectRef]) -> list[str]:
    return [ref.name for ref in entrances]


# Istio's `alpha` serves *.example.com; the Gateway API's `alpha` listener has no hostname: every host.
@pytest.mark.parametrize(("host", "port", "serving"), [
    ("chat.example.com", 443, {"istio": ["alpha", "zeta"], "gateway-api": ["alpha", "zeta"]}),
    ("shop.example.org", 443, {"istio": ["other"], "gateway-api": ["alpha", "other"]}),
    ("chat.example.com", 80, {"istio": [], "gateway-api": []}),
])
def test_serving_only_is_the_serving_part_of_the_full_listing(host: str, port: int,
                                                              serving: dict[str, list[str]]) -> None:
    request = Request(host=host, path="/socket.io/", port=port)
    for router in routers():
        listing = list(router.entrances(request))
        assert len(listing) == 3, router.name  # every Gateway, serving or not
        only = list(router.entrances(request, serving_only=True))
        assert only == [(ref, True) for ref, serves in listing if serves], router.name
        assert names([ref for ref, _ in only]) == serving[router.name], router.name
