"""The Service port's protocol keeps HTTP routing from applying, or makes the proxy speak HTTP/2 to the pod.

What it checks
--------------
Istio picks a Service port's protocol from `appProtocol`, else from the port name's prefix
before the first `-` (`http`, `http2`, `https`, `grpc`, `tcp`, `tls`, `mongo`, `redis`,
`mysql`, ...); anything else is sniffed. SocketGuard checks the port each socket route or
client handshake reaches:

- a mesh route (VirtualService bound to `mesh`) to a `tcp`, `tls`, `mongo`, `redis` or `mysql`
  port: error, the sidecar treats the traffic as opaque TCP and never applies the HTTP route;
- an `http2`, `grpc` or h2c (`kubernetes.io/h2c`) port in front of a Socket.IO server: error,
  the proxy speaks HTTP/2 to a pod that answers only HTTP/1.1, at gateways and in the mesh;
- a `tcp`-like port behind an ingress gateway (the Gateway server's protocol decides there, so
  it works, but mesh clients lose HTTP routing), or an unnamed or unknown port (sniffed): info.

Behind a Gateway API route only `appProtocol` counts (`kubernetes.io/h2c`); ingress-nginx
proxies HTTP/1.1 whatever the port is called, so its routes are not checked.

Why it matters
--------------
Path matches and rewrites silently stop applying, or every request fails with a protocol
error (`upstream connect error ... protocol error`), although nothing in the route is wrong.

How to fix
----------
Declare the port as HTTP/1.1, by name prefix or `appProtocol`:

```yaml
apiVersion: v1
kind: Service
spec:
  ports:
  - name: http-socketio     # or appProtocol: http
    port: 80
    targetPort: http
```
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models.services import ServicePort
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules._routes import hop_text, live_backends, live_traces, port_index, port_text, service_of
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG107", name="port-protocol-not-http", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)

TCP_LIKE = frozenset({"tcp", "tls", "mongo", "redis", "mysql"})
HTTP2_LIKE = frozenset({"http2", "grpc", "grpc-web", "h2c", "kubernetes.io/h2c"})
KNOWN = TCP_LIKE | HTTP2_LIKE | frozenset({"http", "https", "udp", "kubernetes.io/ws", "kubernetes.io/wss"})


def port_protocol(port: ServicePort) -> tuple[str | None, str]:
    """Istio's protocol of a Service port (None: sniffed) and the field that decides it."""
    if port.app_protocol:
        return port.app_protocol.lower(), "appProtocol"
    if port.name:
        prefix = port.name.split("-", 1)[0].lower()
        return (prefix if prefix in KNOWN else None), "name"
    return None, "name"


@dataclass
class _Use:
    """How socket traffic reaches a Service port: mesh routes, gateways, and the servers behind it."""

    mesh_route: RouteHop | None = None  # the first route mesh traffic takes to it
    gateway: bool = False
    servers: set[ObjectRef] = field(default_factory=set)
    related: set[ObjectRef] = field(default_factory=set)
    istio: bool = False  # reached through Istio (else only through Gateway API, which reads appProtocol)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    uses: dict[tuple[ObjectRef, int], _Use] = {}
    for trace in live_traces(ctx):
        via = trace.routing.entrance.via if trace.routing.entrance else trace.request.via
        hop = trace.hop
        router = hop.router if hop else "istio"  # no route: the sidecar connects directly
        if router == "ingress-nginx":
            continue  # nginx proxies HTTP/1.1 to the endpoints whatever the port is called
        for backend in live_backends(trace):
            service = service_of(ctx, backend.service)
            if service is None or backend.service is None:
                continue
            index = port_index(service, backend.service_port)
            if index is None or not _may_be_reported(service.spec.ports[index]):
                continue
            use = uses.get((backend.service, index))
            if use is None:
                use = uses[(backend.service, index)] = _Use()
            if hop is not None:
                use.related.add(hop.route)
                if via == "mesh" and use.mesh_route is None:
                    use.mesh_route = hop
            use.gateway |= via == "gateway"
            use.istio |= router == "istio"
            use.servers.update(w for w in backend.workloads if w in ctx.servers)
    for (ref, index), use in sorted(uses.items()):
        service = ctx.inventory.service(ref.namespace, ref.name)
        if service is not None:
            yield from _judge(ref, index, service.spec.ports[index], use)


def _may_be_reported(port: ServicePort) -> bool:
    """Whether `_judge` can find fault with the port at all: a port Istio knows as HTTP/1.1 never
    is, whatever reaches it (most ports, so their uses are not gathered)."""
    protocol = port_protocol(port)[0]
    return protocol is None or protocol in TCP_LIKE or protocol in HTTP2_LIKE


def _judge(ref: ObjectRef, index: int, port: ServicePort, use: _Use) -> Iterator[Finding]:
    protocol, decided_by = port_protocol(port)
    if not use.istio and decided_by != "appProtocol":
        return  # port-name prefixes are Istio's convention
    if protocol in HTTP2_LIKE and use.servers:
        servers = ", ".join(sorted(str(s) for s in use.servers))
        yield _finding(ref, index, port, decided_by, f"is {protocol} to Istio, so the proxy speaks HTTP/2 to "
                       f"{servers}, whose Socket.IO server answers only HTTP/1.1", [*use.related, *use.servers])
    elif protocol in TCP_LIKE and use.mesh_route is not None:
        yield _finding(ref, index, port, decided_by, f"is {protocol} to Istio, so sidecars treat it as opaque TCP "
                       f"and never apply {hop_text(use.mesh_route)} (path match and rewrite)", use.related)
    elif protocol in TCP_LIKE and use.gateway:
        yield _finding(ref, index, port, decided_by, f"is {protocol} to Istio: harmless behind the ingress gateway, "
                       "whose server protocol decides HTTP routing, but mesh clients get no HTTP routing to it",
                       use.related, Severity.INFO)
    elif protocol is None:
        yield _finding(ref, index, port, decided_by, "has no protocol Istio recognises (name prefix or "
                       "appProtocol), so its protocol is sniffed from the first bytes", use.related, Severity.INFO)


def _finding(ref: ObjectRef, index: int, port: ServicePort, decided_by: str, problem: str,
             related: Iterable[ObjectRef], severity: Severity | None = None) -> Finding:
    """The finding on the field that decides the protocol (texts built only here: most ports speak HTTP)."""
    path: FieldPath = ("spec", "ports", index, decided_by) if decided_by == "appProtocol" or port.name else (
        "spec", "ports", index)
    rename = f"name the port `http-{port.name or 'socketio'}` or set `appProtocol: http`"
    return RULE.finding(ref, path, f"{ref} port {port_text(port)} {problem}", fixes=[rename], related=related,
                        severity=severity)
