"""Reads the kinds the engine models from the current kube context (`socketguard lint --cluster`).

The `kubernetes` client is imported here only, lazily, so offline linting never needs it.
Kinds whose API is not served (Istio or Gateway API not installed) are skipped and listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (group, kind): the inputs of the engine's rules; the preferred served version is used.
CLUSTER_KINDS: tuple[tuple[str, str], ...] = (
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("", "Service"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("networking.istio.io", "VirtualService"),
    ("networking.istio.io", "DestinationRule"),
    ("networking.istio.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),  # its controllerName names the implementation (compare)
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),  # its controller says which router serves a class
    ("argoproj.io", "Rollout"),
    ("keda.sh", "ScaledObject"),
    ("traefik.io", "IngressRoute"),
    ("traefik.io", "Middleware"),
)


class ClusterError(RuntimeError):
    """The cluster could not be read (no kube config, unreachable, forbidden)."""


@dataclass
class ClusterObjects:
    objects: list[dict[str, Any]] = field(default_factory=list)
    missing_kinds: list[str] = field(default_factory=list)


def read_cluster(context: str | None = None, namespace: str | None = None) -> ClusterObjects:
    try:
        from kubernetes import config, dynamic
        from kubernetes.dynamic.exceptions import ResourceNotFoundError
    except ImportError:
        raise ClusterError(
            "--cluster needs the Kubernetes client: pip install 'socketguard[operator]'"
        ) from None
    try:
        client = dynamic.DynamicClient(_api_client(config, context))  # type: ignore[no-untyped-call]
        found = ClusterObjects()
        for group, kind in CLUSTER_KINDS:
            try:
                resource = _preferred(client, group, kind)
            except ResourceNotFoundError:
                resource = None
            if resource is None:
                found.missing_kinds.append(f"{kind}.{group}" if group else kind)
                continue
            found.objects.extend(_list(resource, kind, namespace))
        return found
    except ClusterError:
        raise
    except Exception as error:  # the client raises many unrelated types for one cause
        raise ClusterError(f"cannot read the cluster: {_describe(error)}") from None


def _api_client(config: Any, context: str | None) -> Any:
    # The client reads $KUBECONFIG once, when it is imported; read it at call time instead.
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    config_file = next((p for p in paths if Path(p).exists()), paths[0] if paths else None)
    try:
        return config.new_client_from_config(config_file=config_file, context=context)
    except config.ConfigException as kube_config_error:
        if context is not None:
            raise ClusterError(f"cannot use kube context {context!r}: {kube_config_error}") from None
        try:
            config.load_incluster_config()
        except config.ConfigException:
            raise ClusterError(f"no usable kube config: {kube_config_error}") from None
        from kubernetes import client

        return client.ApiClient()


def _preferred(client: Any, group: str, kind: str) -> Any:
    candidates = [
        r for r in client.resources.search(group=group, kind=kind) if "/" not in (r.name or "")
    ]
    preferred = [r for r in candidates if getattr(r, "preferred", False)]
    chosen = preferred or candidates
    return chosen[0] if chosen else None


def _list(resource: Any, kind: str, namespace: str | None) -> Iterator[dict[str, Any]]:
    listed = resource.get(namespace=namespace) if namespace else resource.get()
    for item in listed.to_dict().get("items", []):
        item.setdefault("apiVersion", resource.group_version)
        item.setdefault("kind", kind)
        metadata = item.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
        yield item


def _describe(error: Exception) -> str:
    status, reason = getattr(error, "status", None), getattr(error, "reason", None)
    if status is not None:
        return f"HTTP {status} {reason or ''}".strip()
    return str(error) or type(error).__name__
