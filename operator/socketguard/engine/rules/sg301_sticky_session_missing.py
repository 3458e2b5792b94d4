"""Several replicas serve Socket.IO polling, and nothing keeps a session's requests on one pod.

What it checks
--------------
A server workload (a Deployment, StatefulSet, DaemonSet or Argo Rollout) that may run more than
one pod (`spec.replicas` > 1, a HorizontalPodAutoscaler targeting it with `maxReplicas` > 1, a
KEDA ScaledObject with `maxReplicaCount` > 1, 100 when unset, or a DaemonSet), with the polling
transport enabled on the server (and on at least one paired client, when clients are paired),
reached by a route or Service without session affinity. Affinity means a DestinationRule
`trafficPolicy.loadBalancer.consistentHash` (cookie, header, source IP or query parameter) for
the destination host, at the top level, for the port, or for the route's subset. A Service's
`sessionAffinity: ClientIP` does not count behind Istio, whose proxies pick endpoints
themselves (SG303 reports it). An adapter (Redis, ...) does not remove the need either.

Why it matters
--------------
An Engine.IO polling session is a series of HTTP requests carrying a `sid` that only the pod
that created it knows. When the second request lands on another pod, the server answers HTTP 400
`{"code":1,"message":"Session ID unknown"}` and the client reconnects in a loop; the WebSocket
upgrade fails the same way. It works with one replica and breaks when the HPA scales out.

How to fix
----------
Hash every request of a session to one pod, or drop polling on both ends.

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: chat
  namespace: web
spec:
  host: chat.web.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: io-affinity, path: /, ttl: 0s}
---
# or WebSocket only, server and clients:
#   new Server(httpServer, { transports: ["websocket"] }); io(url, { transports: ["websocket"] })
metadata:
  annotations:
    socketguard.io/transports: websocket
```
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef, render_path
from socketguard.engine.routing import Backend, RouteHop
from socketguard.engine.routing.hosts import fqdn
from socketguard.engine.routing.istio import IstioRouter
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.scale import Replicas, cookie_affinity_fix, polls, server_replicas, sidecar_injected, sticky

RULE = Rule.define(__doc__, code="SG301", name="sticky-session-missing", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@dataclass(frozen=True)
class Path:
    """One way requests reach the server: a route destination, or a Service used directly."""

    where: str
    backend: Backend
    related: tuple[ObjectRef, ...]
    kube_proxy: bool = False  # connections balanced by kube-proxy, which honours sessionAffinity: ClientIP
    hop: RouteHop | None = None

    @property
    def held(self) -> bool:
        return sticky(self.backend) or (self.kube_proxy and any(a.kind == "client-ip" for a in self.backend.affinity))


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server in ctx.servers.values():
        replicas = server_replicas(ctx, server.workload)
        if replicas is None or not replicas.several or not polls(server, ctx.traces.pairs_of(server.workload)):
            continue
        paths = list(_paths(ctx, server))
        unsticky = [p for p in paths if not p.held]
        if unsticky:
            yield _finding(server, replicas, unsticky)


def _paths(ctx: Context, server: ServerSpec) -> Iterator[Path]:
    seen: set[tuple[object, ...]] = set()
    for trace, delivery in ctx.traces.deliveries_to(server.workload):
        if trace.shadowed:
            continue  # the rule this trace was built for never receives the handshake
        hop = delivery.hop
        key: tuple[object, ...] = (hop.route, delivery.backend.path) if hop else (delivery.backend.service,)
        if key in seen:
            continue
        seen.add(key)
        if hop is not None:
            where = f"{hop.route} {render_path(delivery.backend.path)} (host {delivery.backend.host})"
            yield Path(where, delivery.backend, (hop.route, *_services(delivery.backend)), hop=hop)
        else:
            yield Path(f"the direct connection to {delivery.backend.service}", delivery.backend,
                       _services(delivery.backend),
                       kube_proxy=not sidecar_injected(ctx.inventory, trace.request.source_namespace))
    if not seen:
        yield from _unrouted(ctx, server)


def _unrouted(ctx: Context, server: ServerSpec) -> Iterator[Path]:
    """No route reaches the server: in-cluster clients use the Services that select it."""
    # Once per namespace: resolving every Service of it for each unrouted server would be squared work.
    for ref, backend in ctx.memo_for(_services_by_workload, server.workload.namespace).get(server.workload, []):
        # unknown in-cluster clients: assumed to connect through kube-proxy, not a sidecar
        yield Path(f"{ref} (no route)", backend, (ref,), kube_proxy=True)


def _services_by_workload(ctx: Context, namespace: str) -> dict[ObjectRef, list[tuple[ObjectRef, Backend]]]:
    """The Services of the namespace (by name) and their resolution, by each workload they select."""
    router = ctx.router_of(IstioRouter)  # Istio's resolution adds DestinationRule affinity
    found: dict[ObjectRef, list[tuple[ObjectRef, Backend]]] = {}
    if router is None:
        return found
    for service in ctx.inventory.services(namespace):
        ref = ctx.inventory.ref_of(service)
        backend = router.resolve_backend(fqdn(ref.namespace, ref.name), ref.namespace, ())
        for workload in dict.fromkeys(backend.workloads):
            found.setdefault(workload, []).append((ref, backend))
    return found


def _services(backend: Backend) -> tuple[ObjectRef, ...]:
    return () if backend.service is None else (backend.service,)


def _finding(server: ServerSpec, replicas: Replicas, paths: list[Path]) -> Finding:
    first = paths[0]
    others = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    client_ip = any(a.kind == "client-ip" for p in paths for a in p.backend.affinity)
    ignored = "; its Service's sessionAffinity: ClientIP is ignored by the proxy, which picks pods itself" \
        if client_ip else ""
    message = (f"{replicas.describe} serves Socket.IO polling, but {first.where}{others} has no session affinity"
               f"{ignored}: a session's next request lands on another pod and gets HTTP 400 Session ID unknown")
    fixes = [cookie_affinity_fix(first.hop, first.backend, server.workload.namespace),
             f"or use WebSocket only on both ends: `transports: ['websocket']` in the server and every client, and "
             f"`socketguard.io/transports: websocket` on {server.workload}"]
    assumptions = []
    if server.inferred:
        assumptions.append("polling assumed enabled (default transports polling,websocket)")
    if replicas.hpa is not None and (replicas.count or 0) <= 1:
        assumptions.append(f"one replica today; {replicas.hpa} may scale it to {replicas.hpa_max}")
    related = [*replicas.related, *(r for p in paths for r in p.related)]
    path = ("spec",) if replicas.count is None else ("spec", "replicas")  # a DaemonSet has no replicas field
    return RULE.finding(server.workload, path, message, fixes=fixes, related=related,
                        assumptions=assumptions)

