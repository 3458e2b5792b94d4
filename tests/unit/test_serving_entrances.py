"""`Router.entrances(request, serving_only=True)`: the entrances serving a host, found from the host.

A trace asks this for every client, so the routers answer it from their host index instead of
listing every Gateway; the answer must be exactly the serving part of the full listing, in the
same order.
"""

from __future__ import annotations

import pytest
import yaml

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Request, Router
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter
from socketguard.engine.routing.istio import IstioRouter

GATEWAYS = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: zeta, namespace: edge}
spec:
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["chat.example.com"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: alpha, namespace: edge}
spec:
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*.example.com"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other, namespace: edge}
spec:
  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["shop.example.org"]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: zeta, namespace: edge}
spec:
  gatewayClassName: any
  listeners: [{name: chat, hostname: chat.example.com, port: 443, protocol: HTTPS}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: alpha, namespace: edge}
spec:
  gatewayClassName: any
  listeners: [{name: any, port: 443, protocol: HTTPS}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: edge}
spec:
  gatewayClassName: any
  listeners: [{name: shop, hostname: shop.example.org, port: 443, protocol: HTTPS}]
"""


def routers() -> list[Router]:
    inventory = Inventory()
    for document in yaml.safe_load_all(GATEWAYS):
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
