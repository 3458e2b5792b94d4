"""`socketguard lint --source TARGET=DIR`: bind a source tree to a workload of the linted manifests.

The tree is scanned (`socketguard contract scan`) and its events and rooms stand in for the
workload's event annotations; annotations that disagree with the code are reported as stale.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from socketguard.engine.contract import EventContract, EventSources, read_contracts
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import WORKLOAD_KINDS
from socketguard.engine.objects import ObjectRef


class SourceError(ValueError):
    """A binding that names no workload, or a tree that cannot be scanned."""


@dataclass(frozen=True)
class SourceBinding:
    """`--source TARGET=DIR`: the workload a source tree is scanned for."""

    target: str  # namespace/name, name (default namespace), `client` or `server`
    directory: Path

    @classmethod
    def parse(cls, text: str) -> SourceBinding:
        target, separator, directory = text.partition("=")
        if not separator or not target.strip() or not directory.strip():
            raise SourceError(f"{text!r}: expected NAMESPACE/NAME=DIR, client=DIR or server=DIR")
        path = Path(directory.strip())
        if not path.exists():
            raise SourceError(f"{text!r}: no such file or directory: {path}")
        return cls(target.strip(), path)


def resolve_sources(bindings: Sequence[SourceBinding], inventory: Inventory) -> EventSources:
    """Scans each bound tree and returns its events per (workload, side)."""
    if not bindings:
        return {}
    contracts = read_contracts(inventory)
    found: dict[tuple[ObjectRef, str], EventContract] = {}
    for binding in bindings:
        workload = _workload(binding.target, inventory, contracts.servers.keys(), contracts.clients.keys())
        is_server, is_client = workload in contracts.servers, workload in contracts.clients
        role = "server,client" if is_server and is_client else "client" if is_client else "server"
        for side, events in _scan(binding.directory, role).items():
            found[(workload, side)] = events
    return found


def _workload(target: str, inventory: Inventory, servers: Collection[ObjectRef],
              clients: Collection[ObjectRef]) -> ObjectRef:
    if target in ("client", "server"):
        candidates = sorted(clients if target == "client" else servers)
        if len(candidates) != 1:
            names = ", ".join(str(ref) for ref in candidates) or "none"
            raise SourceError(f"`{target}=DIR` needs exactly one {target} workload in the manifests "
                              f"(found {names}); name it as NAMESPACE/NAME=DIR")
        return candidates[0]
    namespace, _, name = target.rpartition("/")
    namespace = namespace or inventory.default_namespace
    for kind in sorted(WORKLOAD_KINDS):
        workload = inventory.workload(kind, namespace, name)
        if workload is not None:
            return inventory.ref_of(workload)
    raise SourceError(f"--source {target}: no Deployment, StatefulSet or DaemonSet {namespace}/{name} "
                      "in the manifests")


def _scan(directory: Path, role: str) -> dict[str, EventContract]:
    try:
        from socketguard.inputs.scan.collect import ScanConfig
        from socketguard.inputs.scan.events import RoleChoice, events_from_scan, split_by_role
        from socketguard.inputs.scan.source import scan_paths
    except ImportError as error:
        raise SourceError(f"--source needs tree-sitter ({error.name} is missing): "
                          "pip install 'socketguard[scan]'") from None
    result = scan_paths([directory], ScanConfig())
    if result.errors:
        first = result.errors[0]
        raise SourceError(f"--source {directory}: {first.location}: {first.message}")
    sides = split_by_role(result, None if role == "server,client" else cast(RoleChoice, role))
    return {side: events_from_scan(part, side) for side, part in sides.items()}
