"""Argo Rollouts canaries: the routes whose weights a Rollout shifts between its stable and canary pods.

During a canary rollout Argo sets the weights of these routes step by step (`setWeight`), so a
route that sends everything to the stable Service in the manifests splits requests between the old
and the new pods while the rollout runs. The routes, by `strategy.canary.trafficRouting`:
- `istio.virtualService(s)`: the named VirtualService's rules (only those listed in `routes`,
  when it lists any), with `stableService`/`canaryService` or DestinationRule subsets;
- `nginx.stableIngress(es)`: Argo creates a canary Ingress for each (`<rollout>-<ingress>-canary`)
  that carries only the canary annotations and `canaryIngressAnnotations`, so affinity on the
  canary side must come from there;
- the Gateway API plugin (`plugins: {argoproj-labs/gatewayAPI: {httpRoute(s)}}`): the HTTPRoute's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from socketguard.engine.inventory import Inventory
from socketguard.engine.models import GATEWAY_API_GROUP, NGINX_PREFIX
from socketguard.engine.objects import FieldPath, ObjectRef, get_path
from socketguard.engine.routing import RouteHop

if TYPE_CHECKING:
    from socketguard.engine.models.argo import Rollout


@dataclass(frozen=True)
class ShiftedRoute:
    """A route whose weights the Rollout shifts, and the Rollout field that says so."""

    rollout: ObjectRef
    route: ObjectRef
    field: FieldPath  # spec.strategy.canary.trafficRouting.<router>
    kind: str  # istio | nginx | gateway-api


def shifted_routes(inventory: Inventory, rollout: Rollout) -> list[ShiftedRoute]:
    ref = inventory.ref_of(rollout)
    namespace = ref.namespace
    base: FieldPath = ("spec", "strategy", "canary", "trafficRouting")
    found = [ShiftedRoute(ref, ObjectRef("networking.istio.io/v1", "VirtualService", namespace, vs.name),
                          (*base, "istio"), "istio") for vs in rollout.virtual_services()]
    found += [ShiftedRoute(ref, ObjectRef("networking.k8s.io/v1", "Ingress", namespace, name), (*base, "nginx"),
                           "nginx") for name in rollout.stable_ingresses()]
    found += [ShiftedRoute(ref, ObjectRef(f"{GATEWAY_API_GROUP}/v1", "HTTPRoute", namespace, name),
                           (*base, "plugins"), "gateway-api") for name in rollout.http_routes()]
    return found


def shifts(inventory: Inventory, rollout: Rollout, shifted: ShiftedRoute, hop: RouteHop) -> bool:
    """Whether the Rollout shifts the weights of this hop's rule."""
    if (hop.route.kind, hop.route.namespace, hop.route.name) != (shifted.route.kind, shifted.route.namespace,
                                                                   shifted.route.name):
        return False
    if shifted.kind != "istio":
        return True
    routes = next((vs.routes for vs in rollout.virtual_services() if vs.name == shifted.route.name), [])
    rule = hop.rule_path[2] if len(hop.rule_path) > 2 else None
    name = get_path(inventory.raw(hop.route) or {}, ("spec", "http", rule, "name")) if isinstance(rule, int) else None
    return not routes or name in routes


def nginx_canary_sticky(inventory: Inventory, rollout: Rollout, stable: ObjectRef) -> bool:
    """Affinity on both sides of Argo's nginx canary: the stable Ingress, and the generated canary's annotations."""
    nginx = rollout.traffic_routing.nginx if rollout.traffic_routing else None
    if nginx is None:
        return False
    prefix = nginx.annotation_prefix.rstrip("/") + "/"
    generated = {**nginx.additional_ingress_annotations, **nginx.canary_ingress_annotations}
    canary_affinity = generated.get("affinity") == "cookie" or generated.get(prefix + "affinity") == "cookie" \
        or bool(generated.get("upstream-hash-by") or generated.get(prefix + "upstream-hash-by"))
    annotations = get_path(inventory.raw(stable) or {}, ("metadata", "annotations"))
    notes = annotations if isinstance(annotations, dict) else {}
    stable_affinity = notes.get(NGINX_PREFIX + "affinity") == "cookie" or bool(
        notes.get(NGINX_PREFIX + "upstream-hash-by"))
    return canary_affinity and stable_affinity
