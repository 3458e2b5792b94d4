"""Which targets an unattended prober (the operator) may touch: no SSRF.

Allowed: in-cluster Service names (`name.namespace.svc`, `name.namespace.svc.<cluster domain>`) and
hosts an administrator listed (exact names, or `*.example.com` for any subdomain). Everything else,
IP literals included, is refused unless listed verbatim: a workload annotation must not turn the
operator into a proxy to the cloud metadata endpoint or another tenant's admin port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def target_refusal(
    url: str, allowed_hosts: Iterable[str], cluster_domain: str = "cluster.local"
) -> str | None:
    """Why `url` may not be probed, or None when it may."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError as error:
        return f"{url!r} is not a valid URL: {error}"
    if parts.scheme.lower() not in _SCHEMES:
        return f"scheme {parts.scheme!r} is not http, https, ws or wss"
    if parts.username is not None or parts.password is not None:
        return "URLs with user:password are never probed"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return f"{url!r} has no host"
    allowed = {entry.strip().rstrip(".").lower() for entry in allowed_hosts if entry.strip()}
    if host in allowed or any(_matches_wildcard(host, entry) for entry in allowed):
        return None
    if _is_ip_literal(host):
        return f"{host} is an IP address; only in-cluster Service names or allow-listed hosts are probed"
    if _is_service_name(host, cluster_domain):
        return None
    return f"{host} is neither an in-cluster Service (name.namespace.svc) nor an allow-listed host"


def is_allowed_target(
    url: str, allowed_hosts: Iterable[str], cluster_domain: str = "cluster.local"
) -> bool:
    return target_refusal(url, allowed_hosts, cluster_domain) is None


def _matches_wildcard(host: str, entry: str) -> bool:
    if not entry.startswith("*."):
        return False
    suffix = entry[1:]
    return host.endswith(suffix) and len(host) > len(suffix)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_service_name(host: str, cluster_domain: str) -> bool:
    labels = host.split(".")
    domain = cluster_domain.strip(".").lower().split(".")
    if labels[-len(domain):] == domain:
        labels = labels[: -len(domain)]
    # name.namespace.svc: exactly a Service and its namespace; pod DNS names and subdomains are not Services.
    return len(labels) == 3 and labels[2] == "svc" and all(_is_dns_label(label) for label in labels[:2])


def _is_dns_label(label: str) -> bool:
    return 0 < len(label) <= 63 and label[0].isalnum() and label[-1].isalnum() and all(
        char.isalnum() or char == "-" for char in label
    ) and label.isascii()
