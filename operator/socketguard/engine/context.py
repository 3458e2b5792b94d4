"""The shared, lazily computed view that every rule reads: contracts, pairings and traces.

Each piece is computed at most once per analysis, so twenty rules cost one parse of the
annotations and one routing pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

if TYPE_CHECKING:
    from socketguard.engine.contract import ContractSet, EventSources
    from socketguard.engine.trace import Trace, TraceSet

IGNORE_ANNOTATION = f"{ANNOTATION_PREFIX}ignore"


@dataclass(frozen=True)
class Pairing:
    """A client and one server its handshake reaches (by routing, or pinned by client-server)."""

    client: ClientSpec
    server: ServerSpec
    trace: Trace | None = None


class Context:
    def __init__(self, inventory: Inventory, event_sources: EventSources | None = None) -> None:
        self.inventory = inventory
        self.event_sources = event_sources
        self._ignored: dict[ObjectRef, frozenset[str]] = {}

    @cached_property
    def contracts(self) -> ContractSet:
        from socketguard.engine.contract import read_contracts

        return read_contracts(self.inventory, self.event_sources)

    @property
    def servers(self) -> dict[ObjectRef, ServerSpec]:
        """Annotated and inferred servers by workload."""
        return self.traces.servers

    @property
    def clients(self) -> dict[ObjectRef, ClientSpec]:
        return self.contracts.clients

    @cached_property
    def traces(self) -> TraceSet:
        from socketguard.engine.trace import build_traces

        return build_traces(self.inventory, self.contracts)

    @property
    def pairs(self) -> list[Pairing]:
        return self.traces.pairs

    def is_suppressed(self, finding: Finding) -> bool:
        codes = self._ignored.get(finding.subject)
        if codes is None:
            codes = self._ignored[finding.subject] = self.inventory.ignored_codes(finding.subject)
        return finding.code in codes

    def cap_inferred(self, finding: Finding) -> Finding:
        """Findings that rest on an inferred server are at most warnings (DESIGN: zero-config)."""
        if finding.severity <= Severity.WARNING:
            return finding
        inferred = self.traces.inferred
        if finding.subject in inferred or inferred.intersection(finding.related):
            return finding.with_severity(Severity.WARNING)
        return finding
