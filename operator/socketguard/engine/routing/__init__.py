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
from urllib.parse import parse_qsl

from socketguard.engine.objects import FieldPath, ObjectRef, render_path
from socketguard.engine.values import value_type

if TYPE_CHECKING:
    from socketguard.engine.routing.candidates import Candidate

Via = Literal["gateway", "mesh"]


@value_type
class Request:
    """A request: by default the Engine.IO handshake as a browser (or in-cluster client) sends it.

    `socketguard route` asks about any request: its method, extra headers and raw query replace
    the handshake's defaults, and `entrance` (with `listener`) pins the Gateway, Istio Gateway or
    ingress class it enters through.
    """

    host: str
    path: str
    scheme: str = "https"
    port: int = 443
    via: Via = "gateway"
    source_namespace: str = "default"
    transport: str = "polling"
    origin: str | None = None
    method: str = "GET"
    more_headers: tuple[tuple[str, str], ...] = ()  # lower-case names, beyond the handshake's own
    raw_query: str | None = None  # None: the handshake's `EIO=4&transport=...`
    entrance: ObjectRef | None = None  # None: whichever entrance serves the host
    listener: str | None = None  # a Gateway API listener name within `entrance`

    @property
    def headers(self) -> dict[str, str]:
        headers = {"host": self.host}
        if self.origin:
            headers["origin"] = self.origin
        if self.transport == "websocket":
            headers.update({"upgrade": "websocket", "connection": "Upgrade"})
        headers.update(self.more_headers)
        return headers

    @property
    def query_string(self) -> str:
        return f"EIO=4&transport={self.transport}" if self.raw_query is None else self.raw_query

    @property
    def query(self) -> dict[str, str]:
        """Query parameters by name; a repeated name keeps its first value."""
        found: dict[str, str] = {}
        for name, value in parse_qsl(self.query_string, keep_blank_values=True):
            found.setdefault(name, value)
        return found


@value_type
class Affinity:
    """What keeps a session on one pod, and where it is configured."""

    kind: str  # cookie, header, source-ip, query-parameter, session-persistence, client-ip
    source: ObjectRef
    path: FieldPath


@value_type
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
    unresolved: str | None = None  # why the router cannot send traffic here (kind, missing grant, ...)
    chosen_by: str | None = None  # a header or cookie that sends requests here whatever the weight (nginx canary)
    route: ObjectRef | None = None  # the object `path` is in, when not the hop's route (an nginx canary Ingress)


@value_type
class CorsAtProxy:
    """The CORS policy a rule answers at the proxy: the origins it allows (by match kind) and credentials."""

    allow_origins: tuple[tuple[str, str], ...]  # (exact|prefix|regex, value)
    allow_credentials: bool | None
    path: FieldPath


@value_type
class Redirect:
    """A rule that answers with a redirect: its status and the Location it sends."""

    status: int
    location: str
    path: FieldPath  # the redirect in the route object


@value_type
class RouteHop:
    """One matching rule: where it is written, what it matched, the path upstream and its backends."""

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
    redirect: Redirect | None = None
    direct_status: int | None = None  # a direct response or an injected abort answers with this
    sticky_split: bool = False  # a destination's affinity keeps a session there across the weights (nginx canary)

    @property
    def rule_path_text(self) -> str:
        return render_path(self.rule_path)


@value_type
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
    """A router's answer to a request: the entrance, and every matching rule, winner first."""

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
    unresolved_status: int  # what it answers when the matched rule's backends do not resolve

    def models(self, ref: ObjectRef) -> bool:
        """Whether this router gives the object its meaning (SG114 reports routes no router models)."""
        ...

    def route(self, request: Request) -> RoutingResult:
        """Where the request goes: the entrance, and every matching rule, winner first.

        With `request.entrance` set, only that entrance answers (a Gateway that serves no
        listener for the host still is the entrance, with no hops).
        """
        ...

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        """Every entrance of this router, with whether it serves the request's host and port.

        `serving_only`: just those that serve it (found from the host, not by listing every
        entrance: a trace asks this for each client, so a listing would grow with the square
        of the inventory).
        """
        ...

    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        """Each rule that is (or reaches) a socket route, with the handshake it is written for.

        `server_paths` maps annotated server workloads to their handshake path, for rules whose
        match names no socket.io segment.
        """
        ...
