"""Deployment, StatefulSet and DaemonSet (and Argo Rollouts, models/argo.py): the pod template serves Socket.IO."""

from typing import Any, Literal

from pydantic import Field

from socketguard.engine.models.base import KubeObject, ObjectMeta, View, empty_dict, empty_list


class ContainerPort(View):
    name: str | None = None
    container_port: int
    protocol: str = "TCP"
    app_protocol: str | None = None


class EnvVar(View):
    name: str
    value: str | None = None
    value_from: dict[str, Any] | None = None


class Container(View):
    name: str = ""
    ports: list[ContainerPort] = Field(default_factory=empty_list)
    env: list[EnvVar] = Field(default_factory=empty_list)


class PodSpec(View):
    containers: list[Container] = Field(default_factory=empty_list)


class PodTemplate(View):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)


class SelectorRequirement(View):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=empty_list)


class LabelSelector(View):
    match_labels: dict[str, str] = Field(default_factory=empty_dict)
    match_expressions: list[SelectorRequirement] = Field(default_factory=empty_list)

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        return all(_requirement_holds(req, labels) for req in self.match_expressions)


def _requirement_holds(requirement: SelectorRequirement, labels: dict[str, str]) -> bool:
    present = requirement.key in labels
    match requirement.operator:
        case "In":
            return present and labels[requirement.key] in requirement.values
        case "NotIn":
            return not present or labels[requirement.key] not in requirement.values
        case "Exists":
            return present
        case _:
            return not present


class WorkloadSpec(View):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplate = Field(default_factory=PodTemplate)
    paused: bool = False


class Workload(KubeObject):
    """Any of the three pod-owning kinds; `replicas` carries the API server default (1)."""

    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)

    @property
    def pod_labels(self) -> dict[str, str]:
        return self.spec.template.metadata.labels

    @property
    def replicas(self) -> int | None:
        """Desired pods; None for a DaemonSet (one per node: several, count unknown)."""
        if self.kind == "DaemonSet":
            return None
        return 1 if self.spec.replicas is None else self.spec.replicas

    @property
    def containers(self) -> list[Container]:
        return self.spec.template.spec.containers

    def selected_by(self, selector: dict[str, str]) -> bool:
        """Whether a Service selector selects this workload's pods."""
        labels = self.pod_labels
        return all(labels.get(key) == value for key, value in selector.items())
