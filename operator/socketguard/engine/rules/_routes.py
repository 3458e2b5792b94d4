"""Shared readings of traces for the routing rules (SG101-SG113); not a rule module.

The routing rules look at the same few things: which traces are live (not shadowed, so the
rule that really handles the request is the one checked), whether a hop reaches a server, and
how to name a hop, a Service port or a client annotation in a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from socketguard.engine.context import Context
from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.models.services import Service, ServicePort
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Backend, RouteHop
from socketguard.engine.routing.istio import is_socket_rule
from socketguard.engine.routing.registry import INGRESS, TRAEFIK_ROUTES
from socketguard.engine.trace import Trace
from socketguard.engine.urls import split_url

if TYPE_CHECKING:
    from socketguard.engine.routing.ingress_nginx import IngressNginxRouter
    from socketguard.engine.routing.traefik import TraefikRouter

ANNOTATIONS: FieldPath = ("metadata", "annotations")


def reaches_server(ctx: Context, hop: RouteHop) -> bool:
    return any(w in ctx.servers for b in hop.backends for w in b.workloads)


def client_shadow(ctx: Context, trace: Trace) -> tuple[RouteHop, RouteHop] | None:
    """(winner, the later hop it hides) when a client's winner reaches no server but a later one does."""
    if trace.kind != "client" or trace.hop is None or reaches_server(ctx, trace.hop):
        return None
    later = next((h for h in trace.routing.hops[1:] if reaches_server(ctx, h)), None)
    return None if later is None else (trace.hop, later)


def live_traces(ctx: Context) -> list[Trace]:
    """Traces whose winning rule is the one meant for the request (SG103 reports the others)."""
    return ctx.memo(_live_traces)  # most routing rules read them: select once per analysis


def _live_traces(ctx: Context) -> list[Trace]:
    return [t for t in ctx.traces.traces if not t.shadowed and client_shadow(ctx, t) is None]


def live_backends(trace: Trace) -> Iterator[Backend]:
    """The destinations the request really reaches: the winner's, or the Service reached directly."""
    if trace.hop is not None:
        yield from trace.hop.backends
    elif trace.routing.direct is not None:
        yield trace.routing.direct


def hop_text(hop: RouteHop) -> str:
    return f"{hop.route} {hop.rule_path_text} ({hop.match_text})"


def hop_field(hop: RouteHop) -> FieldPath:
    return hop.match_path or hop.rule_path


def client_field(client: ClientSpec, key: str) -> FieldPath:
    return client.sources.get(key) or ANNOTATIONS


def client_url(client: ClientSpec) -> str | None:
    """The URL `io()` is given, or the page origin when it is given none (or a relative one)."""
    return client.url if client.url and not client.url.startswith("/") else client.origin


def port_index(service: Service, number: int | None) -> int | None:
    for index, port in enumerate(service.spec.ports):
        if port.port == number:
            return index
    return None


def port_text(port: ServicePort) -> str:
    return f"{port.port}/{port.name}" if port.name else str(port.port)


def ports_text(service: Service) -> str:
    return ", ".join(port_text(p) for p in service.spec.ports) or "none"


def service_of(ctx: Context, ref: ObjectRef | None) -> Service | None:
    return None if ref is None else ctx.inventory.service(ref.namespace, ref.name)


def socket_virtual_services(ctx: Context) -> set[ObjectRef]:
    """VirtualServices that carry socket traffic: a socket.io match, or a rule a trace passes.

    (Routes of other routers that traces pass are included too; the Istio rules SG110 and SG113
    only ask about VirtualServices.)
    """
    return ctx.memo(_socket_virtual_services)


def _socket_virtual_services(ctx: Context) -> set[ObjectRef]:
    found = {ctx.inventory.ref_of(vs) for vs in ctx.inventory.virtual_services()
             if any(is_socket_rule(rule) for rule in vs.spec.http)}
    for trace in ctx.traces.traces:
        found.update(hop.route for hop in trace.routing.hops)
        found.update(ref for ref, _ in trace.routing.hidden_routes)
    return found


def targets_text(ctx: Context, hop: RouteHop) -> str:
    """Where a hop sends the request, in words: Services and the workloads they select."""
    if not hop.delivers:
        return "a redirect or direct response"
    parts = []
    for backend in hop.backends:
        if backend.service is None:
            parts.append(f"host {backend.host} (no Service)")
            continue
        workloads = ", ".join(f"{w.kind} {w.name}" for w in backend.workloads) or "no pods"
        parts.append(f"{backend.service} ({workloads})")
    return "; ".join(parts) or "nowhere"


def url_namespace(client: ClientSpec) -> str:
    """The Socket.IO namespace `io(url)` connects to: the URL's path, `/` when it has none."""
    if not client.url:
        return "/"
    path = split_url(client.url).path.rstrip("/")
    return path or "/"


def serves_namespace(server: ServerSpec, namespace: str) -> bool:
    return any(fnmatchcase(namespace, pattern.rstrip("/") or "/") for pattern in server.namespaces)


def paired_servers(ctx: Context, client: ClientSpec) -> list[ServerSpec]:
    # indexed once per analysis: a scan per client is quadratic
    return list(ctx.memo(_servers_by_client).get(client.workload, {}).values())


def _servers_by_client(ctx: Context) -> dict[ObjectRef, dict[ObjectRef, ServerSpec]]:
    by_client: dict[ObjectRef, dict[ObjectRef, ServerSpec]] = {}
    for pair in ctx.pairs:
        by_client.setdefault(pair.client.workload, {})[pair.server.workload] = pair.server
    return by_client


def looks_like_http_path(ctx: Context, client: ClientSpec, namespace: str) -> bool:
    """Whether a URL path reads as the HTTP route prefix (`/mageagent` before `/mageagent/socket.io/`)."""
    if "socket.io" in namespace or client.path.startswith(namespace + "/"):
        return True
    return namespace in ctx.memo(_route_path_prefixes)  # a scan of the route traces per client is quadratic


def _route_path_prefixes(ctx: Context) -> frozenset[str]:
    """Every `P` such that some route trace's path starts with `P/`."""
    return frozenset(path[:index] for path in {t.request.path for t in ctx.traces.route_traces()}
                     for index, char in enumerate(path) if char == "/")


def destination_field(hop: RouteHop, backend: Backend, what: str) -> FieldPath:
    """The field of a route destination to change, in the router's own schema.

    `what` is "host" (the Service name), "port", or "destination" (the whole entry).
    """
    if hop.router == "istio":
        return {"host": (*backend.path, "destination", "host"),
                "port": (*backend.path, "destination", "port", "number"),
                }.get(what, (*backend.path, "destination"))
    # Gateway API backendRefs[j] and Ingress backend.service both have `name` and `port`.
    return {"host": (*backend.path, "name"), "port": (*backend.path, "port")}.get(what, backend.path)


def destination_owner(hop: RouteHop, backend: Backend) -> ObjectRef:
    """The object holding a destination: the hop's route, or the canary Ingress a backend comes from."""
    return backend.route or hop.route


def port_snippet(hop: RouteHop, number: int) -> str:
    """How the route names a Service port, in the router's own schema."""
    return f"port: {number}" if hop.router == "gateway-api" else f"port: {{number: {number}}}"


def ingress_nginx_router(ctx: Context) -> IngressNginxRouter | None:
    """ingress-nginx's router; None without an Ingress, and then its code is never loaded."""
    if not ctx.inventory.has_kind(*INGRESS):
        return None
    from socketguard.engine.routing.ingress_nginx import IngressNginxRouter

    return ctx.router_of(IngressNginxRouter)


def traefik_router(ctx: Context) -> TraefikRouter | None:
    """Traefik's router; None without an Ingress or IngressRoute, and then its code is never loaded."""
    if not any(ctx.inventory.has_kind(*kind) for kind in TRAEFIK_ROUTES):
        return None
    from socketguard.engine.routing.traefik import TraefikRouter

    return ctx.router_of(TraefikRouter)
