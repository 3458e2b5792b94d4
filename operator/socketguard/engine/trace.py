"""Traces: the hops from a client (or a socket route) to the pods that serve it.

Two kinds of trace are built, through every registered router alike (`Router` protocol):
- a *route* trace for every candidate a router lists (a rule whose match names a `socket.io`
  segment, or that reaches an annotated server): the handshake that rule is meant for, routed
  through the same router for the whole host, so shadowing by an earlier rule shows;
- a *client* trace for every annotated client: its handshake request routed like any request.
Workloads behind a `socket.io` route that carry no server annotations become *inferred*
servers with the default contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from socketguard.engine.contract import ClientSpec, ContractSet, ServerSpec, annotated_keys, default_server
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend, Request, RouteHop, Router, RoutingResult
from socketguard.engine.routing.candidates import Candidate
from socketguard.engine.routing.decide import route_everywhere
from socketguard.engine.routing.hosts import fqdn, in_cluster_service
from socketguard.engine.urls import split_url
from socketguard.engine.values import value_type


@value_type
class Pairing:
    """A client and one server its handshake reaches (by routing, or pinned by client-server)."""

    client: ClientSpec
    server: ServerSpec
    trace: Trace | None = None


@value_type
class Delivery:
    """One workload a trace reaches, through one backend of one hop."""

    backend: Backend
    workload: ObjectRef
    server: ServerSpec | None
    hop: RouteHop | None
    upstream_path: str


@value_type
class Trace:
    """A request followed through the routers: a client's handshake or a socket route's own."""

    kind: Literal["client", "route"]
    request: Request
    routing: RoutingResult
    client: ClientSpec | None = None
    origin: RouteHop | None = None  # route traces: the rule the trace was built for
    deliveries: tuple[Delivery, ...] = ()
    # Worked out once, when built: the rules read them about eighty thousand times in a large lint.
    hop: RouteHop | None = field(init=False, compare=False, repr=False)  # the rule that handles it (first match)
    shadowed: bool = field(init=False, compare=False, repr=False)  # an earlier rule takes the origin's request

    def __post_init__(self) -> None:
        hop, origin = self.routing.winner, self.origin
        # value types are frozen to the type checker only (see `value_type`): this sets them once
        object.__setattr__(self, "hop", hop)
        object.__setattr__(self, "shadowed", origin is not None and hop is not None and (
            hop.route, hop.rule_path) != (origin.route, origin.rule_path))

    @property
    def servers(self) -> list[ServerSpec]:
        return list({d.server.workload: d.server for d in self.deliveries if d.server is not None}.values())


@dataclass
class TraceSet:
    """Every trace of an analysis, the servers (annotated and inferred) and the client-server pairs."""

    traces: list[Trace] = field(default_factory=list)
    servers: dict[ObjectRef, ServerSpec] = field(default_factory=dict)
    inferred: set[ObjectRef] = field(default_factory=set)
    pairs: list[Pairing] = field(default_factory=list)
    # lazy indexes, built after the builder has filled the lists above
    _pairs_by_server: dict[ObjectRef, list[Pairing]] | None = field(default=None, repr=False, compare=False)
    _deliveries_by_workload: dict[ObjectRef, list[tuple[Trace, Delivery]]] | None = field(
        default=None, repr=False, compare=False)
    _servers_by_client: list[tuple[ClientSpec, tuple[ServerSpec, ...]]] | None = field(
        default=None, repr=False, compare=False)
    _clients_by_server: list[tuple[ServerSpec, tuple[ClientSpec, ...]]] | None = field(
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

    def servers_by_client(self) -> list[tuple[ClientSpec, tuple[ServerSpec, ...]]]:
        """Each paired client once, with each server it reaches once, in pairing order; grouped on first use."""
        if self._servers_by_client is None:
            self._servers_by_client = _grouped((pair.client, pair.server) for pair in self.pairs)
        return self._servers_by_client

    def clients_by_server(self) -> list[tuple[ServerSpec, tuple[ClientSpec, ...]]]:
        """Each paired server once, with each client that reaches it once, in pairing order; grouped on first use."""
        if self._clients_by_server is None:
            self._clients_by_server = _grouped((pair.server, pair.client) for pair in self.pairs)
        return self._clients_by_server

    def deliveries_to(self, workload: ObjectRef) -> list[tuple[Trace, Delivery]]:
        """Every (trace, delivery) reaching one workload, shadowed traces included; indexed on first use."""
        if self._deliveries_by_workload is None:
            self._deliveries_by_workload = {}
            for trace in self.traces:
                for delivery in trace.deliveries:
                    self._deliveries_by_workload.setdefault(delivery.workload, []).append((trace, delivery))
        return self._deliveries_by_workload.get(workload, [])


Side = TypeVar("Side", ClientSpec, ServerSpec)
Peer = TypeVar("Peer", ClientSpec, ServerSpec)


def _grouped(pairs: Iterable[tuple[Side, Peer]]) -> list[tuple[Side, tuple[Peer, ...]]]:
    """Each side once (the first spec of its workload), with each of its peers once, in order."""
    sides: dict[ObjectRef, Side] = {}
    peers: dict[ObjectRef, dict[ObjectRef, Peer]] = {}
    for side, peer in pairs:
        sides.setdefault(side.workload, side)
        peers.setdefault(side.workload, {}).setdefault(peer.workload, peer)
    return [(sides[ref], tuple(peers[ref].values())) for ref in sides]


def build_traces(inventory: Inventory, contracts: ContractSet, routers: Sequence[Router]) -> TraceSet:
    """Route and client traces through `routers` (each router's rules, every client's handshake)."""
    builder = _Builder(inventory, contracts, routers)
    return builder.build()


def route_anywhere(routers: Sequence[Router], request: Request) -> RoutingResult:
    """The answer of the router that handles a client's request (also `socketguard compare`'s).

    The routers answer as `socketguard route` asks them (`routing.decide.route_everywhere`), in
    registry order: the first result with a matching rule wins, then the first whose entrance
    serves a routed host, then the first router asked (it says how the request fails).
    """
    results = [result for _, result in route_everywhere(routers, request)]
    return next((r for r in results if r.hops), None) or next(
        (r for r in results if r.entrance is not None and r.host_routed), None) or (
        results[0] if results else RoutingResult(request=request))


def handshake_path(socket_path: str) -> str:
    """The HTTP path of the handshake for a client `path` option: `P/`."""
    return socket_path.rstrip("/") + "/"


class _Builder:
    def __init__(self, inventory: Inventory, contracts: ContractSet, routers: Sequence[Router]) -> None:
        self.inventory = inventory
        self.contracts = contracts
        self.routers = tuple(routers)
        self.result = TraceSet(servers=dict(contracts.servers))
        self._by_name: dict[tuple[str, str], ServerSpec] | None = None

    def build(self) -> TraceSet:
        server_paths = {ref: handshake_path(spec.path) for ref, spec in self.contracts.servers.items()}
        for router in self.routers:
            for candidate in router.candidates(server_paths):
                self._candidate_trace(router, candidate)
        for client in self.contracts.clients.values():
            trace = self._client_trace(client)
            if trace is not None:
                self.result.traces.append(trace)
                self._pair(client, trace)
        return self.result

    # -- route traces ------------------------------------------------------------------------
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
            if backend.weight <= 0 and backend.chosen_by is None:
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
        return route_anywhere(self.routers, request)

    def _client_request(self, client: ClientSpec) -> Request | None:
        url = client.url if client.url and not client.url.startswith("/") else client.origin
        if url is None:
            return None
        parts = split_url(url)
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
            pinned = self._servers_by_name().get((client.server.namespace, client.server.name))
            servers = [pinned] if pinned is not None else []
        for server in servers:
            self.result.pairs.append(Pairing(client, server, trace))

    def _servers_by_name(self) -> dict[tuple[str, str], ServerSpec]:
        """The first server (in `servers` order) of each namespace and name; built once the route
        traces have inferred every server, so pinned clients are not paired by a scan each."""
        if self._by_name is None:
            self._by_name = {}
            for ref, spec in self.result.servers.items():
                self._by_name.setdefault((ref.namespace, ref.name), spec)
        return self._by_name

