"""The operator's tunables, shared by the loop and the stages it drives."""

from __future__ import annotations

from dataclasses import dataclass

from socketguard.engine.objects import ObjectRef


@dataclass(frozen=True)
class Settings:
    debounce: float = 0.3
    max_delay: float = 2.0
    report_interval: float = 1.0
    namespaces: frozenset[str] = frozenset()  # empty: all

    def in_scope(self, ref: ObjectRef) -> bool:
        """Whether the operator may write to `ref` (`--namespace` limits watching and writing)."""
        return not self.namespaces or ref.namespace in self.namespaces
