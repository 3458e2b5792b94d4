"""The routers SocketGuard models, in the order a client request asks them.

Adding a router is its module (a class implementing `Router`, built from an `Inventory`) and one
line in `_FACTORIES`. The trace builder asks them about a client's request in this order: the first
router asked answers a request that nobody routes.
"""

from __future__ import annotations

from collections.abc import Callable

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Router
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter
from socketguard.engine.routing.istio import IstioRouter
from socketguard.engine.routing.traefik import TraefikRouter

RouterFactory = Callable[[Inventory], Router]

_FACTORIES: list[RouterFactory] = [
    IstioRouter,
    GatewayAPIRouter,
    IngressNginxRouter,
    TraefikRouter,
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
    """One instance of every registered router over `inventory`."""
    routers = tuple(factory(inventory) for factory in _FACTORIES)
    names = [router.name for router in routers]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"routers registered twice under one name: {', '.join(duplicated)}")
    return routers

