"""The router refuses a socket route: not accepted, references that do not resolve, a rule that does not parse.

What it checks
--------------
In cluster mode (the operator, `socketguard lint --cluster`, or manifests exported with their
status), an HTTPRoute carries `status.parents[]`: one entry per Gateway it attaches to, with
the conditions the implementation wrote. SocketGuard reports `Accepted: False` (the Gateway
refused the route: wrong listener, hostname, namespace not allowed, ...) and
`ResolvedRefs: False` (a backend does not exist, a port is wrong, a cross-namespace backend
has no ReferenceGrant, ...) on HTTPRoutes that carry Socket.IO traffic, with the
implementation's own reason and message.

Traefik refuses a router without writing a status: an IngressRoute route (or a `traefik` Ingress
path) whose rule does not parse, whose `kind` is not `Rule`, or that names a Middleware that does
not exist builds no router at all. SocketGuard reports those that name a `socket.io` path or send
to an annotated server.

Why it matters
--------------
The implementation has the last word: whatever the route says, a route that is not accepted
routes nothing, and a backend that does not resolve answers 500. The status says why in the
implementation's terms; a static check can only approximate it.

How to fix
----------
For Traefik, correct the rule (for example Host(`h`) && PathPrefix(`/socket.io/`)) or create the
Middleware (in the route's namespace unless `allowCrossNamespace` is on). For Gateway API, read
the condition's reason (`NotAllowedByListeners`, `NoMatchingListenerHostname`,
`BackendNotFound`, `RefNotPermitted`, ...) and fix the route or the Gateway:

```yaml
# NotAllowedByListeners: let routes from the app's namespace attach
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
spec:
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    allowedRoutes:
      namespaces: {from: All}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.objects import ObjectRef, render_path
from socketguard.engine.routing.matching import socket_segment
from socketguard.engine.rules._routes import traefik_router
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG115", name="route-not-accepted", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)

_WATCHED = ("Accepted", "ResolvedRefs")


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    socket_routes = _socket_routes(ctx)
    for view in ctx.inventory.views(GATEWAY_API_GROUP, "HTTPRoute"):
        if not isinstance(view, models.gatewayapi.HTTPRoute) or view.status is None:
            continue
        ref = ctx.inventory.ref_of(view)
        if ref not in socket_routes:
            continue
        for parent_index, parent in enumerate(view.status.parents):
            for index, condition in enumerate(parent.conditions):
                if condition.get("type") in _WATCHED and condition.get("status") == "False":
                    yield _finding(ref, parent_index, index, parent.parent_ref.name, condition)
    yield from _traefik_refusals(ctx)


def _traefik_refusals(ctx: Context) -> Iterator[Finding]:
    router = traefik_router(ctx)
    if router is None:
        return  # no Ingress or IngressRoute
    servers = ctx.contracts.servers
    for route in router.refused_routes():
        assert route.refused is not None
        reaches = {w for backend in router.backends(route) for w in backend.workloads if w in servers}
        if socket_segment(route.rule) is None and "socket.io" not in route.rule.lower() and not reaches:
            continue
        reason, path = route.refused
        where = f"{route.ref} {render_path(route.rule_path)}"
        yield RULE.finding(route.ref, path, f"Traefik builds no router from {where}: {reason}, so it carries no "
                           "Socket.IO traffic",
                           fixes=("correct the rule or create the Middleware it names",), related=sorted(reaches))


def _socket_routes(ctx: Context) -> set[ObjectRef]:
    routes = {trace.origin.route for trace in ctx.traces.route_traces() if trace.origin is not None}
    routes.update(trace.hop.route for trace in ctx.traces.client_traces() if trace.hop is not None)
    return routes


def _finding(ref: ObjectRef, parent_index: int, index: int, gateway: str,
             condition: dict[str, object]) -> Finding:
    kind, reason = condition.get("type"), condition.get("reason", "")
    detail = str(condition.get("message", "")).strip()
    message = (f"{ref} is reported {kind}=False by Gateway {gateway} (reason {reason}"
               + (f": {detail}" if detail else "") + "), so it carries no Socket.IO traffic there")
    return RULE.finding(ref, ("status", "parents", parent_index, "conditions", index), message,
                        fixes=(f"fix what reason {reason} names on the route or on Gateway {gateway}",))
