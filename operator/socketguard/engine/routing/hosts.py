"""Host names as Istio and Kubernetes resolve them (short names, FQDNs, wildcards)."""

from __future__ import annotations

CLUSTER_SUFFIX = ".svc.cluster.local"


def host_matches(pattern: str, host: str) -> bool:
    """`*` matches everything, `*.example.com` any subdomain; otherwise case-insensitive equality."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


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
