"""`compare(before, after)`: every Socket.IO handshake of BEFORE, answered by both pictures, aspect by aspect.

The handshakes are BEFORE's traces (each annotated client's, each socket route's own); each is
routed through AFTER with AFTER's routers (`trace.route_anywhere`, the answer `lint`, `route`
and `trace` give), and every SG7xx aspect module compares the two answers. AFTER's own socket
routes that BEFORE has no handshake for are listed as `added`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

from socketguard.engine.context import Context
from socketguard.engine.cors import is_cross_origin, page_origin
from socketguard.engine.findings import Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.migration.implementations import (
    SESSION_PERSISTENCE_CHANNEL,
    Implementation,
    detect,
    gateway_classes_of,
)
from socketguard.engine.migration.pair import Difference, Picture, RoutePair
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.trace import Trace

Verdict = Literal["same", "changed", "broken", "added", "removed"]
VERDICTS: tuple[Verdict, ...] = ("same", "changed", "broken", "added", "removed")


def _aspect_modules() -> tuple[ModuleType, ...]:
    """The rule modules that compare one aspect (they define `differences(pair)`), in code order."""
    import socketguard.engine.rules as package

    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__) if info.name.startswith("sg7"))
    modules = (importlib.import_module(f"{package.__name__}.{name}") for name in names)
    return tuple(module for module in modules if hasattr(module, "differences"))


ASPECT_RULES = _aspect_modules()


@dataclass(frozen=True)
class RouteComparison:
    request: Request
    trace: Trace | None  # BEFORE's trace (AFTER's for an added route)
    verdict: Verdict
    differences: tuple[Difference, ...] = ()

    @property
    def client(self) -> ObjectRef | None:
        return self.trace.client.workload if self.trace is not None and self.trace.client is not None else None


@dataclass
class Comparison:
    routes: list[RouteComparison] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    implementation: Implementation | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
        for route in self.routes:
            counts[route.verdict] += 1
        return counts

    def differences(self) -> Iterator[Difference]:
        for route in self.routes:
            yield from route.differences


def compare(before: Inventory, after: Inventory, *, implementation: str | None = None,
            gateway_classes: dict[str, str] | None = None) -> Comparison:
    """Every handshake of BEFORE routed through AFTER, with each aspect's differences.

    `implementation` (`--implementation`) names AFTER's Gateway API implementation; otherwise it
    is read from AFTER's GatewayClasses, or `gateway_classes` (name -> controllerName).
    """
    before_context, after_context = Context(before), Context(after)
    classes = {**dict(gateway_classes_of(before)), **(gateway_classes or {})}
    chosen, assumptions = detect(after, implementation, classes)
    pictures = Picture(before, before_context.routers), Picture(after, after_context.routers)
    result = Comparison(assumptions=assumptions, implementation=chosen)
    seen: set[tuple[object, str, str, str]] = set()
    origins = _page_origins(before_context)
    persistence = False
    traces = before_context.traces
    for trace in (*traces.client_traces(), *traces.route_traces()):
        key = _key(trace)
        if key in seen or (None, *key[1:]) in seen:
            continue  # a socket route's own handshake that a client already makes is compared once
        seen.update((key, (None, *key[1:])))
        client = trace.client
        page = page_origin(client) if client is not None and is_cross_origin(client) else None
        pair = RoutePair(trace.request, *pictures, chosen, client=client, servers=trace.servers,
                         origins=(page,) if page else origins.get(trace.request.host, ()))
        result.routes.append(_compared(pair, trace))
        persistence = persistence or _persists(pair)
    result.routes.extend(_added(after_context, {(k[1], k[2]) for k in seen}))
    if persistence:
        result.assumptions.append(f"sessionPersistence: the {SESSION_PERSISTENCE_CHANNEL}-channel CRDs are assumed "
                                  "(in v1.6 the standard CRDs prune the field on apply)")
    return result


def _key(trace: Trace) -> tuple[object, str, str, str]:
    client = trace.client.workload if trace.client is not None else None
    return (client, trace.request.host, trace.request.path, trace.request.scheme)


def _compared(pair: RoutePair, trace: Trace) -> RouteComparison:
    if not pair.reaches:
        return RouteComparison(pair.request, trace, "same")  # it never worked: lint says why
    found = tuple(d for module in ASPECT_RULES for d in _aspect(module)(pair))
    return RouteComparison(pair.request, trace, _verdict(pair, found), found)


def _aspect(module: ModuleType) -> Callable[[RoutePair], Iterable[Difference]]:
    function: Callable[[RoutePair], Iterable[Difference]] = module.differences
    return function


def _verdict(pair: RoutePair, found: tuple[Difference, ...]) -> Verdict:
    if not found:
        return "same"
    if pair.after_hop is None and not pair.after_result.host_routed:
        return "removed"
    return "broken" if any(d.finding.severity >= Severity.ERROR for d in found) else "changed"


def _page_origins(context: Context) -> dict[str, tuple[str, ...]]:
    """Cross-origin page origins per socket host, for handshakes traced from routes rather than clients."""
    found: dict[str, list[str]] = {}
    for trace in context.traces.client_traces():
        client = trace.client
        origin = page_origin(client) if client is not None and is_cross_origin(client) else None
        if origin is not None and origin not in found.setdefault(trace.request.host, []):
            found[trace.request.host].append(origin)
    return {host: tuple(origins) for host, origins in found.items()}


def _added(after: Context, known: set[tuple[str, str]]) -> Iterator[RouteComparison]:
    seen: set[tuple[str, str]] = set()
    for trace in after.traces.route_traces():
        key = (trace.request.host, trace.request.path)
        if key not in known and key not in seen:
            seen.add(key)
            yield RouteComparison(trace.request, trace, "added")


def _persists(pair: RoutePair) -> bool:
    hop = pair.after_hop
    return hop is not None and any(a.kind == "session-persistence" for b in hop.backends for a in b.affinity)
