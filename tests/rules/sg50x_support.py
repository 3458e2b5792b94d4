"""Hand-built pairings for the SG5xx rule tests: the checkers read only the pairings of `ctx.traces`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from socketguard.engine.context import Context
from socketguard.engine.contract import ClientSpec, EventContract, ServerSpec
from socketguard.engine.findings import Finding
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Rule
from socketguard.engine.trace import Pairing, TraceSet


@dataclass
class PairsOnly:
    traces: TraceSet = field(default_factory=TraceSet)


def ref(name: str) -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", "web", name)


def server(name: str, **events: Any) -> ServerSpec:
    return ServerSpec(workload=ref(name), inferred=False, events=EventContract(**events))


def client(name: str, **events: Any) -> ClientSpec:
    return ClientSpec(workload=ref(name), events=EventContract(**events))


def run(rule: Rule, *pairs: tuple[ClientSpec, ServerSpec]) -> list[Finding]:
    assert rule.check is not None
    context = PairsOnly(TraceSet(pairs=[Pairing(c, s) for c, s in pairs]))
    return list(rule.check(cast(Context, context)))


def events(*names: str) -> frozenset[str]:
    return frozenset(names)
