"""SocketGuard: keeps Socket.IO and WebSocket routes on Kubernetes honest.

Layers, each importing only those below it:

- ``engine``: pure (dicts in, typed findings out): inventory, contracts, routers, traces, rules;
- ``inputs`` (files and source code in) and ``report`` (text, JSON, SARIF, traces, docs out);
- ``cluster``: the watch and API plumbing that the operator and the webhook share;
- front-ends: ``cli``, ``controller`` (the operator), ``webhook``, ``probe``.

The names below are loaded on first use, so ``import socketguard`` costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socketguard.engine import Finding, Inventory, Severity, all_rules, analyze

__version__ = "0.1.0"
ANNOTATION_PREFIX = "socketguard.io/"

__all__ = ["ANNOTATION_PREFIX", "Finding", "Inventory", "Severity", "__version__", "all_rules", "analyze"]


def __getattr__(name: str) -> Any:
    if name in {"Finding", "Inventory", "Severity", "all_rules", "analyze"}:
        from socketguard import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
