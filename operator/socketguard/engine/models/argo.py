"""Argo Rollouts `Rollout` (argoproj.io/v1alpha1): a workload like a Deployment, plus its canary.

A Rollout carries its own pod `template`, or a `workloadRef` to a Deployment whose template it
uses (the Deployment keeps its pods unless `workloadRef.scaleDown` is `onsuccess` or
`progressively`; the default is `never`). Its `strategy.canary.trafficRouting` names the routes
whose weights Argo changes during a rollout: an Istio VirtualService (with `stableService` /
`canaryService`, or DestinationRule subsets), an ingress-nginx stable Ingress (Argo creates the
canary Ingress), or an HTTPRoute through the Gateway API plugin.

Field names follow the Rollout CRD of github.com/argoproj/argo-rollouts (manifests/crds/rollout-crd.yaml).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from socketguard.engine.models import POD_TEMPLATE_HASH
from socketguard.engine.models.base import View, empty_dict, empty_list
from socketguard.engine.models.workloads import PodTemplate, Workload, WorkloadSpec

GATEWAY_API_PLUGIN = "argoproj-labs/gatewayAPI"


class WorkloadRef(View):
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    name: str
    scale_down: Literal["never", "onsuccess", "progressively"] = "never"


class IstioVirtualServiceRef(View):
    name: str
    routes: list[str] = Field(default_factory=empty_list)


class IstioDestinationRuleRef(View):
    name: str
    canary_subset_name: str = ""
    stable_subset_name: str = ""


class IstioTrafficRouting(View):
    virtual_service: IstioVirtualServiceRef | None = None
    virtual_services: list[IstioVirtualServiceRef] = Field(default_factory=empty_list)
    destination_rule: IstioDestinationRuleRef | None = None


class NginxTrafficRouting(View):
    stable_ingress: str | None = None
    stable_ingresses: list[str] = Field(default_factory=empty_list)
    annotation_prefix: str = "nginx.ingress.kubernetes.io"
    additional_ingress_annotations: dict[str, str] = Field(default_factory=empty_dict)
    canary_ingress_annotations: dict[str, str] = Field(default_factory=empty_dict)


class TrafficRouting(View):
    istio: IstioTrafficRouting | None = None
    nginx: NginxTrafficRouting | None = None
    plugins: dict[str, Any] = Field(default_factory=empty_dict)


class CanaryStrategy(View):
    stable_service: str | None = None
    canary_service: str | None = None
    traffic_routing: TrafficRouting | None = None


class RolloutStrategy(View):
    canary: CanaryStrategy | None = None


class RolloutSpec(WorkloadSpec):
    workload_ref: WorkloadRef | None = None
    strategy: RolloutStrategy = Field(default_factory=RolloutStrategy)


class Rollout(Workload):
    spec: RolloutSpec = Field(default_factory=RolloutSpec)

    @property
    def canary(self) -> CanaryStrategy | None:
        return self.spec.strategy.canary

    @property
    def traffic_routing(self) -> TrafficRouting | None:
        canary = self.canary
        return canary.traffic_routing if canary is not None else None

    def selected_by(self, selector: dict[str, str]) -> bool:
        """Argo adds the pod template hash to the Rollout's pods and to its Services' selectors."""
        return super().selected_by({k: v for k, v in selector.items() if k != POD_TEMPLATE_HASH})

    def with_template(self, template: PodTemplate) -> Rollout:
        """This Rollout with the pod template of the workload its `workloadRef` names."""
        return self.model_copy(update={"spec": self.spec.model_copy(update={"template": template})})

    def virtual_services(self) -> list[IstioVirtualServiceRef]:
        istio = self.traffic_routing.istio if self.traffic_routing else None
        if istio is None:
            return []
        return [*([istio.virtual_service] if istio.virtual_service else []), *istio.virtual_services]

    def stable_ingresses(self) -> list[str]:
        nginx = self.traffic_routing.nginx if self.traffic_routing else None
        if nginx is None:
            return []
        return [*([nginx.stable_ingress] if nginx.stable_ingress else []), *nginx.stable_ingresses]

    def http_routes(self) -> list[str]:
        """HTTPRoutes the Gateway API plugin shifts weights on (`httpRoute`, `httpRoutes[].name`)."""
        plugin = self.traffic_routing.plugins.get(GATEWAY_API_PLUGIN) if self.traffic_routing else None
        if not isinstance(plugin, dict):
            return []
        names = [plugin.get("httpRoute")] + [r.get("name") for r in plugin.get("httpRoutes") or []
                                              if isinstance(r, dict)]
        return [name for name in names if isinstance(name, str) and name]
