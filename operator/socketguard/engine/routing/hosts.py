"""Host names as Istio and Kubernetes resolve them (short names, FQDNs, wildcards)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

CLUSTER_SUFFIX = ".svc.cluster.local"


def host_matches(pattern: str, host: str) -> bool:
    """`*` matches everything, `*.example.com` any subdomain; otherwise case-insensitive equality."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _lower(host: str) -> str:
    return host.lower()


class HostIndex(Generic[T]):
    """Items by the host patterns that admit them: `lookup(host)` is every item one of whose patterns
    `matches` the host, in the order the items were added (each once), as a scan of them all would give.

    Routers ask it once per request, and a scan of every route per request is quadratic in a large
    repository. `fold` normalises a host as `matches` compares it (lower case; Traefik also drops a
    trailing dot); a pattern that is not `*` and starts with no `*` matches only its folded self, so
    those sit in a dict; `*` (and an item added with no patterns) admits every host; the other
    wildcards, usually few, are tried with `matches` itself.
    """

    def __init__(self, matches: Callable[[str, str], bool] = host_matches, fold: Callable[[str], str] = _lower) -> None:
        self._matches = matches
        self._fold = fold
        self._items: list[T] = []
        self._exact: dict[str, list[int]] = {}
        self._wildcards: list[tuple[str, int]] = []
        self._everywhere: list[int] = []
        self._found: dict[str, list[T]] = {}

    def add(self, item: T, patterns: Iterable[str] | None) -> None:
        """`item` served on `patterns`; None admits every host."""
        position = len(self._items)
        self._items.append(item)
        self._found.clear()
        if patterns is None:
            self._everywhere.append(position)
            return
        for pattern in patterns:
            folded = self._fold(pattern)
            if folded == "*":
                self._everywhere.append(position)
            elif folded.startswith("*"):
                self._wildcards.append((pattern, position))
            else:
                self._exact.setdefault(folded, []).append(position)

    def lookup(self, host: str) -> list[T]:
        """The items admitting `host`, in insertion order (a shared list: do not change it)."""
        key = self._fold(host)
        found = self._found.get(key)
        if found is None:
            positions = {*self._exact.get(key, ()), *self._everywhere}
            positions.update(position for pattern, position in self._wildcards if self._matches(pattern, host))
            found = self._found[key] = [self._items[position] for position in sorted(positions)]
        return found


def service_of_host(host: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the Service a destination host names, or None.

    Short names resolve in `namespace` (the route's); `name.ns.svc.cluster.local` is the full
    form; any other dotted name is taken literally and names no Service (Istio does not expand
    `name.ns`).
    """
    host = host.lower().rstrip(".")
    if "." not in host:
        return (namespace, host) if host else None
    if host.endswith(CLUSTER_SUFFIX):
        parts = host[: -len(CLUSTER_SUFFIX)].split(".")
        if len(parts) == 2 and all(parts):
            return parts[1], parts[0]
    return None


def fqdn(namespace: str, name: str) -> str:
    return f"{name}.{namespace}{CLUSTER_SUFFIX}"


def in_cluster_service(host: str, namespace: str) -> tuple[str, str] | None:
    """The Service a client URL host names (`name.ns.svc.cluster.local`, `name.ns.svc`, `name.ns`,
    or a short name in the client's namespace), or None for an external host."""
    host = host.lower().rstrip(".")
    for suffix in (CLUSTER_SUFFIX, ".svc"):
        if host.endswith(suffix):
            parts = host[: -len(suffix)].split(".")
            return (parts[1], parts[0]) if len(parts) == 2 and all(parts) else None
    parts = host.split(".")
    if len(parts) == 1:
        return (namespace, parts[0])
    return None


def visible(export_to: list[str] | None, owner_namespace: str, viewer_namespace: str) -> bool:
    """Istio exportTo: absent or `*` is everywhere, `.` the owner's namespace, else listed ones."""
    if not export_to:
        return True
    for entry in export_to:
        if entry == "*" or entry == viewer_namespace or (entry == "." and owner_namespace == viewer_namespace):
            return True
    return False
