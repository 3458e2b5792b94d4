"""Where one request goes: every router's decision at every entrance that serves it.

This is the engine's own answer, used by `socketguard route` and by the trace builder: a router
routes the request (`Router.route`) and the result becomes a `Decision` with the router's action
(`forward`, `redirect`, `direct`, `no-route`, `unresolved`), its status for everything but a
forward, the path and query that arrive upstream and the backends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from socketguard.engine.objects import FieldPath, ObjectRef, render_path
from socketguard.engine.routing import Backend, Request, Router, RoutingResult
from socketguard.engine.routing.hosts import service_of_host

Action = Literal["forward", "redirect", "direct", "no-route", "unresolved"]
NO_ROUTE_STATUS = 404


@dataclass(frozen=True)
class EntranceChoice:
    """`--gateway`: an entrance by name (`NS/NAME[:LISTENER]`, `NAME`, or `mesh`)."""

    name: str
    namespace: str | None = None  # None: any namespace (or a cluster-scoped name such as an ingress class)
    listener: str | None = None

    @property
    def mesh(self) -> bool:
        return self.name == "mesh" and self.namespace is None

    @classmethod
    def parse(cls, text: str) -> EntranceChoice:
        """`mesh`, `NAME`, `NS/NAME` or `NS/NAME:LISTENER`; ValueError on anything else."""
        where, _, listener = text.partition(":")
        namespace, slash, name = where.rpartition("/")
        if not name or (slash and not namespace) or (":" in text and not listener):
            raise ValueError(f"{text!r}: expected NS/NAME[:LISTENER], NAME or mesh")
        return cls(name, namespace or None, listener or None)

    def names(self, ref: ObjectRef) -> bool:
        return ref.name == self.name and self.namespace in (None, ref.namespace)


@dataclass(frozen=True)
class Decision:
    """One router's answer at one entrance."""

    router: str
    entrance: ObjectRef | None  # None: Istio sidecar (mesh) traffic
    action: Action
    status: int | None  # the router's own status; None for a forward
    route: ObjectRef | None = None
    field: FieldPath | None = None  # the rule (and match) that decided
    upstream_path: str | None = None  # path and query as the backend receives them
    location: str | None = None  # the Location of a redirect
    backends: tuple[Backend, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def answers(self) -> bool:
        """Whether the request gets an answer from a backend or the router itself (not an error)."""
        return self.action in ("forward", "redirect", "direct")


def decide(routers: Sequence[Router], request: Request, choice: EntranceChoice | None = None) -> list[Decision]:
    """Every router's decision for `request`: at each entrance that serves its host, or at `choice`."""
    return [decision_of(router, result) for router, result in route_everywhere(routers, request, choice)
            if result.entrance is not None]


def route_everywhere(routers: Sequence[Router], request: Request,
                     choice: EntranceChoice | None = None) -> Iterator[tuple[Router, RoutingResult]]:
    """Each router's routing result at each entrance that serves the request's host (or `choice`).

    A mesh request (or `choice` mesh) goes to the routers that handle in-cluster traffic. Without
    a choice, a router none of whose entrances serves the host on the request's port answers
    unpinned: through an entrance for the host on another port (a handshake URL's port may be
    mapped), or with no entrance at all, saying how the request fails.
    """
    if request.via == "mesh" or (choice is not None and choice.mesh):
        mesh = replace(request, via="mesh")
        for router in routers:
            if router.handles_mesh:
                yield router, router.route(mesh)
        return
    for router in routers:
        if choice is not None:
            pinned = [ref for ref, _ in router.entrances(request) if choice.names(ref)]
        else:
            pinned = [ref for ref, serves in router.entrances(request, serving_only=True) if serves]
        for entrance in pinned:
            yield router, router.route(replace(request, entrance=entrance,
                                               listener=choice.listener if choice is not None else None))
        if not pinned and choice is None:
            yield router, router.route(request)


def decision_of(router: Router, result: RoutingResult) -> Decision:
    """What the router does with the request: the winning rule's action and where it sends it."""
    request = result.request
    entrance = None
    if request.via == "gateway":
        entrance = request.entrance or (result.entrance.gateway if result.entrance is not None else None)
    hop = result.winner
    if hop is None:
        return _without_rule(router, result, entrance)
    base = Decision(router.name, entrance, "forward", None, hop.route, hop.match_path or hop.rule_path,
                    notes=(*_entrance_notes(result), *hop.assumptions))
    if hop.redirect is not None:
        return replace(base, action="redirect", status=hop.redirect.status, location=hop.redirect.location)
    if hop.direct_status is not None:
        return replace(base, action="direct", status=hop.direct_status)
    upstream = _with_query(hop.upstream_path, request)
    unresolved = [(b, reason) for b in hop.backends if (reason := unresolved_reason(b)) is not None]
    notes = (*base.notes, *(f"{b.host}: {reason}" for b, reason in unresolved))
    if not hop.delivers or not hop.backends or len(unresolved) == len(hop.backends):
        if not hop.backends:
            notes = (*notes, "the rule has no backends")
        return replace(base, action="unresolved", status=router.unresolved_status, upstream_path=upstream,
                       backends=hop.backends, notes=notes)
    if unresolved:
        share = sum(b.weight for b, _ in unresolved)
        notes = (*notes, f"{share}% of requests get {router.unresolved_status}: their backends do not resolve")
    return replace(base, upstream_path=upstream, backends=hop.backends, notes=notes)


def _without_rule(router: Router, result: RoutingResult, entrance: ObjectRef | None) -> Decision:
    request = result.request
    if result.direct is not None:
        return Decision(router.name, entrance, "forward", None, upstream_path=_with_query(request.path, request),
                        backends=(result.direct,),
                        notes=("no route claims the host: the sidecar sends the request straight to the Service",))
    if result.entrance is not None and result.entrance.via == "gateway" and result.entrance.server_path is None:
        notes = [f"{entrance} has no listener for {request.host} on port {request.port}"]
    else:
        notes = ["no rule matches the request"] if result.host_routed else ["no route serves the host here"]
    notes.extend(f"{ref} is hidden from this entrance by {render_path(path)}" for ref, path in result.hidden_routes)
    notes.extend(_entrance_notes(result))
    return Decision(router.name, entrance, "no-route", NO_ROUTE_STATUS, notes=tuple(notes))


def _entrance_notes(result: RoutingResult) -> tuple[str, ...]:
    entrance = result.entrance
    if entrance is None or entrance.port is None or entrance.port == result.request.port:
        return ()
    return (f"nothing listens for the host on port {result.request.port}: "
            f"answered as by the entrance on port {entrance.port}",)


def unresolved_reason(backend: Backend) -> str | None:
    """Why a backend receives no traffic (no Service, not permitted, no such port), or None."""
    if backend.unresolved is not None:
        return backend.unresolved
    if backend.hidden_by:
        return "not visible from the route (" + ", ".join(str(ref) for ref, _ in backend.hidden_by) + ")"
    if backend.service is None:
        return "no such Service" if service_of_host(backend.host, "default") is not None else None
    if backend.port_number is not None and backend.service_port is None:
        return f"{backend.service} has no port {backend.port_number}"
    return None


def _with_query(path: str, request: Request) -> str:
    query = request.query_string
    return f"{path}?{query}" if query else path
