"""How many pods may serve a workload (replicas, an HPA or KEDA ScaledObject maximum, a DaemonSet), and stickiness."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.contract import ServerSpec
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import ARGO_GROUP, KEDA_GROUP
from socketguard.engine.models.base import KubeObject
from socketguard.engine.objects import FieldPath, ObjectRef, get_path, render_path
from socketguard.engine.relations import SCALES, TEMPLATE_FROM
from socketguard.engine.routing import Backend, RouteHop
from socketguard.engine.routing.hosts import fqdn
from socketguard.engine.trace import Pairing

if TYPE_CHECKING:
    from socketguard.engine.context import Context
    from socketguard.engine.models.keda import ScaledObject

# Service sessionAffinity: ClientIP is honoured by kube-proxy only; Envoy balances endpoints itself.
KUBE_PROXY_ONLY = frozenset({"client-ip", "none"})


@dataclass(frozen=True)
class Replicas:
    """How many pods a workload runs: its replicas, and the autoscaler that scales it, if any."""

    workload: ObjectRef
    count: int | None  # spec.replicas with the API default; None for a DaemonSet
    hpa: ObjectRef | None = None  # the autoscaler: an HPA or a KEDA ScaledObject
    hpa_max: int | None = None
    hpa_field: FieldPath = ("spec", "maxReplicas")

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
            return self.hpa, self.hpa_field
        return self.workload, ("spec", "replicas")

    @property
    def related(self) -> tuple[ObjectRef, ...]:
        return (self.workload,) if self.hpa is None else (self.workload, self.hpa)


def server_replicas(ctx: Context, ref: ObjectRef) -> Replicas | None:
    """`replicas_of` in one analysis, computed once per workload for the rules that all ask (SG301-SG303)."""
    return ctx.memo_for(_replicas_in, ref)


def _replicas_in(ctx: Context, ref: ObjectRef) -> Replicas | None:
    return replicas_of(ctx.inventory, ref)


def replicas_of(inventory: Inventory, ref: ObjectRef) -> Replicas | None:
    """The pod count of a workload in the inventory; the largest autoscaler maximum when one targets it.

    Autoscalers are HPAs and KEDA ScaledObjects; the HPA KEDA creates for a ScaledObject is the
    ScaledObject's and counts once. A Deployment that a Rollout's `workloadRef` scales down
    (`scaleDown` other than `never`) serves no pods once the Rollout is healthy.
    """
    workload = inventory.workload(ref.kind, ref.namespace, ref.name)
    if workload is None:
        return None
    if _scaled_down_by_rollout(inventory, ref):
        return Replicas(ref, 0)
    scalers = _scaled_objects(inventory, ref)
    owned = {s.hpa_name for s in scalers}
    ranges = [(h.spec.max_replicas, inventory.ref_of(h), ("spec", "maxReplicas"))
              for h in inventory.autoscalers_for(workload) if h.metadata.name not in owned]
    ranges += [(s.spec.max_replica_count, inventory.ref_of(s), ("spec", "maxReplicaCount")) for s in scalers]
    if ranges and workload.replicas is not None:
        top, scaler, field = max(ranges, key=lambda item: item[0])
        return Replicas(ref, workload.replicas, scaler, top, field)
    return Replicas(ref, workload.replicas)


# Both lookups go through the relation index, not a scan of the namespace for every workload
# (which a namespace of many workloads and Rollouts or ScaledObjects would pay squared).
def _scaled_objects(inventory: Inventory, ref: ObjectRef) -> list[ScaledObject]:
    return [view for view in _linked(inventory, SCALES, ref, KEDA_GROUP, "ScaledObject")
            if isinstance(view, models.keda.ScaledObject)
            and (view.spec.scale_target_ref.kind, view.spec.scale_target_ref.name) == (ref.kind, ref.name)]


def _scaled_down_by_rollout(inventory: Inventory, ref: ObjectRef) -> bool:
    for view in _linked(inventory, TEMPLATE_FROM, ref, ARGO_GROUP, "Rollout"):
        target = view.spec.workload_ref if isinstance(view, models.argo.Rollout) else None
        if target is not None and (target.kind, target.name) == (ref.kind, ref.name) and target.scale_down != "never":
            return True
    return False


def _linked(inventory: Inventory, relation: str, workload: ObjectRef, group: str, kind: str) -> Iterator[KubeObject]:
    """The views of one kind in the workload's namespace that name it under `relation`, by name."""
    if not inventory.count(group, kind):
        return  # most inventories hold no Rollout or ScaledObject: no lookup per workload
    refs = inventory.relations.find(relation, (workload.namespace, workload.kind, workload.name))
    for ref in sorted(refs, key=lambda r: r.name):
        view = inventory.view(group, kind, ref.namespace, ref.name) if (ref.group, ref.kind) == (group, kind) else None
        if view is not None:
            yield view


def polls(server: ServerSpec, paired: list[Pairing]) -> bool:
    """Polling enabled on the server, and on some client of `paired` (its pairings) when any is paired."""
    if "polling" not in server.transports:
        return False
    return not paired or any("polling" in p.client.transports for p in paired)


def sticky(backend: Backend) -> bool:
    """Affinity that an Istio proxy honours (a consistentHash), not only the Service's ClientIP."""
    return any(a.kind not in KUBE_PROXY_ONLY for a in backend.affinity)


def sidecar_injected(inventory: Inventory, namespace: str) -> bool:
    """Whether pods of the namespace get an Istio sidecar (its Namespace object's injection labels)."""
    raw = inventory.raw(ObjectRef("v1", "Namespace", "", namespace)) or {}
    labels = get_path(raw, ("metadata", "labels"))
    if not isinstance(labels, dict):
        return False
    return labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels


def cookie_affinity_fix(hop: RouteHop | None, backend: Backend, namespace: str) -> str:
    """Cookie affinity in the words of the router that balances this backend (Istio when no route)."""
    if hop is not None and hop.router == "ingress-nginx":
        return (f"add cookie affinity to {hop.route}: `nginx.ingress.kubernetes.io/affinity: cookie` and "
                "`nginx.ingress.kubernetes.io/affinity-mode: persistent`")
    if hop is not None and hop.router == "traefik" and hop.route.kind == "Ingress":
        return (f"annotate {backend.service or backend.host}: `traefik.ingress.kubernetes.io/service.sticky.cookie: "
                "\"true\"` (and no `traefik.ingress.kubernetes.io/service.nativelb: \"true\"`)")
    if hop is not None and hop.router == "traefik":
        return (f"add `sticky: {{cookie: {{name: io-affinity}}}}` (and no `nativeLB: true`) to {hop.route} "
                f"{render_path(backend.path)}")
    if hop is not None and hop.router == "gateway-api":
        return (f"add `sessionPersistence: {{sessionName: io-affinity, type: Cookie}}` to {hop.route} "
                f"{hop.rule_path_text}")
    service = backend.service
    host = fqdn(service.namespace, service.name) if service else backend.host
    fix = (f"add a DestinationRule: `apiVersion: networking.istio.io/v1, kind: DestinationRule, metadata: "
           f"{{name: {host.split('.')[0]}-sticky, namespace: {service.namespace if service else namespace}}}, "
           f"spec: {{host: {host}, trafficPolicy: {{loadBalancer: {{consistentHash: {{httpCookie: "
           "{name: io-affinity, path: /, ttl: 0s}}}}}`")
    if hop is None and service is not None:
        fix += f"; for clients without a sidecar, `sessionAffinity: ClientIP` on {service} is enough"
    return fix
