"""Typed views of the raw objects the engine reads, keyed by (group, kind).

A view module loads when its kind is first met, not when this package is imported: building the
pydantic classes is most of what `socketguard lint` spends before reading a file, and a lint of
a few files meets a few kinds. So this package holds only names (API groups, the kinds it
models and where their views live); `MODELS[(group, kind)]` imports the view's module, and
`models.gatewayapi` (an attribute of this package) imports that module on first use, for code
that must not load it before such an object exists (an `isinstance` test on a view of a kind
the inventory may not hold).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socketguard.engine.models import argo, gatewayapi, ingress, keda, traefik
    from socketguard.engine.models.base import KubeObject

ISTIO_GROUP = "networking.istio.io"
ARGO_GROUP = "argoproj.io"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
KEDA_GROUP = "keda.sh"
TRAEFIK_GROUP = "traefik.io"
TRAEFIK_LEGACY_GROUP = "traefik.containo.us"
TRAEFIK_GROUPS = (TRAEFIK_GROUP, TRAEFIK_LEGACY_GROUP)
NGINX_PREFIX = "nginx.ingress.kubernetes.io/"
# Argo adds this label to a Rollout's pods and to the selectors of its stable and canary Services.
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"

# Pod-owning kinds by the API group they live in (kinds are unique across these groups).
WORKLOAD_GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "Rollout": ARGO_GROUP}
WORKLOAD_KINDS = frozenset(WORKLOAD_GROUPS)

# (group, kind) -> (module of this package, view class in it).
_VIEWS: dict[tuple[str, str], tuple[str, str]] = {
    ("apps", "Deployment"): ("workloads", "Workload"),
    ("apps", "StatefulSet"): ("workloads", "Workload"),
    ("apps", "DaemonSet"): ("workloads", "Workload"),
    (ARGO_GROUP, "Rollout"): ("argo", "Rollout"),
    (KEDA_GROUP, "ScaledObject"): ("keda", "ScaledObject"),
    ("", "Service"): ("services", "Service"),
    ("autoscaling", "HorizontalPodAutoscaler"): ("services", "HorizontalPodAutoscaler"),
    (ISTIO_GROUP, "VirtualService"): ("istio", "VirtualService"),
    (ISTIO_GROUP, "DestinationRule"): ("istio", "DestinationRule"),
    (ISTIO_GROUP, "Gateway"): ("istio", "Gateway"),
    (GATEWAY_API_GROUP, "Gateway"): ("gatewayapi", "K8sGateway"),
    (GATEWAY_API_GROUP, "HTTPRoute"): ("gatewayapi", "HTTPRoute"),
    (GATEWAY_API_GROUP, "ReferenceGrant"): ("gatewayapi", "ReferenceGrant"),
    ("networking.k8s.io", "Ingress"): ("ingress", "Ingress"),
    **{(group, "IngressRoute"): ("traefik", "IngressRoute") for group in TRAEFIK_GROUPS},
    **{(group, "Middleware"): ("traefik", "Middleware") for group in TRAEFIK_GROUPS},
}
_VIEW_MODULES = frozenset(module for module, _ in _VIEWS.values())


class _Views(Mapping[tuple[str, str], "type[KubeObject]"]):
    """(group, kind) -> view class; looking a kind up imports the module its view lives in."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], type[KubeObject]] = {}  # looked up once per added object

    def __getitem__(self, key: tuple[str, str]) -> type[KubeObject]:
        view = self._loaded.get(key)
        if view is None:
            module, name = _VIEWS[key]
            view = self._loaded[key] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return view

    def get(self, key: tuple[str, str], default: type[KubeObject] | None = None) -> type[KubeObject] | None:  # type: ignore[override]
        """Mapping's own `get` catches a KeyError for every object of a kind without a view."""
        return self[key] if key in _VIEWS else default

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(_VIEWS)

    def __len__(self) -> int:
        return len(_VIEWS)

    def __contains__(self, key: object) -> bool:
        return key in _VIEWS


MODELS: Mapping[tuple[str, str], type[KubeObject]] = _Views()


def __getattr__(name: str) -> ModuleType:
    """`models.<view module>`, imported on first use."""
    if name not in _VIEW_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


# Kinds whose objects have no namespace; everything the engine models is namespaced.
CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "CustomResourceDefinition", "ClusterRole",
                                  "ClusterRoleBinding", "GatewayClass", "IngressClass",
                                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                                  "PersistentVolume", "StorageClass", "Node"})

__all__ = ["ARGO_GROUP", "CLUSTER_SCOPED_KINDS", "GATEWAY_API_GROUP", "ISTIO_GROUP", "KEDA_GROUP", "MODELS",
           "NGINX_PREFIX", "POD_TEMPLATE_HASH", "TRAEFIK_GROUP", "TRAEFIK_GROUPS", "TRAEFIK_LEGACY_GROUP",
           "WORKLOAD_GROUPS", "WORKLOAD_KINDS", "argo", "gatewayapi", "ingress", "keda", "traefik"]
