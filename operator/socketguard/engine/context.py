"""The shared, lazily computed view that every rule reads: contracts, routers, pairings and traces.

Each piece is computed at most once per analysis, so twenty rules cost one parse of the
annotations and one routing pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar, cast

from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.trace import Pairing, TraceSet, build_traces

if TYPE_CHECKING:
    from socketguard.engine.contract import ContractSet, EventSources
    from socketguard.engine.routing import Router

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")


class Context:
    """One analysis: the inventory and everything derived from it, each computed once, on first use.

    Cost to keep in mind: `contracts` only parses annotations, but `traces`, `servers`, `pairs`
    and `cap_inferred` run the routing pass (every router over every candidate rule and client),
    because zero-config servers are inferred from the routes that lead to them. A rule that only
    needs the annotated servers reads `contracts.servers`, which routes nothing.
    """

    def __init__(self, inventory: Inventory, event_sources: EventSources | None = None) -> None:
        self.inventory = inventory
        self.event_sources = event_sources
        self._ignored: dict[ObjectRef, frozenset[str]] = {}
        self._memo: dict[Callable[..., object], object] = {}

    @cached_property
    def contracts(self) -> ContractSet:
        from socketguard.engine.contract import read_contracts

        return read_contracts(self.inventory, self.event_sources)

    @cached_property
    def routers(self) -> tuple[Router, ...]:
        """Every registered router, built once over the inventory (see `routing/registry.py`)."""
        from socketguard.engine.routing.registry import build_routers

        return build_routers(self.inventory)

    def router(self, name: str) -> Router:
        """The registered router called `name` (`RouteHop.router`); KeyError for an unknown name."""
        for router in self.routers:
            if router.name == name:
                return router
        raise KeyError(name)

    def router_of(self, kind: type[R]) -> R | None:
        """The router of one class, for the rules that read that router's own objects; None when
        the inventory holds nothing that router routes from (see `routing/registry.py`)."""
        for router in self.routers:
            if isinstance(router, kind):
                return router
        return None

    def memo(self, compute: Callable[[Context], T]) -> T:
        """`compute(self)`, computed once per analysis; `compute` (a module-level function) is the key."""
        if compute not in self._memo:
            self._memo[compute] = compute(self)
        return cast(T, self._memo[compute])

    def memo_for(self, compute: Callable[[Context, K], T], key: K) -> T:
        """`compute(self, key)`, computed once per analysis and `key` (a namespace, say): for what
        a rule needs of some keys only, where computing it for all would waste the work."""
        by_key = cast(dict[K, T], self._memo.setdefault(compute, {}))
        if key not in by_key:
            by_key[key] = compute(self, key)
        return by_key[key]

    @property
    def servers(self) -> dict[ObjectRef, ServerSpec]:
        """Annotated and inferred servers by workload; runs the routing pass (see the class docstring)."""
        return self.traces.servers

    @property
    def clients(self) -> dict[ObjectRef, ClientSpec]:
        return self.contracts.clients

    @cached_property
    def traces(self) -> TraceSet:
        return build_traces(self.inventory, self.contracts, self.routers)

    @property
    def pairs(self) -> list[Pairing]:
        return self.traces.pairs

    def is_suppressed(self, finding: Finding) -> bool:
        codes = self._ignored.get(finding.subject)
        if codes is None:
            codes = self._ignored[finding.subject] = self.inventory.ignored_codes(finding.subject)
        return finding.code in codes

    def cap_inferred(self, finding: Finding) -> Finding:
        """Findings that rest on an inferred (zero-config) server are at most warnings."""
        if finding.severity <= Severity.WARNING:
            return finding
        inferred = self.traces.inferred
        if finding.subject in inferred or inferred.intersection(finding.related):
            return finding.with_severity(Severity.WARNING)
        return finding
