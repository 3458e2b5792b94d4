"""Gateway API HTTPRoute routing, as the specification defines it.

Semantics modelled:
- A request enters through a Gateway listener whose hostname covers the host and whose port
  matches; routes attach through `parentRefs` (optionally a `sectionName` or `port`), allowed by
  the listener's `allowedRoutes.namespaces` (Same by default; Selector is assumed to admit).
- Matching across every route of the listener, precedence as the spec orders it: the most
  specific hostname, then an Exact path, then the longest PathPrefix, then method, then the
  most header matches, then the most query matches, then the oldest route, then
  `{namespace}/{name}` alphabetically, then rule and match order. RegularExpression is
  implementation-specific: taken as a full match, ordered after prefixes, and said so.
- `PathPrefix` matches whole path segments (`/abc` matches `/abc/x`, not `/abcd`; a trailing
  slash in the value is ignored). `URLRewrite` `ReplacePrefixMatch` replaces those segments,
  `ReplaceFullPath` the whole path.
- `backendRefs` weights are relative; a backend in another namespace needs a ReferenceGrant
  there; `timeouts.request` (`0s` disables) also ends upgraded WebSockets; `sessionPersistence`
  gives stickiness; the experimental CORS filter answers CORS at the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.models.base import duration_ms
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
from socketguard.engine.routing.hosts import HostIndex, host_matches
from socketguard.engine.routing.matching import compiled, segment_prefix_matches

if TYPE_CHECKING:
    from socketguard.engine.models.gatewayapi import (
        HTTPRoute,
        K8sGateway,
        Listener,
        ParentReference,
        RouteMatch,
        RouteRule,
    )

ROUTER = "gateway-api"
WELL_KNOWN_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Candidate:
    route: HTTPRoute
    ref: ObjectRef
    rule_index: int
    match_index: int
    rule: RouteRule
    match: RouteMatch
    hostname: str  # the route hostname that matched ("" when the route lists none)

    def sort_key(self) -> tuple[object, ...]:
        path = self.match.effective_path
        return (
            0 if self.hostname and not self.hostname.startswith("*") else 1,
            -len(self.hostname),
            {"Exact": 0, "PathPrefix": 1}.get(path.type, 2),
            -len(path.value) if path.type == "PathPrefix" else 0,
            0 if self.match.method else 1,
            -len(self.match.headers),
            -len(self.match.query_params),
            _timestamp(self.route),
            (self.ref.namespace, self.ref.name),
            self.rule_index,
            self.match_index,
        )


class GatewayAPIRouter:
    name = ROUTER
    handles_mesh = False  # HTTPRoutes attached to a Gateway only (GAMMA mesh routes are not modelled)
    unresolved_status = 500  # the spec: requests to an invalid backendRef get a 500

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.services = ServiceResolver(inventory)
        self._routes = [v for v in inventory.views(GATEWAY_API_GROUP, "HTTPRoute")
                        if isinstance(v, models.gatewayapi.HTTPRoute)]
        self._listeners: HostIndex[tuple[K8sGateway, int, Listener]] | None = None
        self._route_hosts: HostIndex[HTTPRoute] | None = None
        self._gateways_by_name: dict[tuple[str, str], tuple[int, K8sGateway, ObjectRef]] | None = None
        self._sorted_gateways: list[tuple[K8sGateway, ObjectRef]] | None = None

    def models(self, ref: ObjectRef) -> bool:
        return ref.group == GATEWAY_API_GROUP

    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        known = spellings(server_paths)
        for route in self._routes:
            ref = self.inventory.ref_of(route)
            host = sample_host(route.spec.hostnames) or self._listener_host(route) or "example.com"
            for rule_index, rule in enumerate(route.spec.rules):
                for match in rule.matches or [models.gatewayapi.RouteMatch()]:
                    candidate = self._candidate(ref, rule_index, rule, match, host, server_paths, known)
                    if candidate is not None:
                        yield candidate

    def _candidate(self, ref: ObjectRef, rule_index: int, rule: RouteRule, match: RouteMatch, host: str,
                   server_paths: Mapping[ObjectRef, str], known: tuple[str, ...]) -> Candidate | None:
        path = match.effective_path
        request_for = Request(host=host, path="/")

        def matches(candidate: str) -> bool:
            return _match_holds(models.gatewayapi.RouteMatch(path=path), replace(request_for, path=candidate))

        kind = {"Exact": "exact", "PathPrefix": "prefix"}.get(path.type, "regex")
        found = socket_path(kind, path.value, matches, known)
        socket_match = found is not None
        if found is None:
            found = server_path_through(self._rule_workloads(ref, rule), server_paths, matches)
        if found is None:
            return None
        listener = self._listener(replace(request_for, path=found))
        tls = listener is not None and listener[2].protocol.upper() == "HTTPS"
        request = Request(host=host, path=found, scheme="https" if tls else "http", port=443 if tls else 80,
                          source_namespace=ref.namespace)
        return Candidate(ref, ("spec", "rules", rule_index), request, socket_match)

    def _rule_workloads(self, ref: ObjectRef, rule: RouteRule) -> tuple[ObjectRef, ...]:
        found: list[ObjectRef] = []
        for backend_ref in rule.backend_refs:
            service = self.inventory.service(backend_ref.namespace or ref.namespace, backend_ref.name)
            if service is not None:
                found.extend(self.services.selected_workloads(self.inventory.ref_of(service).namespace,
                                                              service.spec.selector))
        return tuple(found)

    def _listener_host(self, route: HTTPRoute) -> str | None:
        for gateway, gateway_ref in self._parents(route):
            for listener in gateway.spec.listeners:
                if listener.hostname and self._attached(route, gateway_ref, listener):
                    return sample_host([listener.hostname])
        return None

    def route(self, request: Request) -> RoutingResult:
        result = RoutingResult(request=request)
        if request.via != "gateway" or (request.entrance is not None and not self.models(request.entrance)):
            return result
        found = self._listener(request)
        if found is None:
            if request.entrance is not None:  # the Gateway answers, with no listener for the host
                result.entrance = Entrance("gateway", request.entrance, port=request.port)
            result.host_routed = any(_hostname_for(r, request.host, None) is not None
                                     for r in self._routes_for(request.host))
            return result
        gateway, index, listener = found
        gateway_ref = self.inventory.ref_of(gateway)
        result.entrance = Entrance("gateway", gateway_ref, ("spec", "listeners", index), listener.protocol.upper(),
                                   listener.protocol.upper() in ("HTTPS", "TLS"), listener.port)
        candidates = [c for c in self._candidates(gateway, gateway_ref, listener, request)
                      if _match_holds(c.match, request)]
        result.host_routed = bool(candidates) or any(
            self._attached(r, gateway_ref, listener) and _hostname_for(r, request.host, listener) is not None
            for r in self._routes_for(request.host))
        for candidate in sorted(candidates, key=_Candidate.sort_key):
            result.hops.append(self._hop(candidate, request, listener))
        return result

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        serving = {id(gateway): gateway for gateway, _, listener in self._listeners_for(request.host)
                   if listener.port == request.port}
        if serving_only:
            for gateway in sorted(serving.values(), key=lambda g: (g.metadata.namespace, g.metadata.name)):
                yield self.inventory.ref_of(gateway), True
            return
        if self._sorted_gateways is None:  # once per router: compare asks thousands of requests
            self._sorted_gateways = [(g, self.inventory.ref_of(g)) for g in sorted(
                self._gateways(), key=lambda g: (g.metadata.namespace, g.metadata.name))]
        for gateway, ref in self._sorted_gateways:
            yield ref, id(gateway) in serving

    def _pinned(self, entry: tuple[K8sGateway, int, Listener], request: Request) -> bool:
        gateway, _, listener = entry
        if request.entrance is not None and self.inventory.ref_of(gateway) != request.entrance:
            return False
        return request.listener is None or listener.name == request.listener

    def _listener(self, request: Request) -> tuple[K8sGateway, int, Listener] | None:
        """The listener that takes the request.

        Among the HTTP(S) listeners whose hostname covers the host (on `request.entrance` and
        `request.listener` when pinned), those on the request's port; within the Gateway, the most
        specific hostname wins (exact, then the longest wildcard, then none). Unpinned, a
        listener on another port stands in, as a handshake's URL port may be mapped.
        """
        covering = [entry for entry in self._listeners_for(request.host) if self._pinned(entry, request)]
        on_port = [entry for entry in covering if entry[2].port == request.port]
        if not on_port and request.entrance is None:
            on_port = covering
        if not on_port:
            return None
        gateway = on_port[0][0]
        return min((entry for entry in on_port if entry[0] is gateway), key=_listener_specificity)

    def _listeners_for(self, host: str) -> list[tuple[K8sGateway, int, Listener]]:
        """HTTP(S) listeners whose hostname covers `host`, ordered by Gateway (namespace, name), then index."""
        if self._listeners is None:
            self._listeners = HostIndex()
            for gateway in sorted(self._gateways(), key=lambda g: (g.metadata.namespace, g.metadata.name)):
                for index, listener in enumerate(gateway.spec.listeners):
                    if listener.protocol.upper() in ("HTTP", "HTTPS"):
                        hostname = listener.hostname
                        self._listeners.add((gateway, index, listener), None if hostname is None else [hostname])
        return self._listeners.lookup(host)

    def _routes_for(self, host: str) -> list[HTTPRoute]:
        """Routes whose hostnames admit `host` (routes without hostnames admit every host), in inventory order."""
        if self._route_hosts is None:
            self._route_hosts = HostIndex()
            for route in self._routes:
                self._route_hosts.add(route, route.spec.hostnames or None)
        return self._route_hosts.lookup(host)

    def _parents(self, route: HTTPRoute) -> list[tuple[K8sGateway, ObjectRef]]:
        """The Gateways a route's `parentRefs` name, in inventory order (each once)."""
        if self._gateways_by_name is None:
            self._gateways_by_name = {}
            for position, gateway in enumerate(self._gateways()):
                gateway_ref = self.inventory.ref_of(gateway)
                self._gateways_by_name.setdefault((gateway_ref.namespace, gateway_ref.name),
                                                  (position, gateway, gateway_ref))
        route_namespace = route.metadata.namespace or self.inventory.default_namespace
        named: dict[int, tuple[K8sGateway, ObjectRef]] = {}
        for parent in route.spec.parent_refs:
            found = self._gateways_by_name.get((parent.namespace or route_namespace, parent.name))
            if found is not None:
                named[found[0]] = found[1:]
        return [named[position] for position in sorted(named)]

    def _gateways(self) -> Iterator[K8sGateway]:
        for view in self.inventory.views(GATEWAY_API_GROUP, "Gateway"):
            if isinstance(view, models.gatewayapi.K8sGateway):
                yield view

    def _attached(self, route: HTTPRoute, gateway: ObjectRef, listener: Listener) -> bool:
        route_namespace = route.metadata.namespace or self.inventory.default_namespace
        allowed = listener.allowed_routes.namespaces.from_
        if allowed == "Same" and route_namespace != gateway.namespace:
            return False
        return any(_names_parent(parent, route_namespace, gateway, listener) for parent in route.spec.parent_refs)

    def _candidates(self, gateway: K8sGateway, gateway_ref: ObjectRef, listener: Listener,
                    request: Request) -> Iterator[_Candidate]:
        for route in self._routes_for(request.host):
            if not self._attached(route, gateway_ref, listener):
                continue
            hostname = _hostname_for(route, request.host, listener)
            if hostname is None:
                continue
            ref = self.inventory.ref_of(route)
            for rule_index, rule in enumerate(route.spec.rules):
                for match_index, match in enumerate(rule.matches or [models.gatewayapi.RouteMatch()]):
                    yield _Candidate(route, ref, rule_index, match_index, rule, match, hostname)

    def _hop(self, candidate: _Candidate, request: Request, listener: Listener) -> RouteHop:
        rule_path: FieldPath = ("spec", "rules", candidate.rule_index)
        path = candidate.match.effective_path
        upstream, rewrite_path = _rewrite(candidate.rule, path.type, path.value, request.path, rule_path)
        timeout, timeout_path = _timeout(candidate.rule, rule_path)
        assumptions = []
        if path.type == "RegularExpression":
            assumptions.append("RegularExpression matching is implementation-specific: taken as a full match")
        redirect = _redirect(candidate.rule, path.type, path.value, request, listener, rule_path)
        delivers = redirect is None
        return RouteHop(
            router=ROUTER,
            route=candidate.ref,
            rule_path=rule_path,
            match_path=(*rule_path, "matches", candidate.match_index),
            match_text=f"{path.type} {path.value}",
            upstream_path=upstream,
            rewrite_path=rewrite_path,
            backends=tuple(self._backends(candidate, rule_path)) if delivers else (),
            timeout_ms=timeout,
            timeout_path=timeout_path,
            timeout_cuts_websocket=timeout is not None,
            cors=_cors(candidate.rule, rule_path),
            assumptions=tuple(assumptions),
            delivers=delivers,
            redirect=redirect,
        )

    def _backends(self, candidate: _Candidate, rule_path: FieldPath) -> Iterator[Backend]:
        refs = candidate.rule.backend_refs
        total = sum(max(b.weight, 0) for b in refs) or 1
        persistence = candidate.rule.session_persistence
        affinity: tuple[Affinity, ...] = ()
        if persistence is not None:
            affinity = (Affinity("session-persistence", candidate.ref, (*rule_path, "sessionPersistence")),)
        for index, backend_ref in enumerate(refs):
            path = (*rule_path, "backendRefs", index)
            weight = round(100 * max(backend_ref.weight, 0) / total)
            if backend_ref.kind != "Service" or backend_ref.group not in ("", "core"):
                kind = f"{backend_ref.group}/{backend_ref.kind}" if backend_ref.group else backend_ref.kind
                yield Backend(host=backend_ref.name, path=path, weight=weight,
                              unresolved=f"backendRef kind {kind} is not a Service (ResolvedRefs: InvalidKind)")
                continue
            namespace = backend_ref.namespace or candidate.ref.namespace
            backend = self.services.backend(backend_ref.name, namespace, backend_ref.name, path, weight=weight,
                                            port=backend_ref.port, affinity=affinity)
            if namespace != candidate.ref.namespace and not self._granted(candidate.ref, namespace, backend_ref.name):
                backend = replace(_hidden(backend, candidate.ref, path), unresolved=(
                    f"no ReferenceGrant in namespace {namespace} lets HTTPRoutes of {candidate.ref.namespace} "
                    "refer to it (ResolvedRefs: RefNotPermitted)"))
            elif backend.service is None:
                backend = replace(backend, unresolved=f"no Service {namespace}/{backend_ref.name} "
                                                      "(ResolvedRefs: BackendNotFound)")
            yield backend

    def _granted(self, route: ObjectRef, namespace: str, service: str) -> bool:
        for view in self.inventory.views(GATEWAY_API_GROUP, "ReferenceGrant", namespace):
            if not isinstance(view, models.gatewayapi.ReferenceGrant):
                continue
            allows_from = any(f.group == GATEWAY_API_GROUP and f.kind == "HTTPRoute" and f.namespace == route.namespace
                              for f in view.spec.from_)
            allows_to = any(t.group in ("", "core") and t.kind == "Service" and t.name in (None, service)
                            for t in view.spec.to)
            if allows_from and allows_to:
                return True
        return False


def _listener_specificity(entry: tuple[K8sGateway, int, Listener]) -> tuple[int, int]:
    hostname = entry[2].hostname
    if hostname is None:
        return (2, 0)
    return (1 if hostname.startswith("*") else 0, -len(hostname))


def _hidden(backend: Backend, route: ObjectRef, path: FieldPath) -> Backend:
    return replace(backend, hidden_by=(*backend.hidden_by, (route, path)))


def _names_parent(parent: ParentReference, route_namespace: str, gateway: ObjectRef, listener: Listener) -> bool:
    if parent.kind != "Gateway" or parent.group != GATEWAY_API_GROUP:
        return False
    if (parent.namespace or route_namespace, parent.name) != (gateway.namespace, gateway.name):
        return False
    if parent.section_name is not None and parent.section_name != listener.name:
        return False
    return parent.port is None or parent.port == listener.port


def _hostname_for(route: HTTPRoute, host: str, listener: Listener | None) -> str | None:
    """The route hostname that admits `host` ("" for a route without hostnames), or None."""
    if listener is not None and listener.hostname and not host_matches(listener.hostname, host):
        return None
    if not route.spec.hostnames:
        return ""
    matching = [h for h in route.spec.hostnames if host_matches(h, host)]
    return max(matching, key=lambda h: (not h.startswith("*"), len(h))) if matching else None


def _match_holds(match: RouteMatch, request: Request) -> bool:
    path = match.effective_path
    if path.type == "Exact" and request.path != path.value:
        return False
    if path.type == "PathPrefix" and not segment_prefix_matches(path.value, request.path):
        return False
    if path.type == "RegularExpression":
        pattern = compiled(path.value)
        if pattern is None or pattern.fullmatch(request.path) is None:
            return False
    if match.method is not None and match.method != request.method:
        return False
    for header in match.headers:
        value = request.headers.get(header.name.lower())
        if value is None or not _value_matches(header.type, header.value, value):
            return False
    for param in match.query_params:
        value = request.query.get(param.name)
        if value is None or not _value_matches(param.type, param.value, value):
            return False
    return True


def _value_matches(kind: str, expected: str, value: str) -> bool:
    if kind == "Exact":
        return value == expected
    pattern = compiled(expected)
    return pattern is not None and pattern.fullmatch(value) is not None


def _rewrite(rule: RouteRule, match_type: str, match_value: str, path: str,
             rule_path: FieldPath) -> tuple[str, FieldPath | None]:
    for index, route_filter in enumerate(rule.filters):
        modifier = route_filter.url_rewrite.path if route_filter.url_rewrite else None
        if route_filter.type != "URLRewrite" or modifier is None:
            continue
        field = (*rule_path, "filters", index, "urlRewrite", "path")
        if modifier.type == "ReplaceFullPath":
            return modifier.replace_full_path or "/", field
        if match_type == "PathPrefix" and modifier.replace_prefix_match is not None:
            return replace_prefix(match_value, modifier.replace_prefix_match, path), field
    return path, None


def _redirect(rule: RouteRule, match_type: str, match_value: str, request: Request, listener: Listener,
              rule_path: FieldPath) -> Redirect | None:
    """The Location a RequestRedirect filter answers with.

    Unset parts keep the request's; the port is the filter's, else the well-known port of the
    filter's scheme, else the listener's; a scheme's well-known port is left out of the Location.
    """
    for index, route_filter in enumerate(rule.filters):
        redirect = route_filter.request_redirect
        if route_filter.type != "RequestRedirect" or redirect is None:
            continue
        scheme = redirect.scheme or request.scheme
        port = redirect.port or (WELL_KNOWN_PORTS[redirect.scheme] if redirect.scheme else listener.port)
        authority = redirect.hostname or request.host
        if port != WELL_KNOWN_PORTS.get(scheme):
            authority = f"{authority}:{port}"
        path, modifier = request.path, redirect.path
        if modifier is not None and modifier.type == "ReplaceFullPath":
            path = modifier.replace_full_path or "/"
        elif modifier is not None and match_type == "PathPrefix" and modifier.replace_prefix_match is not None:
            path = replace_prefix(match_value, modifier.replace_prefix_match, request.path)
        query = f"?{request.query_string}" if request.query_string else ""
        return Redirect(redirect.status_code, f"{scheme}://{authority}{path}{query}",
                        (*rule_path, "filters", index, "requestRedirect"))
    return None


def replace_prefix(prefix: str, replacement: str, path: str) -> str:
    """ReplacePrefixMatch by whole segments: `/foo` -> `/bar` turns `/foo/x` into `/bar/x`."""
    rest = path[len(prefix.rstrip("/")):]
    if replacement.endswith("/") and rest.startswith("/"):
        replacement = replacement.rstrip("/")
    result = replacement + rest
    return result if result.startswith("/") else "/" + result


def _timeout(rule: RouteRule, rule_path: FieldPath) -> tuple[float | None, FieldPath | None]:
    if rule.timeouts is None:
        return None, None
    for key, value in (("request", rule.timeouts.request), ("backendRequest", rule.timeouts.backend_request)):
        if value is not None:
            milliseconds = duration_ms(value)
            return (milliseconds, (*rule_path, "timeouts", key)) if milliseconds > 0 else (None, None)
    return None, None


def _cors(rule: RouteRule, rule_path: FieldPath) -> CorsAtProxy | None:
    for index, route_filter in enumerate(rule.filters):
        if route_filter.type == "CORS" and route_filter.cors is not None:
            origins = tuple(("exact", origin) for origin in route_filter.cors.allow_origins)
            return CorsAtProxy(origins, route_filter.cors.allow_credentials, (*rule_path, "filters", index, "cors"))
    return None


def _timestamp(route: HTTPRoute) -> str:
    stamp = route.metadata.creation_timestamp
    if isinstance(stamp, datetime):
        return stamp.isoformat()
    return stamp or "9999"  # objects from files have none: they sort after cluster objects
