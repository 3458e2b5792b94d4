"""A socket route is served by a router whose semantics SocketGuard does not model.

What it checks
--------------
SocketGuard models Istio, Gateway API and ingress-nginx. An Ingress of another class (GKE's
`gce`, AWS's `alb`, Traefik, HAProxy, ...) that names a `socket.io` path or sends traffic to
a Socket.IO server is reported, so that a clean lint is never mistaken for a checked route.

Why it matters
--------------
Each implementation has its own path, rewrite and timeout rules, and guessing them would give
wrong answers. Some are known to break Socket.IO by default: GKE's load balancer ends every
WebSocket at its backend timeout (30 seconds unless a BackendConfig raises it), and AWS's ALB
needs stickiness enabled on the target group for polling.

How to fix
----------
Check the route by hand, or probe it live with `socketguard probe https://host/ --path /socket.io`.
For GKE, raise the backend timeout above the longest connection you want to keep:

```yaml
apiVersion: cloud.google.com/v1
kind: BackendConfig
metadata: {name: chat, namespace: web}
spec:
  timeoutSec: 3600
  sessionAffinity: {affinityType: GENERATED_COOKIE}
```

To acknowledge the finding on that Ingress: `socketguard.io/ignore: SG114`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.backends import ServiceResolver
from socketguard.engine.routing.matching import socket_segment
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import Ingress

RULE = Rule.define(__doc__, code="SG114", name="router-not-modelled", severity=Severity.INFO,
                   admission=Admission.ADVISORY)

_KNOWN_LIMITS = {
    "gce": "GKE's load balancer ends WebSockets at its backend timeout (30 s by default; raise it with a "
           "BackendConfig timeoutSec)",
    "alb": "AWS's ALB needs target-group stickiness for polling with several replicas",
}


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    resolver = ServiceResolver(ctx.inventory)
    for view in ctx.inventory.views("networking.k8s.io", "Ingress"):
        if not isinstance(view, models.ingress.Ingress):
            continue
        ref = ctx.inventory.ref_of(view)
        if any(router.models(ref) for router in ctx.routers):
            continue
        reached = sorted(_socket_targets(view, ref.namespace, resolver, ctx.traces.servers.keys()))
        if not reached:
            continue
        ingress_class = view.ingress_class or ""
        limit = _KNOWN_LIMITS.get(ingress_class)
        note = f"; note that {limit}" if limit else ""
        message = (f"{ref} has ingress class {ingress_class!r}, whose routing SocketGuard does not model: "
                   f"its route to {', '.join(reached)} is not checked{note}")
        yield RULE.finding(ref, ("spec", "ingressClassName"), message,
                           fixes=("check this route by hand, or run `socketguard probe` against it",))


def _socket_targets(ingress: Ingress, namespace: str, resolver: ServiceResolver,
                    servers: Collection[ObjectRef]) -> set[str]:
    """Servers an Ingress path reaches, and paths that name socket.io."""
    found: set[str] = set()
    for rule in ingress.spec.rules:
        for path in rule.http.paths if rule.http else []:
            service = path.backend.service
            target = resolver.inventory.service(namespace, service.name) if service else None
            selected = resolver.selected_workloads(namespace, target.spec.selector) if target else ()
            found.update(str(workload) for workload in selected if workload in servers)
            if socket_segment(path.path) is not None:
                found.add(f"the path {path.path}")
    return found
