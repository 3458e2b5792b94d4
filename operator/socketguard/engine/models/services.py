"""Service and HorizontalPodAutoscaler, with the API server's defaults applied."""

from pydantic import Field

from socketguard.engine.models.base import KubeObject, View, empty_list

EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"


class ServicePort(View):
    name: str | None = None
    port: int
    target_port: int | str | None = None
    protocol: str = "TCP"
    app_protocol: str | None = None

    @property
    def effective_target_port(self) -> int | str:
        """The API server defaults targetPort to port."""
        return self.port if self.target_port is None else self.target_port


class ServiceSpec(View):
    selector: dict[str, str] | None = None
    ports: list[ServicePort] = Field(default_factory=empty_list)
    type: str = "ClusterIP"
    session_affinity: str = "None"
    external_name: str | None = None


class Service(KubeObject):
    spec: ServiceSpec = Field(default_factory=ServiceSpec)

    @property
    def export_to(self) -> list[str] | None:
        raw = self.metadata.annotations.get(EXPORT_TO_ANNOTATION)
        return None if raw is None else [part.strip() for part in raw.split(",") if part.strip()]


class ScaleTargetRef(View):
    api_version: str = "apps/v1"
    kind: str
    name: str


class HorizontalPodAutoscalerSpec(View):
    scale_target_ref: ScaleTargetRef
    min_replicas: int = 1
    max_replicas: int


class HorizontalPodAutoscaler(KubeObject):
    spec: HorizontalPodAutoscalerSpec
