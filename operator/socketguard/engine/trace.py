"""Traces: the hops from a client (or a socket route) to the pods that serve it.

Two kinds of trace are built:
- a *client* trace for every annotated client: its handshake request routed like any request;
- a *route* trace for every route rule that looks like a socket route (its match has a
  `socket.io` segment) or that reaches an annotated server: the handshake that rule is meant
  for, routed through the whole host, so shadowing by an earlier rule shows.
Workloads behind a `socket.io` route that carry no server annotations become *inferred*
servers with the default contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from socketguard.engine.context import Pairing
from socketguard.engine.contract import ClientSpec, ContractSet, ServerSpec, annotated_keys, default_server
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.istio import HTTPMatchRequest, HTTPRoute, VirtualService
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend, Request, RouteHop, Router, RoutingResult
from socketguard.engine.routing.candidates import Candidate
from socketguard.engine.routing.gatewayapi import GatewayAPIRouter
from socketguard.engine.routing.hosts import fqdn, in_cluster_service
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter
from socketguard.engine.routing.istio import IstioRouter, string_matches

_SOCKET_SEGMENT = re.compile(r"^(.*?/socket\.io)(?:/|$)")
_REGEX_LITERAL = re.compile(r"^\^?((?:[^\\.^$*+?()\[\]{}|]|\\.)*)")


@dataclass(frozen=True)
class Delivery:
    """One workload a trace reaches, through one backend of one hop."""

    backend: Backend
    workload: ObjectRef
    server: ServerSpec | None
    hop: RouteHop | None
    upstream_path: str


@dataclass(frozen=True)
class Trace:
    kind: Literal["client", "route"]
    request: Request
    routing: RoutingResult
    client: ClientSpec | None = None
    origin: RouteHop | None = None  # route traces: the rule the trace was built for
    deliveries: tuple[Delivery, ...] = ()

    @property
    def hop(self) -> RouteHop | None:
        """The rule that actually handles the request (first match wins)."""
        return self.routing.winner

    @property
    def shadowed(self) -> bool:
        return self.origin is not None and self.hop is not None and (
            self.hop.route, self.hop.rule_path) != (self.origin.route, self.origin.rule_path)

    @property
    def servers(self) -> list[ServerSpec]:
        return list({d.server.workload: d.server for d in self.deliveries if d.server is not None}.values())


@dataclass
class TraceSet:
    traces: list[Trace] = field(default_factory=list)
    servers: dict[ObjectRef, ServerSpec] = field(default_factory=dict)
    inferred: set[ObjectRef] = field(default_factory=set)
    pairs: list[Pairing] = field(default_factory=list)
    # lazy indexes, built after the builder has filled the lists above
    _pairs_by_server: dict[ObjectRef, list[Pairing]] | None = field(default=None, repr=False, compare=False)
    _deliveries_by_workload: dict[ObjectRef, list[tuple[Trace, Delivery]]] | None = field(
        default=None, repr=False, compare=False)

    def client_traces(self) -> Iterator[Trace]:
        return (t for t in self.traces if t.kind == "client")

    def route_traces(self) -> Iterator[Trace]:
        return (t for t in self.traces if t.kind == "route")

    def pairs_of(self, server: ObjectRef) -> list[Pairing]:
        """The pairings of one server workload; indexed on first use so per-server rules stay linear."""
        if self._pairs_by_server is None:
            self._pairs_by_server = {}
            for pair in self.pairs:
                self._pairs_by_server.setdefault(pair.server.workload, []).append(pair)
        return self._pairs_by_server.get(server, [])

    def deliveries_to(self, workload: ObjectRef) -> list[tuple[Trace, Delivery]]:
        """Every (trace, delivery) reaching one workload, shadowed traces included; indexed on first use."""
        if self._deliveries_by_workload is None:
            self._deliveries_by_workload = {}
            for trace in self.traces:
                for delivery in trace.deliveries:
                    self._deliveries_by_workload.setdefault(delivery.workload, []).append((trace, delivery))
        return self._deliveries_by_workload.get(workload, [])


def build_traces(inventory: Inventory, contracts: ContractSet) -> TraceSet:
    builder = _Builder(inventory, contracts)
    return builder.build()


def handshake_path(socket_path: str) -> str:
    """The HTTP path of the handshake for a client `path` option: `P/`."""
    return socket_path.rstrip("/") + "/"


class _Builder:
    def __init__(self, inventory: Inventory, contracts: ContractSet) -> None:
        self.inventory = inventory
        self.contracts = contracts
        self.router = IstioRouter(inventory)
        self.other_routers: list[Router] = [GatewayAPIRouter(inventory), IngressNginxRouter(inventory)]
        self.result = TraceSet(servers=dict(contracts.servers))

    def build(self) -> TraceSet:
        for vs in self.inventory.virtual_services():
            self._route_traces(vs)
        server_paths = {ref: handshake_path(spec.path) for ref, spec in self.contracts.servers.items()}
        for router in self.other_routers:
            for candidate in router.candidates(server_paths):
                self._candidate_trace(router, candidate)
        for client in self.contracts.clients.values():
            trace = self._client_trace(client)
            if trace is not None:
                self.result.traces.append(trace)
                self._pair(client, trace)
        return self.result

    # -- route traces ------------------------------------------------------------------------
    def _route_traces(self, vs: VirtualService) -> None:
        ref = self.inventory.ref_of(vs)
        for index, rule in enumerate(vs.spec.http):
            if not rule.route:
                continue
            for path in self._socket_paths(vs, rule):
                request = self._request_for(vs, ref, path)
                if request is None:
                    continue
                routing = self.router.route(request)
                origin = next((h for h in routing.hops if h.route == ref and h.rule_path == ("spec", "http", index)),
                              None)
                if origin is None:
                    continue
                socket_match = _has_socket_segment(rule)
                if socket_match:
                    self._infer(origin)
                deliveries = tuple(self._deliveries(origin))
                if socket_match or any(d.server for d in deliveries):
                    self.result.traces.append(Trace("route", request, routing, origin=origin, deliveries=deliveries))

    def _candidate_trace(self, router: Router, candidate: Candidate) -> None:
        routing = router.route(candidate.request)
        origin = next((h for h in routing.hops if (h.route, h.rule_path) == (candidate.route, candidate.rule_path)),
                      None)
        if origin is None:
            return
        if candidate.socket_match:
            self._infer(origin)
        deliveries = tuple(self._deliveries(origin))
        if candidate.socket_match or any(d.server for d in deliveries):
            self.result.traces.append(Trace("route", candidate.request, routing, origin=origin, deliveries=deliveries))

    def _socket_paths(self, vs: VirtualService, rule: HTTPRoute) -> list[str]:
        paths: list[str] = []
        for match in rule.match or [HTTPMatchRequest()]:
            path = _representative_path(match)
            if path is None:
                path = self._server_path_through(vs, rule, match)
            if path is not None and path not in paths:
                paths.append(path)
        return paths

    def _server_path_through(self, vs: VirtualService, rule: HTTPRoute, match: HTTPMatchRequest) -> str | None:
        """For a rule without a socket.io path: the handshake of an annotated server it reaches."""
        ref = self.inventory.ref_of(vs)
        for destination in rule.route:
            backend = self.router.resolve_backend(destination.destination.host, ref.namespace, ())
            for workload in backend.workloads:
                server = self.contracts.servers.get(workload)
                if server is None:
                    continue
                path = handshake_path(server.path)
                if match.uri is None or string_matches(match.uri, path, ignore_case=match.ignore_uri_case):
                    return path
        return None

    def _request_for(self, vs: VirtualService, ref: ObjectRef, path: str) -> Request | None:
        hosts = [h for h in vs.spec.hosts if not h.startswith("*")] or [
            "example" + h.lstrip("*") if h != "*" else "example.com" for h in vs.spec.hosts]
        if not hosts:
            return None
        gateways = [g for g in vs.spec.gateways if g != "mesh"]
        if gateways:
            return Request(host=hosts[0], path=path, via="gateway", source_namespace=ref.namespace)
        host = hosts[0]
        located = in_cluster_service(host, ref.namespace)
        if located is not None:
            host = fqdn(*located)
        return Request(host=host, path=path, scheme="http", port=80, via="mesh", source_namespace=ref.namespace)

    def _infer(self, hop: RouteHop) -> None:
        for backend in hop.backends:
            for workload_ref in backend.workloads:
                if workload_ref in self.result.servers or workload_ref in self.contracts.clients:
                    continue
                workload = self.inventory.workload(workload_ref.kind, workload_ref.namespace, workload_ref.name)
                if workload is not None and not annotated_keys(workload) - {"ignore", "enforce"}:
                    self.result.servers[workload_ref] = default_server(workload_ref)
                    self.result.inferred.add(workload_ref)

    def _deliveries(self, hop: RouteHop | None, direct: Backend | None = None,
                    upstream: str = "") -> Iterator[Delivery]:
        backends = hop.backends if hop is not None else ((direct,) if direct is not None else ())
        path = hop.upstream_path if hop is not None else upstream
        for backend in backends:
            if backend.weight <= 0:
                continue  # a destination that receives no traffic cannot break a connection
            for workload in backend.workloads:
                yield Delivery(backend, workload, self.result.servers.get(workload), hop, path)

    # -- client traces -----------------------------------------------------------------------
    def _client_trace(self, client: ClientSpec) -> Trace | None:
        request = self._client_request(client)
        if request is None:
            return None
        routing = self._route_anywhere(request)
        deliveries = tuple(self._deliveries(routing.winner, routing.direct, request.path))
        return Trace("client", request, routing, client=client, deliveries=deliveries)

    def _route_anywhere(self, request: Request) -> RoutingResult:
        """The result of the router that handles the host: Istio first (mesh requests are Istio's),
        then the first other router with a matching route, then the first that serves the host."""
        results = [self.router.route(request)]
        if request.via == "gateway":
            results += [router.route(request) for router in self.other_routers]
        return next((r for r in results if r.hops), None) or next(
            (r for r in results if r.entrance is not None and r.host_routed), results[0])

    def _client_request(self, client: ClientSpec) -> Request | None:
        url = client.url if client.url and not client.url.startswith("/") else client.origin
        if url is None:
            return None
        parts = urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        path = handshake_path(client.path)
        namespace = client.workload.namespace
        transport = "polling" if "polling" in client.transports else "websocket"
        located = in_cluster_service(host, namespace)
        if located is not None and self.inventory.service(*located) is not None:
            return Request(fqdn(*located), path, "https" if secure else "http", port, "mesh", namespace, transport,
                           client.origin)
        return Request(host, path, "https" if secure else "http", port, "gateway", namespace, transport,
                       client.origin)

    def _pair(self, client: ClientSpec, trace: Trace) -> None:
        servers = trace.servers
        if client.server is not None:
            pinned = next((s for ref, s in self.result.servers.items()
                           if (ref.namespace, ref.name) == (client.server.namespace, client.server.name)), None)
            servers = [pinned] if pinned is not None else []
        for server in servers:
            self.result.pairs.append(Pairing(client, server, trace))


def _has_socket_segment(rule: HTTPRoute) -> bool:
    return any(m.uri is not None and _representative_path(m) is not None for m in rule.match or [])


def _representative_path(match: HTTPMatchRequest) -> str | None:
    """The handshake path a socket route's match is written for, when it names socket.io."""
    uri = match.uri
    if uri is None:
        return None
    if uri.prefix is not None:
        found = _SOCKET_SEGMENT.match(uri.prefix)
        return found.group(1) + "/" if found else None
    if uri.exact is not None:
        # The handshake is always `P/`: an exact `P` is meant for it but never matches (SG104),
        # so no route trace pretends the request arrives as `P`.
        found = _SOCKET_SEGMENT.match(uri.exact)
        return found.group(1) + "/" if found else None
    if uri.regex is not None:
        literal = _REGEX_LITERAL.match(uri.regex)
        text = re.sub(r"\\(.)", r"\1", literal.group(1)) if literal else ""
        found = _SOCKET_SEGMENT.match(text + "/")
        if found is None:
            return None
        candidate = found.group(1) + "/"
        return candidate if string_matches(uri, candidate) else (
            found.group(1) if string_matches(uri, found.group(1)) else candidate)
    return None


# Public names for the rules that need the same readings of a route.
has_socket_segment = _has_socket_segment
