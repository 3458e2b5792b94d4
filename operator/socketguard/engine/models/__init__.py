"""Typed views of the raw objects the engine reads, keyed by (group, kind)."""

from __future__ import annotations

from socketguard.engine.models.argo import ARGO_GROUP, Rollout
from socketguard.engine.models.base import KubeObject
from socketguard.engine.models.gatewayapi import GATEWAY_API_GROUP, HTTPRoute, K8sGateway, ReferenceGrant
from socketguard.engine.models.ingress import Ingress
from socketguard.engine.models.istio import DestinationRule, Gateway, VirtualService
from socketguard.engine.models.keda import KEDA_GROUP, ScaledObject
from socketguard.engine.models.services import HorizontalPodAutoscaler, Service
from socketguard.engine.models.traefik import TRAEFIK_GROUPS, IngressRoute, Middleware
from socketguard.engine.models.workloads import Workload

ISTIO_GROUP = "networking.istio.io"
# Pod-owning kinds by the API group they live in (kinds are unique across these groups).
WORKLOAD_GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "Rollout": ARGO_GROUP}
WORKLOAD_KINDS = frozenset(WORKLOAD_GROUPS)

MODELS: dict[tuple[str, str], type[KubeObject]] = {
    ("apps", "Deployment"): Workload,
    ("apps", "StatefulSet"): Workload,
    ("apps", "DaemonSet"): Workload,
    (ARGO_GROUP, "Rollout"): Rollout,
    (KEDA_GROUP, "ScaledObject"): ScaledObject,
    ("", "Service"): Service,
    ("autoscaling", "HorizontalPodAutoscaler"): HorizontalPodAutoscaler,
    (ISTIO_GROUP, "VirtualService"): VirtualService,
    (ISTIO_GROUP, "DestinationRule"): DestinationRule,
    (ISTIO_GROUP, "Gateway"): Gateway,
    (GATEWAY_API_GROUP, "Gateway"): K8sGateway,
    (GATEWAY_API_GROUP, "HTTPRoute"): HTTPRoute,
    (GATEWAY_API_GROUP, "ReferenceGrant"): ReferenceGrant,
    ("networking.k8s.io", "Ingress"): Ingress,
    **{(group, "IngressRoute"): IngressRoute for group in TRAEFIK_GROUPS},
    **{(group, "Middleware"): Middleware for group in TRAEFIK_GROUPS},
}

# Kinds whose objects have no namespace; everything the engine models is namespaced.
CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "CustomResourceDefinition", "ClusterRole",
                                  "ClusterRoleBinding", "GatewayClass", "IngressClass",
                                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                                  "PersistentVolume", "StorageClass", "Node"})

__all__ = ["ARGO_GROUP", "CLUSTER_SCOPED_KINDS", "GATEWAY_API_GROUP", "ISTIO_GROUP", "KEDA_GROUP", "MODELS",
           "WORKLOAD_GROUPS", "WORKLOAD_KINDS", "KubeObject"]
