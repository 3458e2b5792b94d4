"""One handshake answered by both pictures, and the difference type the SG7xx rules report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.migration.implementations import Implementation
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Request, RouteHop, Router, RoutingResult
from socketguard.engine.routing.decide import unresolved_reason
from socketguard.engine.rules.base import Rule
from socketguard.engine.trace import route_anywhere

Side = Literal["before", "after"]


@dataclass(frozen=True)
class Picture:
    """One side of the comparison: its objects and its routers."""

    inventory: Inventory
    routers: tuple[Router, ...]

    def answer(self, request: Request) -> RoutingResult:
        return route_anywhere(self.routers, request)


@dataclass(frozen=True)
class Difference:
    """One aspect that changed: a coded finding, with both pictures' values in words."""

    aspect: str
    finding: Finding
    before: str
    after: str
    side: Side  # the picture whose object the finding is located in


class RoutePair:
    """A BEFORE handshake and both answers to it; the variants (plain HTTP, WebSocket) on demand."""

    def __init__(self, request: Request, before: Picture, after: Picture, implementation: Implementation,
                 client: ClientSpec | None = None, servers: Sequence[ServerSpec] = (),
                 origins: Sequence[str] = ()) -> None:
        self.request = request
        self.origins = tuple(origins)  # cross-origin pages that open this socket
        self.before = before
        self.after = after
        self.implementation = implementation
        self.client = client
        self.servers = tuple(servers)

    @cached_property
    def before_result(self) -> RoutingResult:
        return self.before.answer(self.request)

    @cached_property
    def after_result(self) -> RoutingResult:
        return self.after.answer(self.request)

    @property
    def before_hop(self) -> RouteHop | None:
        return self.before_result.winner

    @property
    def after_hop(self) -> RouteHop | None:
        return self.after_result.winner

    def after_variant(self, **changes: object) -> RoutingResult:
        """AFTER's answer to the handshake with some fields changed (`scheme="http", port=80`)."""
        return self.after.answer(replace(self.request, **changes))  # type: ignore[arg-type]

    @property
    def reaches(self) -> bool:
        """Whether BEFORE delivers the handshake at all (a route that never worked is not compared)."""
        hop = self.before_hop
        return hop is not None and hop.delivers and any(unresolved_reason(b) is None for b in hop.backends)

    def located(self, rule: Rule, message: str, *, aspect: str, before: str, after: str,
                fixes: Sequence[str] = (), severity: Severity | None = None,
                at: tuple[ObjectRef, FieldPath] | None = None) -> Difference:
        """A difference located at `at` (an AFTER object), else at AFTER's winning rule, else at BEFORE's."""
        subject, path, side = self.default_location() if at is None else (at[0], at[1], "after")
        related = [hop.route for hop in (self.before_hop, self.after_hop) if hop is not None]
        finding = rule.finding(subject, path, message, fixes=fixes, severity=severity, related=related)
        return Difference(aspect, finding, before, after, side)

    def default_location(self) -> tuple[ObjectRef, FieldPath, Side]:
        """AFTER's winning rule, else BEFORE's (nothing in AFTER handles the request)."""
        if self.after_hop is not None:
            return self.after_hop.route, self.after_hop.rule_path, "after"
        hop = self.before_hop
        assert hop is not None, "pairs are compared only when BEFORE routes the handshake"
        return hop.route, hop.rule_path, "before"
