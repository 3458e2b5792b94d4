"""`exportTo` hides the VirtualService, DestinationRule or Service from the proxy that needs it.

What it checks
--------------
Istio's `exportTo` (on a VirtualService or DestinationRule, or the
`networking.istio.io/exportTo` annotation on a Service) limits which namespaces' proxies see
the object: `.` is its own namespace only, `*` (or absent) everywhere. SocketGuard checks,
for every socket route and client handshake, that the VirtualService is visible to the proxy
that applies it (the Gateway's namespace for gateway routes, the client's namespace for mesh
requests) and that the destination Service and its DestinationRules are visible there too.
The Gateway API counterpart is reported as well: an HTTPRoute `backendRef` to a Service in
another namespace needs a ReferenceGrant there.

Why it matters
--------------
A hidden VirtualService is simply not applied: the gateway answers 404, or mesh traffic
skips the path match and rewrite. A hidden Service cannot be routed to (503), and a hidden
DestinationRule drops its load-balancer settings, so session affinity silently disappears.

How to fix
----------
Export the object to the namespace of the proxy that needs it:

```yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: chat, namespace: chat}
spec:
  exportTo: [".", istio-system]     # or drop exportTo to export everywhere
  gateways: [istio-system/public]
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models.istio import VirtualService
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Backend
from socketguard.engine.routing.hosts import visible
from socketguard.engine.routing.istio import gateway_ref
from socketguard.engine.rules._routes import live_backends, socket_virtual_services
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Trace

RULE = Rule.define(__doc__, code="SG113", name="route-not-visible", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


_EFFECT = {
    "VirtualService": "so they never apply its routes to the handshake",
    "Service": "so they cannot route the handshake to it",
    "DestinationRule": "so its load-balancer settings (session affinity) do not apply there",
}


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for trace in ctx.traces.traces:
        viewer = _viewer(trace)
        related = [*([trace.client.workload] if trace.client else []),
                   *([trace.routing.entrance.gateway] if trace.routing.entrance and trace.routing.entrance.gateway
                     else [])]
        for ref, path in trace.routing.hidden_routes:
            yield _finding(ctx, ref, path, viewer, related, gateway=bool(trace.routing.entrance
                                                                        and trace.routing.entrance.gateway))
        for backend in live_backends(trace):
            for ref, path in backend.hidden_by:
                if ref.kind == "HTTPRoute":
                    yield _no_grant(ref, path, backend, related)
                else:
                    yield _finding(ctx, ref, path, viewer, related, gateway=False)
    yield from _gateway_bindings(ctx)


def _viewer(trace: Trace) -> str:
    entrance = trace.routing.entrance
    if entrance is not None and entrance.gateway is not None:
        return entrance.gateway.namespace
    return trace.request.source_namespace


def _export_to(ctx: Context, ref: ObjectRef) -> list[str]:
    if ref.kind == "Service":
        service = ctx.inventory.service(ref.namespace, ref.name)
        return (service.export_to or []) if service else []
    view = ctx.inventory.view(ref.group, ref.kind, ref.namespace, ref.name)
    spec = getattr(view, "spec", None)
    return list(getattr(spec, "export_to", None) or [])


def _finding(ctx: Context, ref: ObjectRef, path: FieldPath, viewer: str, related: list[ObjectRef], *,
             gateway: bool) -> Finding:
    export_to = ", ".join(_export_to(ctx, ref))
    return RULE.finding(
        ref, path, f"exportTo [{export_to}] hides {ref} from the proxies in namespace {viewer}, "
        f"{_EFFECT.get(ref.kind, 'so they do not see it')}",
        fixes=[f"add {viewer} to exportTo", "or remove exportTo to export it everywhere"],
        related=related,
        assumptions=[f"the gateway proxy runs in its Gateway's namespace ({viewer})"] if gateway else [])


def _no_grant(route: ObjectRef, path: FieldPath, backend: Backend, related: list[ObjectRef]) -> Finding:
    """Gateway API: a cross-namespace backendRef needs a ReferenceGrant in the Service's namespace."""
    target = str(backend.service) if backend.service else f"Service {backend.host}"
    namespace = backend.service.namespace if backend.service else "the Service's namespace"
    return RULE.finding(
        route, path, f"{route} refers to {target} in another namespace, and no ReferenceGrant in {namespace} "
        f"allows HTTPRoutes from {route.namespace}, so the backend is not resolved",
        fixes=[f"create a ReferenceGrant in {namespace} from HTTPRoute in {route.namespace} to Service "
               f"{backend.host}"],
        related=[*related, *([backend.service] if backend.service else [])])


def _gateway_bindings(ctx: Context) -> Iterator[Finding]:
    """Socket VirtualServices hidden from a Gateway they bind: no trace reaches them at all."""
    for vs in ctx.inventory.virtual_services():
        if not vs.spec.export_to:
            continue  # before the relevance test, which needs every socket VirtualService found
        ref = ctx.inventory.ref_of(vs)
        if ref in socket_virtual_services(ctx):
            yield from _hidden_from_gateways(ctx, vs, ref)


def _hidden_from_gateways(ctx: Context, vs: VirtualService, ref: ObjectRef) -> Iterator[Finding]:
    for name in vs.spec.gateways:
        if name == "mesh":
            continue
        namespace, gateway_name = gateway_ref(name, ref.namespace)
        gateway = ctx.inventory.gateway(namespace, gateway_name)
        if gateway is not None and not visible(vs.spec.export_to, ref.namespace, namespace):
            yield _finding(ctx, ref, ("spec", "exportTo"), namespace, [ctx.inventory.ref_of(gateway)], gateway=True)
