"""The pure engine: Kubernetes objects (dicts) in, typed findings out; no I/O, no network.

The public surface is small and loaded lazily, so a command that needs one piece does not
build every model:

- ``analyze(inventory, scope=None, ...)``: every finding of every rule;
- ``Inventory``: the objects, indexed for routing;
- ``Finding``, ``Severity``: what ``analyze`` returns;
- ``all_rules()``: the rule catalog.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socketguard.engine.analysis import analyze, exit_code_for
    from socketguard.engine.findings import Finding, Severity
    from socketguard.engine.inventory import Inventory
    from socketguard.engine.rules.registry import all_rules

__all__ = ["Finding", "Inventory", "Severity", "all_rules", "analyze", "exit_code_for"]

_HOMES = {
    "analyze": "socketguard.engine.analysis",
    "exit_code_for": "socketguard.engine.analysis",
    "Finding": "socketguard.engine.findings",
    "Severity": "socketguard.engine.findings",
    "Inventory": "socketguard.engine.inventory",
    "all_rules": "socketguard.engine.rules.registry",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
