"""The route's port, the Service's targetPort and the server's container port do not line up.

What it checks
--------------
For every socket route and client handshake, SocketGuard follows the destination port to the
pod: `destination.port.number` must be a port of the Service (and is required when the Service
has several ports), the Service port's `targetPort` (number or name) must be a container port
of the workloads the Service selects, and that container port must be the server's
`socketguard.io/port`. A client connecting straight to a Service (`http://chat:8080`) must use
one of its ports.

Why it matters
--------------
Istio answers a destination port the Service does not have with 503 (`NR`/`UH`), a multi-port
Service without a port cannot be routed at all, and a targetPort name missing from the pod
template leaves the Service without endpoints. Each breaks every handshake while the
Deployment is healthy.

How to fix
----------
Name the Service port in the route, and target the container port the server listens on:

```yaml
# VirtualService
route:
- destination:
    host: chat
    port: {number: 80}
---
# Service
ports:
- name: http
  port: 80
  targetPort: http     # a containerPort name of the server's pod template
---
# Deployment
ports:
- name: http
  containerPort: 8080
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models.services import Service
from socketguard.engine.models.workloads import ContainerPort
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend
from socketguard.engine.rules._routes import (
    client_field,
    client_url,
    destination_field,
    destination_owner,
    hop_text,
    live_backends,
    live_traces,
    port_index,
    port_snippet,
    port_text,
    ports_text,
    service_of,
)
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Trace
from socketguard.engine.urls import split_url

RULE = Rule.define(__doc__, code="SG105", name="destination-port-unresolved", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    # A client's handshake and the route trace of the rule it takes share that rule's hop and
    # backends (the router caches the routing): a port behind a hop is judged once, by identity.
    judged: set[tuple[int, int]] = set()
    for trace in live_traces(ctx):
        for backend in live_backends(trace):
            service = service_of(ctx, backend.service)
            if service is None or service.spec.type == "ExternalName":
                continue
            if backend.service_port is None:
                yield from _unresolved_service_port(trace, backend, service)
                continue
            seen = (id(trace.hop), id(backend))
            if seen in judged:
                continue
            judged.add(seen)
            for workload in backend.workloads:
                yield from _target_port(ctx, trace, backend, service, workload)


def _unresolved_service_port(trace: Trace, backend: Backend, service: Service) -> Iterator[Finding]:
    assert backend.service is not None
    hop = trace.hop
    if not service.spec.ports:
        yield RULE.finding(backend.service, ("spec", "ports"), f"{backend.service} has no ports, so the handshake "
                           f"GET {trace.request.path} cannot reach it", fixes=["add the server's port to the Service"])
        return
    if hop is None:
        if trace.client is None:
            return
        url = split_url(client_url(trace.client) or "")
        yield RULE.finding(
            trace.client.workload, client_field(trace.client, "client-url"),
            f"{trace.client.workload} connects to {url.hostname} on port {trace.request.port}, which is not "
            f"a port of {backend.service} ({ports_text(service)})",
            fixes=[f"put the Service port in `socketguard.io/client-url` (and the client's URL): "
                   f"{url.scheme}://{url.hostname}:{service.spec.ports[0].port}"],
            related=[backend.service])
        return
    if backend.port_number is not None:
        message = (f"{hop_text(hop)} routes to port {backend.port_number} of {backend.service}, which has only "
                   f"{ports_text(service)}")
        path = destination_field(hop, backend, "port")
        fixes = [f"set `{port_snippet(hop, p.port)}` to the Service port that serves Socket.IO"
                 for p in service.spec.ports[:1]]
    else:
        message = (f"{hop_text(hop)} routes to {backend.service} without a port, but the Service has several "
                   f"({ports_text(service)}), so Istio cannot pick one")
        path = destination_field(hop, backend, "destination")
        fixes = [f"add `{port_snippet(hop, p.port)}` for {port_text(p)}" for p in service.spec.ports]
    related = [backend.service, *([trace.client.workload] if trace.client else [])]
    yield RULE.finding(destination_owner(hop, backend), path, message, fixes=fixes, related=related,
                       assumptions=hop.assumptions)


def _target_port(ctx: Context, trace: Trace, backend: Backend, service: Service,
                 workload_ref: ObjectRef) -> Iterator[Finding]:
    assert backend.service is not None
    workload = ctx.inventory.workload(workload_ref.kind, workload_ref.namespace, workload_ref.name)
    index = port_index(service, backend.service_port)
    if workload is None or index is None:
        return
    declared = [p for c in workload.containers for p in c.ports]
    target = backend.target_port
    resolved = _container_port(declared, target)
    if resolved is None and (isinstance(target, str) or declared):
        target_path = ("spec", "ports", index, "targetPort")
        listed = ", ".join(_container_text(p) for p in declared) or "none declared"
        assumptions = [] if isinstance(target, str) else [
            f"the container listens only on its declared ports ({listed})"]
        yield RULE.finding(
            backend.service, target_path,
            f"{backend.service} port {service.spec.ports[index].port} targets {target!r}, which is not a container "
            f"port of {workload_ref} ({listed})",
            fixes=[f"set `targetPort: {_container_text(p)}`" for p in declared[:1]]
            or [f"declare the port in {workload_ref}'s pod template"],
            related=[workload_ref, *([trace.hop.route] if trace.hop else [])], assumptions=assumptions)
        return
    yield from _server_port(ctx, trace, backend, service, workload_ref, declared,
                            resolved.container_port if resolved else target)


def _server_port(ctx: Context, trace: Trace, backend: Backend, service: Service, workload_ref: ObjectRef,
                 declared: list[ContainerPort], arrives: int | str | None) -> Iterator[Finding]:
    assert backend.service is not None
    server = ctx.servers.get(workload_ref)
    if server is None or server.port is None or not isinstance(arrives, int):
        return
    wanted = _container_port(declared, server.port)
    wanted_number = wanted.container_port if wanted else server.port
    if not isinstance(wanted_number, int) or wanted_number == arrives:
        return
    index = port_index(service, backend.service_port)
    assert index is not None
    better = next((p for p in service.spec.ports
                   if (resolved := _container_port(declared, p.effective_target_port)) is not None
                   and resolved.container_port == wanted_number), None)
    message = (f"{backend.service} port {backend.service_port} delivers to container port {arrives} of "
               f"{workload_ref}, but its Socket.IO server listens on {server.port}"
               f"{f' ({wanted_number})' if wanted_number != server.port else ''}")
    related = [workload_ref, *([trace.hop.route] if trace.hop else [])]
    if better is not None and trace.hop is not None:
        snippet = port_snippet(trace.hop, better.port)
        yield RULE.finding(destination_owner(trace.hop, backend), destination_field(trace.hop, backend, "port"),
                           message, fixes=[f"route to Service port {port_text(better)}: `{snippet}`"],
                           related=[backend.service, *related])
        return
    target = wanted.name if wanted is not None and wanted.name else wanted_number
    yield RULE.finding(backend.service, ("spec", "ports", index, "targetPort"), message,
                       fixes=[f"set `targetPort: {target}`",
                              "or correct `socketguard.io/port` if the server listens elsewhere"],
                       related=related)


def _container_port(declared: list[ContainerPort], wanted: int | str | None) -> ContainerPort | None:
    for port in declared:
        if port.container_port == wanted or (isinstance(wanted, str) and port.name == wanted):
            return port
    return None


def _container_text(port: ContainerPort) -> str:
    return port.name or str(port.container_port)
