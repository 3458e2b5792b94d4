"""Routers answer one question: where does `GET <path>` on host H go, and how does it arrive?

Every router module (Istio, Gateway API, ingress-nginx) implements the `Router` protocol below:
it turns a `Request` into ordered `RouteHop`s (every rule that matches, in precedence order: the
first one wins) with their `Backend`s, and lists its rules as `Candidate`s. Routers are listed in
`routing/registry.py`; shared path matching lives in `routing/matching.py`. The trace builder and
most rules read only these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from socketguard.engine.objects import FieldPath, ObjectRef, render_path

if TYPE_CHECKING:
    from socketguard.engine.routing.candidates import Candidate

Via = Literal["gateway", "mesh"]


@dataclass(frozen=True)
class Request:
    """The Engine.IO handshake as a browser (or in-cluster client) sends it."""

    host: str
    path: str
    scheme: str = "https"
    port: int = 443
    via: Via = "gateway"
    source_namespace: str = "default"
    transport: str = "polling"
    origin: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"host": self.host}
        if self.origin:
            headers["origin"] = self.origin
        if self.transport == "websocket":
            headers.update({"upgrade": "websocket", "connection": "Upgrade"})
        return headers

    @property
    def query(self) -> dict[str, str]:
        return {"EIO": "4", "transport": self.transport}


@dataclass(frozen=True)
class Affinity:
    """What keeps a session on one pod, and where it is configured."""

    kind: str  # cookie, header, source-ip, query-parameter, session-persistence, client-ip
    source: ObjectRef
    path: FieldPath


@dataclass(frozen=True)
class Backend:
    """One destination of a route, resolved as far as the objects allow."""

    host: str
    path: FieldPath  # the destination in the route object
    weight: int = 100
    service: ObjectRef | None = None  # None: the host names no Service
    port_number: int | None = None  # as the route asks for it
    service_port: int | None = None  # the Service port chosen
    service_port_name: str | None = None
    app_protocol: str | None = None
    target_port: int | str | None = None
    workloads: tuple[ObjectRef, ...] = ()  # pod templates the Service selects
    affinity: tuple[Affinity, ...] = ()
    hidden_by: tuple[tuple[ObjectRef, FieldPath], ...] = ()  # exportTo hides these


@dataclass(frozen=True)
class CorsAtProxy:
    allow_origins: tuple[tuple[str, str], ...]  # (exact|prefix|regex, value)
    allow_credentials: bool | None
    path: FieldPath


@dataclass(frozen=True)
class RouteHop:
    router: str
    route: ObjectRef
    rule_path: FieldPath  # spec.http[2]
    match_path: FieldPath | None  # spec.http[2].match[0]; None when the rule has no match
    match_text: str
    upstream_path: str  # the path after rewrite, as the pod sees it
    rewrite_path: FieldPath | None = None
    backends: tuple[Backend, ...] = ()
    timeout_ms: float | None = None
    timeout_path: FieldPath | None = None
    timeout_cuts_websocket: bool = False
    read_timeout: bool = False  # True when the timeout only counts idle time (nginx)
    cors: CorsAtProxy | None = None
    assumptions: tuple[str, ...] = ()
    delivers: bool = True  # False for redirect / directResponse / delegate rules

    @property
    def rule_path_text(self) -> str:
        return render_path(self.rule_path)


@dataclass(frozen=True)
class Entrance:
    """How the request enters: the gateway server that accepts it, or the mesh sidecar."""

    via: Via
    gateway: ObjectRef | None = None
    server_path: FieldPath | None = None
    protocol: str = "HTTP"
    tls: bool = False
    port: int | None = None  # the gateway server's port number


@dataclass
class RoutingResult:
    request: Request
    entrance: Entrance | None = None  # None: no gateway serves this host
    hops: list[RouteHop] = field(default_factory=list)  # every matching rule, winner first
    host_routed: bool = False  # some route object claims this host
    missing_gateways: list[tuple[ObjectRef, FieldPath, str]] = field(default_factory=list)
    direct: Backend | None = None  # mesh request with no route: straight to the Service
    hidden_routes: list[tuple[ObjectRef, FieldPath]] = field(default_factory=list)  # exportTo hides them

    @property
    def winner(self) -> RouteHop | None:
        return self.hops[0] if self.hops else None


class Router(Protocol):
    """One router's semantics: Istio, Gateway API, ingress-nginx.

    A router is built once per analysis from the inventory (`Context.routers`), so it may cache.
    """

    name: str  # as hops name it (`RouteHop.router`), unique among the registered routers
    handles_mesh: bool  # whether it routes in-cluster (mesh) requests, not only gateway requests

    def models(self, ref: ObjectRef) -> bool:
        """Whether this router gives the object its meaning (SG114 reports routes no router models)."""
        ...

    def route(self, request: Request) -> RoutingResult:
        """Where the request goes: the entrance, and every matching rule, winner first."""
        ...

    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        """Each rule that is (or reaches) a socket route, with the handshake it is written for.

        `server_paths` maps annotated server workloads to their handshake path, for rules whose
        match names no socket.io segment.
        """
        ...
