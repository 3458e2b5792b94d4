"""How many pods may serve a workload: spec.replicas, an HPA's maxReplicas, or a DaemonSet."""

from __future__ import annotations

from dataclasses import dataclass

from socketguard.inventory import Inventory
from socketguard.objects import FieldPath, ObjectRef


@dataclass(frozen=True)
class Replicas:
    workload: ObjectRef
    count: int | None  # spec.replicas with the API default; None for a DaemonSet
    hpa: ObjectRef | None = None
    hpa_max: int | None = None

    @property
    def several(self) -> bool:
        return self.count is None or self.count > 1 or (self.hpa_max or 0) > 1

    @property
    def describe(self) -> str:
        if self.count is None:
            return f"{self.workload} (a DaemonSet: one pod per node)"
        if self.hpa is not None and self.hpa_max is not None:
            return f"{self.workload} (up to {self.hpa_max} replicas by {self.hpa})"
        return f"{self.workload} ({self.count} replicas)"

    @property
    def cause(self) -> tuple[ObjectRef, FieldPath]:
        """The object and field that make it several pods (to set to 1 as a last resort)."""
        if self.hpa is not None and (self.hpa_max or 0) > 1:
            return self.hpa, ("spec", "maxReplicas")
        return self.workload, ("spec", "replicas")

    @property
    def related(self) -> tuple[ObjectRef, ...]:
        return (self.workload,) if self.hpa is None else (self.workload, self.hpa)


def replicas_of(inventory: Inventory, ref: ObjectRef) -> Replicas | None:
    """The pod count of a workload in the inventory; the largest HPA maxReplicas when one targets it."""
    workload = inventory.workload(ref.kind, ref.namespace, ref.name)
    if workload is None:
        return None
    autoscalers = sorted(inventory.autoscalers_for(workload), key=lambda h: -h.spec.max_replicas)
    if autoscalers and workload.replicas is not None:
        top = autoscalers[0]
        return Replicas(ref, workload.replicas, inventory.ref_of(top), top.spec.max_replicas)
    return Replicas(ref, workload.replicas)
