"""ingress-nginx routing: how its generated nginx configuration treats a request.

Semantics modelled:
- Ingresses of class `nginx` (or of no class, assumed to be the default ingress-nginx class);
  other classes are listed as not modelled rather than guessed.
- All Ingresses for one host form one nginx `server`: rules with that host (exact before
  wildcard), else the rules without a host (the default server).
- Locations as the controller renders them and nginx picks them (nginx_server.py): `Exact` is
  `location = p`; `Prefix p` is `location p/` plus `location = p`; non-regex
  `ImplementationSpecific` is nginx's plain string prefix; exact first, then the longest prefix;
  `p` when only `p/` is a location gets nginx's 301 to `p/`. When a location of the host has
  `use-regex` or a rewrite target different from its path, every location of the host, Exact
  ones included, becomes a case-insensitive regex `~* ^p`, tried in the controller's order
  (longer paths first), the first match wins. A `/socket.io/` path there is still the socket
  route: it is recognised from the path as written and confirmed by the regex itself.
- `rewrite-target` applies to every path of its Ingress: nginx runs `rewrite (?i)p target`,
  replacing the whole URI with the target (`$n` from the path's capture groups, empty when a
  group did not take part). No rewrite is emitted when the target equals the (expanded) path.
- `proxy-read-timeout`/`proxy-send-timeout` (default 60 s) count idle time between reads, so
  they only need to exceed the ping interval; they do not cut a WebSocket that pings.
- `affinity: cookie` and `upstream-hash-by` give stickiness; ingress-nginx proxies to endpoints
  directly, so a Service's `sessionAffinity: ClientIP` gives none.
- Canary Ingresses (`canary: "true"`) are no locations: each path adds a second backend to the
  main path with its host, path and pathType, chosen per request (`nginx_canary.py`).
- `enable-cors` answers CORS at the proxy (`cors-allow-origin` default `*`,
  `cors-allow-credentials` default true).

Source: ingress-nginx controller v1.15.1, `internal/ingress/controller/template/template.go`
(`enforceRegexModifier`, `needsRewrite`, `buildLocation`, `buildProxyPass`) and
`internal/ingress/controller/controller.go` (the location sort).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import NGINX_PREFIX
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import (
    Affinity,
    Backend,
    CorsAtProxy,
    Entrance,
    Redirect,
    Request,
    RouteHop,
    RoutingResult,
)
from socketguard.engine.routing.backends import ServiceResolver
from socketguard.engine.routing.candidates import (
    Candidate,
    sample_host,
    server_path_through,
    socket_path,
    spellings,
)
from socketguard.engine.routing.hosts import host_matches
from socketguard.engine.routing.matching import segment_prefix_matches, string_prefix_matches
from socketguard.engine.routing.nginx_canary import Canary, RuleKey, attach, dropped, is_canary, rule_key
from socketguard.engine.routing.nginx_server import (
    ROOT,
    NginxLocation,
    NginxServer,
    build_server,
    regex_location_matches,
    rewritten,
    sort_ingresses,
)

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import HTTPIngressPath, Ingress

ROUTER = "ingress-nginx"
NGINX_CLASSES = frozenset({"nginx"})
INGRESS_CLASS = ObjectRef("networking.k8s.io/v1", "IngressClass", "", "nginx")
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Location:
    """One path of one Ingress rule, as nginx will see it."""

    ingress: Ingress
    ref: ObjectRef
    rule_index: int
    path_index: int
    path: HTTPIngressPath
    host: str | None

    @property
    def field_path(self) -> FieldPath:
        return ("spec", "rules", self.rule_index, "http", "paths", self.path_index)


def is_nginx(ingress: Ingress) -> bool:
    return ingress.ingress_class is None or ingress.ingress_class in NGINX_CLASSES


class IngressNginxRouter:
    name = ROUTER
    handles_mesh = False  # the controller is an edge proxy: in-cluster clients bypass it
    unresolved_status = 503  # an upstream without endpoints

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.services = ServiceResolver(inventory)
        nginx = sort_ingresses(i for i in _ingresses(inventory) if is_nginx(i))
        self._ingresses = [i for i in nginx if not is_canary(i)]
        self._canary_ingresses = [(i, inventory.ref_of(i)) for i in nginx if is_canary(i)]
        self._canaries: dict[RuleKey, Canary] | None = None
        self._blocks: tuple[dict[str, list[Location]], dict[str, list[Location]], list[Location]] | None = None
        self._locations: dict[str, list[Location]] = {}
        self._servers: dict[str, NginxServer] = {}
        self._refs: frozenset[ObjectRef] | None = None
        self._first_by_name: dict[str, int] | None = None

    def models(self, ref: ObjectRef) -> bool:
        """Ingresses of the nginx class (or of none)."""
        if self._refs is None:
            self._refs = frozenset([*(self.inventory.ref_of(i) for i in self._ingresses),
                                    *(ref for _, ref in self._canary_ingresses)])
        return ref in self._refs

    def unmodelled(self) -> Iterator[tuple[ObjectRef, str]]:
        """Ingresses of other classes, whose semantics SocketGuard does not model."""
        for ingress in _ingresses(self.inventory):
            if not is_nginx(ingress):
                yield self.inventory.ref_of(ingress), ingress.ingress_class or ""

    def locations(self, host: str) -> list[Location]:
        """The locations of the nginx server that handles `host` (exact host, else wildcard, else default)."""
        host = host.lower()
        cached = self._locations.get(host)
        if cached is None:
            exact, wildcard, default = self._server_blocks()
            cached = exact.get(host) or [loc for pattern, locs in wildcard.items()
                                         if host_matches(pattern, host) for loc in locs] or default
            self._locations[host] = cached
        return cached

    def server(self, host: str) -> NginxServer:
        """The nginx server for `host`: its rendered locations in order, and whether they are regexes."""
        host = host.lower()
        cached = self._servers.get(host)
        if cached is None:
            cached = self._servers[host] = build_server(self._first_naming(host), self.locations(host))
        return cached

    def regex_mode(self, host: str) -> bool:
        """Whether a location of the host's server turns every path of it into a regex location."""
        return self.server(host).regex

    def _first_naming(self, host: str) -> Ingress | None:
        """The first Ingress (controller order) with a rule for the server of `host`; None: the default server."""
        exact, wildcard, _ = self._server_blocks()
        names = {host} if exact.get(host) else {pattern for pattern in wildcard if host_matches(pattern, host)}
        if self._first_by_name is None:  # each rule host's first Ingress, so no server scans them all
            self._first_by_name = {}
            for position, ingress in enumerate(self._ingresses):
                for rule in ingress.spec.rules:
                    self._first_by_name.setdefault((rule.host or "").lower(), position)
        positions = [self._first_by_name[name] for name in names if name in self._first_by_name]
        return self._ingresses[min(positions)] if positions else None

    def _server_blocks(self) -> tuple[dict[str, list[Location]], dict[str, list[Location]], list[Location]]:
        if self._blocks is None:
            exact: dict[str, list[Location]] = {}
            wildcard: dict[str, list[Location]] = {}
            default: list[Location] = []
            for ingress in self._ingresses:
                ref = self.inventory.ref_of(ingress)
                for rule_index, rule in enumerate(ingress.spec.rules):
                    paths = rule.http.paths if rule.http else []
                    found = [Location(ingress, ref, rule_index, i, p, rule.host) for i, p in enumerate(paths)]
                    if rule.host is None:
                        default.extend(found)
                    elif rule.host.startswith("*"):
                        wildcard.setdefault(rule.host.lower(), []).extend(found)
                    else:
                        exact.setdefault(rule.host.lower(), []).extend(found)
            self._blocks = (exact, wildcard, default)
        return self._blocks

    def paths(self) -> Iterator[Location]:
        """Every path of every Ingress this router models, in inventory order."""
        for ingress in self._ingresses:
            ref = self.inventory.ref_of(ingress)
            for rule_index, rule in enumerate(ingress.spec.rules):
                for path_index, path in enumerate(rule.http.paths if rule.http else []):
                    yield Location(ingress, ref, rule_index, path_index, path, rule.host)

    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        known = spellings(server_paths)
        for location in self.paths():
            host = sample_host([location.host]) if location.host else "example.com"
            yield from self._candidate(location, host or "example.com", server_paths, known)

    def _candidate(self, location: Location, host: str, server_paths: Mapping[ObjectRef, str],
                   known: tuple[str, ...]) -> Iterator[Candidate]:
        regex_mode = self.regex_mode(host)
        path = location.path

        def matches(candidate: str) -> bool:
            return _location_matches(path, candidate, regex_mode)

        kind = "regex" if regex_mode else "exact" if path.path_type == "Exact" else "prefix"
        found = socket_path(kind, path.path, matches, known)
        socket_match = found is not None
        if found is None:
            workloads = tuple(w for b in self.backends(location) for w in b.workloads)
            found = server_path_through(workloads, server_paths, matches)
        if found is not None:
            tls = _tls_covers(location.ingress, host)
            request = Request(host=host, path=found, scheme="https" if tls else "http", port=443 if tls else 80,
                              source_namespace=location.ref.namespace)
            yield Candidate(location.ref, location.field_path, request, socket_match)

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        """The ingress class: ingress-nginx's controller is the entrance of every nginx Ingress."""
        if self._ingresses:
            serves = bool(self.locations(request.host))
            if serves or not serving_only:
                yield INGRESS_CLASS, serves

    def route(self, request: Request) -> RoutingResult:
        result = RoutingResult(request=request)
        if request.via != "gateway" or request.entrance not in (None, INGRESS_CLASS):
            return result
        locations = self.locations(request.host)
        if not locations:
            if request.entrance is not None:
                result.entrance = Entrance("gateway", INGRESS_CLASS, port=request.port)
            return result
        result.host_routed = True
        first = locations[0]
        tls = any(_tls_covers(location.ingress, request.host) for location in locations)
        result.entrance = Entrance("gateway", first.ref, ("spec", "rules", first.rule_index),
                                   "HTTPS" if tls else "HTTP", tls, 443 if tls else 80)
        server = self.server(request.host)
        app_root = server.app_root
        if request.path == ROOT and app_root is not None and app_root.owner is not None:
            result.hops.append(self._app_root_hop(app_root.owner, app_root.app_root, request))
            return result
        choice = server.choose(request.path)
        for rendered in choice.matches:
            result.hops.append(self._hop(rendered, request, server.regex, choice.redirect_to))
        return result

    def _hop(self, rendered: NginxLocation, request: Request, regex_mode: bool, redirect_to: str | None) -> RouteHop:
        location = rendered.source
        assert location is not None  # the default backend is never a hop
        ingress = location.ingress
        target = rewritten(rendered, request.path)
        upstream = request.path if target is None else target
        rewrite_path = None if target is None else ("metadata", "annotations", NGINX_PREFIX + "rewrite-target")
        timeout, timeout_path = _read_timeout(ingress)
        path = location.path
        mode = " (case-insensitive regex: the host uses use-regex or rewrite-target)" if regex_mode else ""
        if redirect_to is not None:
            mode += f"; nginx answers {request.path} itself with a 301 to {redirect_to}"
        assumptions = () if ingress.ingress_class else (
            f"{location.ref} has no ingress class: assumed to be served by ingress-nginx",)
        canary = self.canary(location)
        backends, notes = self._with_canary(tuple(self.backends(location)), canary, request)
        return RouteHop(
            router=ROUTER,
            route=location.ref,
            rule_path=location.field_path,
            match_path=location.field_path,
            match_text=f"{path.path_type} {path.path}{mode}",
            upstream_path=upstream,
            rewrite_path=rewrite_path,
            backends=backends,
            timeout_ms=timeout * 1000,
            timeout_path=timeout_path,
            read_timeout=True,
            cors=_cors(ingress),
            assumptions=(*assumptions, *notes),
            sticky_split=canary is not None and canary.sticky,
            delivers=redirect_to is None,
            redirect=None if redirect_to is None else _slash_redirect(redirect_to, request, location),
        )

    def canary(self, location: Location) -> Canary | None:
        """The canary Ingress path attached to this main path, if any."""
        if self._canaries is None:
            main_keys = {rule_key(loc.host, loc.path) for loc in self._all_locations()}
            self._canaries = attach(self._canary_ingresses, main_keys)
        return self._canaries.get(rule_key(location.host, location.path))

    def dropped_canaries(self) -> Iterator[Canary]:
        """Canary paths with no main Ingress path of the same host, path and pathType."""
        main_keys = {rule_key(loc.host, loc.path) for loc in self._all_locations()}
        return dropped(self._canary_ingresses, main_keys)

    def _all_locations(self) -> Iterator[Location]:
        exact, wildcard, default = self._server_blocks()
        for locations in (*exact.values(), *wildcard.values(), default):
            yield from locations

    def _with_canary(self, main: tuple[Backend, ...], canary: Canary | None,
                     request: Request) -> tuple[tuple[Backend, ...], tuple[str, ...]]:
        """The main backend and the canary's, weighted as this request would be split between them."""
        if canary is None:
            return main, ()
        takes = canary.takes(request)
        alternative = None if takes is False else self.canary_backend(
            canary, weight=100 if takes else canary.weight_percent)
        if alternative is None:
            return main, ()
        if takes:
            return (alternative,), (f"the request goes to canary {canary.ref} ({canary.chosen_by})",)
        return (*(replace(b, weight=100 - canary.weight_percent) for b in main), alternative), (canary.describe(),)

    def _app_root_hop(self, ingress: Ingress, app_root: str, request: Request) -> RouteHop:
        """nginx's `if ($uri = /) { return 302 $scheme://$http_host<app-root>; }`."""
        field = ("metadata", "annotations", NGINX_PREFIX + "app-root")
        default_port = 443 if request.scheme == "https" else 80
        host = request.host if request.port in (default_port, None) else f"{request.host}:{request.port}"
        return RouteHop(router=ROUTER, route=self.inventory.ref_of(ingress), rule_path=field, match_path=field,
                        match_text=f"app-root {app_root}: nginx answers / itself with a 302",
                        upstream_path=request.path, delivers=False,
                        redirect=Redirect(302, f"{request.scheme}://{host}{app_root}", field))

    def backends(self, location: Location) -> Iterator[Backend]:
        """The Service (port, workloads) one path sends to (its canary aside)."""
        service = location.path.backend.service
        if service is None:
            return
        yield self.services.backend(
            service.name, location.ref.namespace, service.name,
            (*location.field_path, "backend", "service"), port=service.port.reference,
            affinity=tuple(_affinity(location.ingress, location.ref)),
        )

    def canary_backend(self, canary: Canary, weight: int = 100) -> Backend | None:
        """The Service (port, workloads) a canary path sends to, with its own affinity."""
        service = canary.service
        if service is None:
            return None
        backend = self.services.backend(
            service.name, canary.ref.namespace, service.name, (*canary.field_path, "backend", "service"),
            port=service.port.reference, affinity=tuple(_affinity(canary.ingress, canary.ref)), weight=weight)
        return replace(backend, chosen_by=canary.chosen_by, route=canary.ref)


def _ingresses(inventory: Inventory) -> Iterator[Ingress]:
    for view in inventory.views("networking.k8s.io", "Ingress"):
        if isinstance(view, models.ingress.Ingress):
            yield view


def _location_matches(path: HTTPIngressPath, request_path: str, regex_mode: bool) -> bool:
    """Whether this path's own location(s) take the request, other locations aside."""
    if regex_mode:  # `location ~* "^p"`, Exact paths included
        return regex_location_matches(path.path, request_path)
    if path.path_type == "Exact":
        return request_path == path.path
    if path.path_type == "Prefix":  # `location p/` (and `location = p` unless p ends in /)
        return (request_path.startswith(path.path) if path.path.endswith("/")
                else segment_prefix_matches(path.path, request_path))
    return string_prefix_matches(path.path, request_path)


def _slash_redirect(to: str, request: Request, location: Location) -> Redirect:
    """nginx's own 301: absolute, to the Host the client sent, without a port, the query kept."""
    query = f"?{request.query_string}" if request.query_string else ""
    return Redirect(301, f"{request.scheme}://{request.host.lower()}{to}{query}", location.field_path)


def _read_timeout(ingress: Ingress) -> tuple[float, FieldPath | None]:
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        value = ingress.nginx(key)
        if value is not None:
            try:
                return float(value.rstrip("s")), ("metadata", "annotations", NGINX_PREFIX + key)
            except ValueError:
                continue
    return DEFAULT_TIMEOUT_S, None


def _affinity(ingress: Ingress, ref: ObjectRef) -> Iterator[Affinity]:
    if ingress.nginx("affinity") == "cookie":
        yield Affinity("cookie", ref, ("metadata", "annotations", NGINX_PREFIX + "affinity"))
    hash_by = ingress.nginx("upstream-hash-by")
    if hash_by:
        kind = "source-ip" if "remote_addr" in hash_by else "cookie" if "$cookie_" in hash_by else "header"
        yield Affinity(kind, ref, ("metadata", "annotations", NGINX_PREFIX + "upstream-hash-by"))


def _cors(ingress: Ingress) -> CorsAtProxy | None:
    if ingress.nginx("enable-cors") != "true":
        return None
    origins = [o.strip() for o in (ingress.nginx("cors-allow-origin") or "*").split(",") if o.strip()]
    credentials = (ingress.nginx("cors-allow-credentials") or "true") == "true"
    return CorsAtProxy(tuple(("exact", o) for o in origins), credentials,
                       ("metadata", "annotations", NGINX_PREFIX + "enable-cors"))


def _tls_covers(ingress: Ingress, host: str) -> bool:
    return any(not tls.hosts or any(host_matches(h, host) for h in tls.hosts) for tls in ingress.spec.tls)
