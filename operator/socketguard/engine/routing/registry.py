"""The routers SocketGuard models, in the order a client request asks them.

Adding a router is its module (a class implementing `Router`, built from an `Inventory`) and one
line in `_FACTORIES`. The trace builder asks them about a client's request in this order: the first
router asked answers a request that nobody routes.

Istio's router is always built (it answers first, and for mesh traffic). The others are loaded and
built only over an inventory that holds the objects they route from: without them a router has no
entrance, no rule and no candidate, so it answers nothing and leaving it out changes no answer,
while a lint of an Istio-only directory loads no ingress-nginx, Gateway API or Traefik code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from socketguard.engine.inventory import Inventory
from socketguard.engine.models import GATEWAY_API_GROUP, TRAEFIK_GROUPS
from socketguard.engine.routing import Router
from socketguard.engine.routing.istio import IstioRouter

# A router over the inventory, or None when the inventory holds nothing it routes from.
RouterFactory = Callable[[Inventory], Router | None]
GroupKind = tuple[str, str]
# What the deferred routers route from (rules that read one router's objects ask the same).
INGRESS: GroupKind = ("networking.k8s.io", "Ingress")
GATEWAY_API_ROUTES: tuple[GroupKind, ...] = ((GATEWAY_API_GROUP, "Gateway"), (GATEWAY_API_GROUP, "HTTPRoute"))
TRAEFIK_ROUTES: tuple[GroupKind, ...] = (INGRESS, *((group, "IngressRoute") for group in TRAEFIK_GROUPS))


def _when_present(module: str, name: str, *routes_from: GroupKind) -> RouterFactory:
    """The router class `module.name`, loaded and built when one of these kinds is in the inventory."""

    def build(inventory: Inventory) -> Router | None:
        if not any(inventory.has_kind(group, kind) for group, kind in routes_from):
            return None
        router: Router = getattr(importlib.import_module(module), name)(inventory)
        return router

    return build


_FACTORIES: list[RouterFactory] = [
    IstioRouter,
    _when_present("socketguard.engine.routing.gatewayapi", "GatewayAPIRouter", *GATEWAY_API_ROUTES),
    _when_present("socketguard.engine.routing.ingress_nginx", "IngressNginxRouter", INGRESS),
    _when_present("socketguard.engine.routing.traefik", "TraefikRouter", *TRAEFIK_ROUTES),
]


def router_factories() -> tuple[RouterFactory, ...]:
    return tuple(_FACTORIES)


def register(factory: RouterFactory) -> None:
    """Adds a router after the built-in ones (for routers that live outside this package, and tests)."""
    if factory not in _FACTORIES:
        _FACTORIES.append(factory)


def unregister(factory: RouterFactory) -> None:
    if factory in _FACTORIES:
        _FACTORIES.remove(factory)


def build_routers(inventory: Inventory) -> tuple[Router, ...]:
    """One instance of every registered router over `inventory` that has something to route."""
    routers = tuple(router for factory in _FACTORIES if (router := factory(inventory)) is not None)
    names = [router.name for router in routers]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"routers registered twice under one name: {', '.join(duplicated)}")
    return routers

