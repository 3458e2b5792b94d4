"""KEDA `ScaledObject` (keda.sh/v1alpha1): an autoscaler for a workload, like an HPA.

KEDA runs it through an HPA it creates and owns, `keda-hpa-<name>` unless
`advanced.horizontalPodAutoscalerConfig.name` says otherwise, so a cluster holds both; the
replica range is the ScaledObject's (`maxReplicaCount` defaults to 100, `minReplicaCount` to 0).
Field names follow github.com/kedacore/keda/v2 config/crd/bases/keda.sh_scaledobjects.yaml.
"""

from pydantic import Field

from socketguard.engine.models.base import KubeObject, View

DEFAULT_MAX_REPLICAS = 100


class KedaScaleTarget(View):
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    name: str


class HorizontalPodAutoscalerConfig(View):
    name: str | None = None


class AdvancedConfig(View):
    horizontal_pod_autoscaler_config: HorizontalPodAutoscalerConfig = Field(
        default_factory=HorizontalPodAutoscalerConfig)


class ScaledObjectSpec(View):
    scale_target_ref: KedaScaleTarget
    min_replica_count: int = 0
    max_replica_count: int = DEFAULT_MAX_REPLICAS
    advanced: AdvancedConfig = Field(default_factory=AdvancedConfig)


class ScaledObject(KubeObject):
    spec: ScaledObjectSpec

    @property
    def hpa_name(self) -> str:
        """The HPA KEDA creates for this ScaledObject."""
        return self.spec.advanced.horizontal_pod_autoscaler_config.name or f"keda-hpa-{self.metadata.name}"
