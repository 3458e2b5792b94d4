"""Which cluster state an inventory holds: the newest resourceVersion applied per watched kind.

Each kind has its own watch, and a watch delivers its kind's changes in resourceVersion order, so
the newest version applied for a kind names that kind's state exactly: every create, update and
delete up to it, nothing after it. The kinds' watches run independently (one may be a few events
behind another), so one number for the whole inventory would be wrong; one version per kind is
exact. The admission webhook attaches the vector to every decision (the audit annotation
`inventory-version` and its decision log line), so a decision can be audited and replayed offline
against the cluster state it was made on.

The text form is `Kind.group=version` pairs, sorted, joined with `,` (a core kind has no group):
`Deployment.apps=812,Namespace=640,Service=805,VirtualService.networking.istio.io=811`.

resourceVersions are numbers in every API server (etcd revisions), compared as numbers here; an
opaque one simply replaces the previous. Across a re-list (an expired watch, an API server
restart) the vector keeps the newest version seen, and objects the re-list sweeps away were
deleted at a version no event reported: the vector is exact again from the kind's next event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AUDIT_KEY = "inventory-version"
_PAIRS = ","
_EQUALS = "="


class KindVersions:
    """The newest resourceVersion applied per kind; `text` is cached until the next change."""

    def __init__(self) -> None:
        self._newest: dict[str, str] = {}
        self._text: str | None = ""

    def saw(self, body: Mapping[str, Any]) -> None:
        """Records the version of an object just applied to (or deleted from) the inventory."""
        metadata = body.get("metadata")
        version = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
        if not isinstance(version, str) or not version:
            return
        key = kind_key(body.get("apiVersion"), body.get("kind"))
        current = self._newest.get(key)
        if current is None or _newer(version, current):
            self._newest[key] = version
            self._text = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = format_versions(self._newest)
        return self._text

    def as_dict(self) -> dict[str, str]:
        return dict(self._newest)


def kind_key(api_version: Any, kind: Any) -> str:
    """`Deployment.apps`, `Service`: the kind with its group, as `kubectl` names a kind."""
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return f"{kind}.{group}" if group else str(kind)


def format_versions(versions: Mapping[str, str]) -> str:
    return _PAIRS.join(f"{key}{_EQUALS}{versions[key]}" for key in sorted(versions))


def parse_versions(text: str) -> dict[str, str]:
    """The vector of `format_versions` text; raises ValueError on anything else."""
    versions: dict[str, str] = {}
    for pair in filter(None, text.split(_PAIRS)):
        key, equals, version = pair.partition(_EQUALS)
        if not equals or not key or not version:
            raise ValueError(f"not a `Kind.group=version` pair: {pair!r}")
        versions[key] = version
    return versions


def _newer(version: str, current: str) -> bool:
    if version.isdigit() and current.isdigit():
        return int(version) > int(current)
    return True
