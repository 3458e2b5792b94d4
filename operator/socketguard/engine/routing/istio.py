"""Istio VirtualService routing as Envoy applies it.

Semantics modelled: `http[]` tried in order, first match wins; a rule matches
when any `match[]` entry matches (no `match` matches everything); `uri.prefix` is a plain string
prefix, `exact` equality, `regex` an RE2 full match; `ignoreUriCase` for prefix and exact;
`rewrite.uri` replaces the matched prefix (prefix matches) or the whole path (exact/regex);
`uriRegexRewrite` substitutes; `gateways` absent means `mesh`, `match.gateways` overrides.
Conditions other than the path are evaluated against the request a browser sends (GET, Origin,
Upgrade for websocket, no custom headers), and each such evaluation is stated as an assumption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields, replace
from functools import lru_cache
from operator import attrgetter
from typing import TypeVar

from socketguard.engine.inventory import Inventory
from socketguard.engine.models import ISTIO_GROUP
from socketguard.engine.models.base import duration_ms
from socketguard.engine.models.istio import (
    DestinationRule,
    Gateway,
    HTTPMatchRequest,
    HTTPRoute,
    StringMatch,
    VirtualService,
)
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
from socketguard.engine.routing.hosts import fqdn, host_matches, in_cluster_service, service_of_host, visible
from socketguard.engine.routing.matching import exact_matches, re2_compiled, re2_replace_all, string_prefix_matches

ROUTER = "istio"
V = TypeVar("V", VirtualService, DestinationRule)
# A request as far as Istio routes it (see `IstioRouter.route`): every field of `Request`, read
# from the class so that a field added later is part of the key, but the Origin header, which
# never changes the route, and the two fields the key holds as the route sees them.
_AS_ROUTED = frozenset({"origin", "source_namespace", "entrance"})
_routed_fields = attrgetter(*(item.name for item in fields(Request) if item.name not in _AS_ROUTED))
RouteKey = tuple[tuple[object, ...], str, ObjectRef | None]


def string_matches(match: StringMatch, value: str, *, ignore_case: bool = False) -> bool:
    """An Istio StringMatch; `ignore_case` (the match's `ignoreUriCase`) applies to exact and prefix."""
    if match.exact is not None:
        return exact_matches(match.exact, value, ignore_case=ignore_case)
    if match.prefix is not None:
        return string_prefix_matches(match.prefix, value, ignore_case=ignore_case)
    if match.regex is not None:  # Envoy's safe_regex: RE2, a full match, case_sensitive ignored
        pattern = re2_compiled(match.regex)
        return pattern is not None and pattern.fullmatch(value) is not None
    return True


def uri_kind(match: StringMatch) -> tuple[str, str] | None:
    """(exact|prefix|regex, value) of a StringMatch, or None when it sets none of them."""
    for kind in ("exact", "prefix", "regex"):
        value = getattr(match, kind)
        if value is not None:
            return kind, value
    return None


def describe(match: StringMatch | None) -> str:
    written = None if match is None else uri_kind(match)
    return "any path" if written is None else f"{written[0]} {written[1]}"


class IstioRouter:
    name = ROUTER
    handles_mesh = True  # VirtualServices bound to `mesh` route in-cluster requests too
    unresolved_status = 503  # Envoy: no cluster (or no healthy upstream) for the destination

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._wildcards = inventory.wildcard_virtual_service_hosts()
        self._servers_by_host: dict[str, list[tuple[Gateway, int]]] | None = None
        self._wildcard_servers: list[str] = []
        self._routes: dict[RouteKey, RoutingResult] = {}
        self._servers_for_host: dict[str, list[tuple[Gateway, int]]] = {}
        self._virtual_services_of_host: dict[str, list[VirtualService]] = {}
        self._missing_gateways: dict[ObjectRef, list[tuple[int, str]]] = {}
        self._rules_of_service: dict[ObjectRef, list[DestinationRule]] = {}
        # short host name -> namespace -> its VirtualServices or DestinationRules with that host
        self._short_named_routes: dict[str, dict[str, list[VirtualService]]] = {}
        self._short_named_rules: dict[str, dict[str, list[DestinationRule]]] = {}
        self._any_destination_rule = inventory.has_kind(ISTIO_GROUP, "DestinationRule")
        self._backend_cache: dict[tuple[str, str, FieldPath, int, int | None, str | None, str], Backend] = {}
        self.services = ServiceResolver(inventory)

    # -- entry -------------------------------------------------------------------------------
    def route(self, request: Request) -> RoutingResult:
        """Where the request goes; results are cached, so client and route traces share the work."""
        # The Origin header and, at a gateway, the client's namespace do not change the route; nor
        # does pinning the gateway the request enters through unpinned (a client's handshake and
        # the route trace of the rule it is meant for are then one routing).
        key = self._route_key(request)
        cached = self._routes.get(key)
        if cached is None:
            cached = self._routes[key] = self._route(request)
        elif cached.request.entrance != request.entrance:
            return replace(cached, request=request)
        return cached

    def _route_key(self, request: Request) -> RouteKey:
        """Every field of the request but those that do not change the route (see `route`)."""
        return (_routed_fields(request), "" if request.via == "gateway" else request.source_namespace,
                None if self._enters_anyway(request) else request.entrance)

    def _enters_anyway(self, request: Request) -> bool:
        """Whether the pinned gateway is the one the request, unpinned, enters through on its port."""
        if request.entrance is None or request.via != "gateway":
            return False
        on_port = (gateway for gateway, index in self._gateway_servers(request.host)
                   if gateway.spec.servers[index].port.number == request.port)
        first = next(on_port, None)
        return first is not None and self.inventory.ref_of(first) == request.entrance

    def _route(self, request: Request) -> RoutingResult:
        result = RoutingResult(request=request)
        if request.via == "gateway":
            result.missing_gateways = [
                (self.inventory.ref_of(vs), ("spec", "gateways", index), name)
                for vs in self._virtual_services(request.host) for index, name in self.missing_gateways(vs)]
            result.entrance = self._entrance(request)
            if result.entrance is None or result.entrance.server_path is None:
                result.host_routed = bool(self._virtual_services(request.host))
                return result
        else:
            result.entrance = Entrance(via="mesh")
        viewer = result.entrance.gateway.namespace if result.entrance.gateway else request.source_namespace
        applied = False  # a visible VirtualService claims the host: unmatched requests get 404, not the Service
        for vs in self._virtual_services(request.host):
            ref = self.inventory.ref_of(vs)
            if not self._bound(vs, ref, result):
                continue
            result.host_routed = True
            if not visible(vs.spec.export_to, ref.namespace, viewer):
                result.hidden_routes.append((ref, ("spec", "exportTo")))
                continue
            applied = True
            result.hops.extend(self._matching_hops(vs, ref, request, result.entrance, viewer))
        if not applied and request.via == "mesh":
            result.direct = self._direct_backend(request)
        return result

    def models(self, ref: ObjectRef) -> bool:
        return ref.group == ISTIO_GROUP

    # -- candidates --------------------------------------------------------------------------
    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        """Each `http[]` rule with destinations, once per handshake path its matches are written for."""
        known = spellings(server_paths)
        for vs in self.inventory.virtual_services():
            ref = self.inventory.ref_of(vs)
            request = self._candidate_request(vs, ref)
            if request is None:
                continue
            for index, rule in enumerate(vs.spec.http):
                if not rule.route:
                    continue
                socket_match = is_socket_rule(rule)
                for path in self._handshake_paths(rule, ref, server_paths, known):
                    yield Candidate(ref, ("spec", "http", index), _at_path(request, path), socket_match)

    def _candidate_request(self, vs: VirtualService, ref: ObjectRef) -> Request | None:
        """The request a rule of `vs` is written for: through its gateways, else from the mesh."""
        host = sample_host(vs.spec.hosts)
        if host is None:
            return None
        if any(g != "mesh" for g in vs.spec.gateways):
            return Request(host=host, path="/", via="gateway", source_namespace=ref.namespace)
        located = in_cluster_service(host, ref.namespace)
        if located is not None:
            host = fqdn(*located)
        return Request(host=host, path="/", scheme="http", port=80, via="mesh", source_namespace=ref.namespace)

    def _handshake_paths(self, rule: HTTPRoute, ref: ObjectRef, server_paths: Mapping[ObjectRef, str],
                         known: tuple[str, ...]) -> list[str]:
        paths: list[str] = []
        for match in rule.match or [HTTPMatchRequest()]:
            path = self._handshake_path(match, rule, ref, server_paths, known)
            if path is not None and path not in paths:
                paths.append(path)
        return paths

    def _handshake_path(self, match: HTTPMatchRequest, rule: HTTPRoute, ref: ObjectRef,
                        server_paths: Mapping[ObjectRef, str], known: tuple[str, ...]) -> str | None:
        """The socket path the match names, else the handshake of an annotated server the rule reaches."""
        def matches(path: str) -> bool:
            return match.uri is None or string_matches(match.uri, path, ignore_case=match.ignore_uri_case)

        written = None if match.uri is None else uri_kind(match.uri)
        found = None if written is None else socket_path(*written, matches, known)
        if found is not None:
            return found
        workloads = tuple(w for destination in rule.route
                          for w in self._destination_workloads(destination.destination.host, ref.namespace))
        return server_path_through(workloads, server_paths, matches)

    def _destination_workloads(self, host: str, namespace: str) -> tuple[ObjectRef, ...]:
        """The workloads behind a destination host: its resolved backend's, without resolving the rest."""
        located = service_of_host(host, namespace)
        return () if located is None else self.services.workloads_of(*located)

    # -- gateway entrance --------------------------------------------------------------------
    def _entrance(self, request: Request) -> Entrance | None:
        """The gateway server that takes the request: on its port, else (unpinned) any that serves the host.

        A pinned `request.entrance` with no server for the host on the port is still the entrance,
        without a server: it answers 404.
        """
        best: Entrance | None = None
        for gateway, index in self._gateway_servers(request.host):
            ref = self.inventory.ref_of(gateway)
            if request.entrance is not None and ref != request.entrance:
                continue
            server = gateway.spec.servers[index]
            # `tls: {httpsRedirect: true}` on an HTTP server only redirects: it terminates no TLS
            tls = server.port.protocol.upper() in ("HTTPS", "TLS") or (
                server.tls is not None and server.tls.mode is not None)
            entrance = Entrance("gateway", ref, ("spec", "servers", index), server.port.protocol.upper(), tls,
                                server.port.number)
            if server.port.number == request.port:
                return entrance
            best = best or entrance
        if request.entrance is not None:
            return Entrance("gateway", request.entrance, port=request.port)
        return best

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        serving = {id(gateway): gateway for gateway, index in self._gateway_servers(request.host)
                   if gateway.spec.servers[index].port.number == request.port}
        # the servers come in (namespace, name) order already
        listed = serving.values() if serving_only else sorted(
            self.inventory.gateways(), key=lambda g: (g.metadata.namespace, g.metadata.name))
        for gateway in listed:
            yield self.inventory.ref_of(gateway), id(gateway) in serving

    def _gateway_servers(self, host: str) -> list[tuple[Gateway, int]]:
        """Gateway servers whose hosts cover `host`, in a stable order (namespace, name, index).

        Found once per host (a shared list: do not change it): a client's handshake asks it three
        times, for its entrance, whether a pinned entrance is the one it enters anyway, and routing.
        """
        key = host.lower()
        found = self._servers_for_host.get(key)
        if found is None:
            found = self._servers_for_host[key] = self._find_gateway_servers(key)
        return found

    def _find_gateway_servers(self, host: str) -> list[tuple[Gateway, int]]:
        if self._servers_by_host is None:
            self._servers_by_host = {}
            for gateway in self.inventory.gateways():
                for index, server in enumerate(gateway.spec.servers):
                    for pattern in {_gateway_host(h).lower() for h in server.hosts}:
                        self._servers_by_host.setdefault(pattern, []).append((gateway, index))
            self._wildcard_servers = [p for p in self._servers_by_host if p.startswith("*")]
        found = list(self._servers_by_host.get(host.lower(), []))
        for pattern in self._wildcard_servers:
            if host_matches(pattern, host):
                found.extend(self._servers_by_host[pattern])
        return sorted(found, key=lambda e: (e[0].metadata.namespace, e[0].metadata.name, e[1]))

    def _virtual_services(self, host: str) -> list[VirtualService]:
        """The VirtualServices of a host by (namespace, name), found once per host (a shared list)."""
        found = self._virtual_services_of_host.get(host)
        if found is None:
            found = self._virtual_services_of_host[host] = list(self._find_virtual_services(host))
        return found

    def _find_virtual_services(self, host: str) -> Iterator[VirtualService]:
        seen: set[int] = set()
        candidates = list(self.inventory.virtual_services_for_host(host))
        service = in_cluster_service(host, "")
        if service is not None and service[0]:
            candidates.extend(self._by_namespace(self._short_named_routes, service[1],
                                                 self.inventory.virtual_services_for_host).get(service[0], ()))
        for pattern in self._wildcards:
            if host_matches(pattern, host):
                candidates.extend(self.inventory.virtual_services_for_host(pattern))
        for vs in sorted(candidates, key=lambda v: (v.metadata.namespace, v.metadata.name)):
            if id(vs) not in seen:
                seen.add(id(vs))
                yield vs

    def _bound(self, vs: VirtualService, ref: ObjectRef, result: RoutingResult) -> bool:
        """Whether the VirtualService applies at this entrance (`gateways`, default `mesh`)."""
        assert result.entrance is not None
        gateways = vs.spec.gateways or ["mesh"]
        if self._entrance_in(gateways, ref, result.entrance):
            return True
        return any(m.gateways and self._entrance_in(m.gateways, ref, result.entrance)
                   for rule in vs.spec.http for m in rule.match or [])

    def _entrance_in(self, gateways: list[str], ref: ObjectRef, entrance: Entrance) -> bool:
        if entrance.via == "mesh":
            return "mesh" in gateways
        assert entrance.gateway is not None
        wanted = (entrance.gateway.namespace, entrance.gateway.name)
        return any(_gateway_ref(name, ref.namespace) == wanted for name in gateways)

    def missing_gateways(self, vs: VirtualService) -> list[tuple[int, str]]:
        """(index, name) of each Gateway in `spec.gateways` that does not exist; looked up once per
        VirtualService (a shared list: do not change it), since every request to its hosts asks."""
        ref = self.inventory.ref_of(vs)
        found = self._missing_gateways.get(ref)
        if found is None:
            found = self._missing_gateways[ref] = list(self._find_missing_gateways(vs, ref))
        return found

    def _find_missing_gateways(self, vs: VirtualService, ref: ObjectRef) -> Iterator[tuple[int, str]]:
        for index, name in enumerate(vs.spec.gateways):
            if name == "mesh":
                continue
            namespace, gateway_name = _gateway_ref(name, ref.namespace)
            if self.inventory.gateway(namespace, gateway_name) is None:
                yield index, name

    # -- rules -------------------------------------------------------------------------------
    def _matching_hops(self, vs: VirtualService, ref: ObjectRef, request: Request, entrance: Entrance,
                       viewer: str) -> Iterator[RouteHop]:
        bound = self._entrance_in(vs.spec.gateways or ["mesh"], ref, entrance)  # for matches without gateways
        for index, rule in enumerate(vs.spec.http):
            rule_path: FieldPath = ("spec", "http", index)
            matched = self._match(rule, ref, request, entrance, bound)
            if matched is None:
                continue
            match_index, assumptions = matched
            yield self._hop(rule, ref, rule_path, match_index, request, viewer, assumptions)

    def _match(self, rule: HTTPRoute, ref: ObjectRef, request: Request, entrance: Entrance,
               bound: bool) -> tuple[int | None, tuple[str, ...]] | None:
        """(match index, assumptions) of the first match that takes the request; `bound`: whether
        the VirtualService's own gateways include the entrance (a match's `gateways` override them)."""
        if not rule.match:
            return (None, ()) if bound else None
        for index, match in enumerate(rule.match):
            if not (self._entrance_in(match.gateways, ref, entrance) if match.gateways else bound):
                continue
            assumptions = _conditions_hold(match, request)
            if assumptions is not None:
                return index, assumptions
        return None

    def _hop(self, rule: HTTPRoute, ref: ObjectRef, rule_path: FieldPath, match_index: int | None,
             request: Request, viewer: str, assumptions: tuple[str, ...]) -> RouteHop:
        match = rule.match[match_index] if rule.match and match_index is not None else None
        upstream, rewrite_path = _rewrite(rule, match, request.path, rule_path)
        timeout = None if rule.timeout is None else duration_ms(rule.timeout)
        cors = None
        if rule.cors_policy is not None:
            origins = [(k, v) for m in rule.cors_policy.allow_origins
                       for k in ("exact", "prefix", "regex") if (v := getattr(m, k)) is not None]
            origins += [("exact", o) for o in rule.cors_policy.allow_origin]
            cors = CorsAtProxy(tuple(origins), rule.cors_policy.allow_credentials, (*rule_path, "corsPolicy"))
        delivers = rule.redirect is None and rule.direct_response is None and rule.delegate is None
        return RouteHop(
            router=ROUTER,
            route=ref,
            rule_path=rule_path,
            match_path=None if match_index is None else (*rule_path, "match", match_index),
            match_text=describe(match.uri if match else None),
            upstream_path=upstream,
            rewrite_path=rewrite_path,
            backends=tuple(self._backends(rule, ref, rule_path, request, viewer)) if delivers else (),
            timeout_ms=timeout if timeout else None,
            timeout_path=(*rule_path, "timeout") if timeout else None,
            timeout_cuts_websocket=bool(timeout),
            cors=cors,
            assumptions=assumptions,
            delivers=delivers,
            redirect=_redirect(rule, request, rule_path),
            direct_status=rule.direct_response.status if rule.direct_response is not None else None,
        )

    # -- destinations ------------------------------------------------------------------------
    def _backends(self, rule: HTTPRoute, ref: ObjectRef, rule_path: FieldPath, request: Request,
                  viewer: str) -> Iterator[Backend]:
        weights = [d.weight for d in rule.route]
        # No weights: a single destination takes everything, several split evenly. Once some
        # destinations carry a weight, Istio gives the unweighted ones none.
        even = 100 // len(rule.route) if rule.route and all(w is None for w in weights) else 0
        for index, destination in enumerate(rule.route):
            weight = destination.weight if destination.weight is not None else even
            port = destination.destination.port.number if destination.destination.port else None
            yield self.resolve_backend(
                destination.destination.host, ref.namespace, (*rule_path, "route", index),
                weight=weight, port=port, subset=destination.destination.subset, viewer=viewer,
            )

    def resolve_backend(self, host: str, namespace: str, path: FieldPath, *, weight: int = 100,
                        port: int | None = None, subset: str | None = None, viewer: str = "") -> Backend:
        """Service, Service port, targetPort, selected workloads and affinity of one destination."""
        key = (host, namespace, path, weight, port, subset, viewer)
        cached = self._backend_cache.get(key)
        if cached is None:
            cached = self._backend_cache[key] = self._resolve_backend(host, namespace, path, weight, port, subset,
                                                                      viewer)
        return cached

    def _resolve_backend(self, host: str, namespace: str, path: FieldPath, weight: int, port: int | None,
                         subset: str | None, viewer: str) -> Backend:
        located = service_of_host(host, namespace)
        service = None if located is None else self.inventory.service(*located)
        if service is None:
            return Backend(host=host, path=path, weight=weight, port_number=port)
        backend = self.services.service_backend(service, host, path, weight=weight, port=port)
        service_ref = backend.service
        assert service_ref is not None
        hidden: list[tuple[ObjectRef, FieldPath]] = []
        if not visible(service.export_to, service_ref.namespace, viewer or namespace):
            hidden.append((service_ref, ("metadata", "annotations", "networking.istio.io/exportTo")))
        rules = self._destination_rules(service_ref)
        if not rules and not hidden:
            return backend
        hidden.extend(self._hidden_rules(rules, viewer or namespace))
        # A DestinationRule the proxy cannot see does not balance its traffic: its hash is no affinity.
        unseen = {ref for ref, _ in hidden if ref.kind == "DestinationRule"}
        hashed = [a for a in self._affinity(rules, backend.service_port, subset) if a.source not in unseen]
        if not hashed and not hidden:
            return backend
        return replace(backend, affinity=(*hashed, *backend.affinity), hidden_by=tuple(hidden))

    def _destination_rules(self, service: ObjectRef) -> list[DestinationRule]:
        """The DestinationRules of a Service (by FQDN, or by short name in its namespace), found once."""
        if not self._any_destination_rule:
            return []
        found = self._rules_of_service.get(service)
        if found is None:
            found = self._rules_of_service[service] = [
                *self.inventory.destination_rules_for_host(fqdn(service.namespace, service.name)),
                *self._by_namespace(self._short_named_rules, service.name,
                                    self.inventory.destination_rules_for_host).get(service.namespace, ())]
        return found

    def _by_namespace(self, found: dict[str, dict[str, list[V]]], name: str,
                      lookup: Callable[[str], list[V]]) -> dict[str, list[V]]:
        """The objects `lookup` gives for a short host name, by namespace, looked up once per name.

        A short name (`api`) means a host in the object's own namespace, and the same name recurs
        in every namespace: filtering every namespace's objects for each Service would cost the
        square of the inventory.
        """
        by_namespace = found.get(name)
        if by_namespace is None:
            by_namespace = found[name] = {}
            for view in lookup(name):
                by_namespace.setdefault(view.metadata.namespace or self.inventory.default_namespace, []).append(view)
        return by_namespace

    def _affinity(self, rules: list[DestinationRule], port: int | None, subset: str | None) -> Iterator[Affinity]:
        for rule in rules:
            ref = self.inventory.ref_of(rule)
            policy = rule.spec.traffic_policy
            if policy is not None:
                if policy.load_balancer and policy.load_balancer.consistent_hash:
                    kind = policy.load_balancer.consistent_hash.kind
                    yield Affinity(kind, ref, ("spec", "trafficPolicy", "loadBalancer", "consistentHash"))
                for index, level in enumerate(policy.port_level_settings):
                    hashed = level.load_balancer.consistent_hash if level.load_balancer else None
                    if hashed and level.port and level.port.number == port:
                        yield Affinity(hashed.kind, ref, ("spec", "trafficPolicy", "portLevelSettings", index))
            for index, named in enumerate(rule.spec.subsets):
                lb = named.traffic_policy.load_balancer if named.traffic_policy else None
                if named.name == subset and lb and lb.consistent_hash:
                    yield Affinity(lb.consistent_hash.kind, ref, ("spec", "subsets", index, "trafficPolicy"))

    def _hidden_rules(self, rules: list[DestinationRule], viewer: str) -> Iterator[tuple[ObjectRef, FieldPath]]:
        for rule in rules:
            ref = self.inventory.ref_of(rule)
            if not visible(rule.spec.export_to, ref.namespace, viewer):
                yield ref, ("spec", "exportTo")

    def _direct_backend(self, request: Request) -> Backend | None:
        located = in_cluster_service(request.host, request.source_namespace)
        if located is None or self.inventory.service(*located) is None:
            return None
        return self.resolve_backend(fqdn(*located), located[0], (), port=request.port,
                                    viewer=request.source_namespace)


def is_socket_rule(rule: HTTPRoute) -> bool:
    """Whether some match of the rule names a `socket.io` segment (in any case)."""
    for match in rule.match or []:
        written = None if match.uri is None else uri_kind(match.uri)
        if written is not None and _names_socket_path(*written):
            return True
    return False


@lru_cache(maxsize=4096)  # the same few match texts recur in every namespace
def _names_socket_path(kind: str, value: str) -> bool:
    return socket_path(kind, value, lambda _: True) is not None


_request_fields = attrgetter(*(item.name for item in fields(Request)))
_PATH_FIELD = [item.name for item in fields(Request)].index("path")


def _at_path(request: Request, path: str) -> Request:
    """`replace(request, path=path)` at a fraction of its cost (one per candidate handshake path)."""
    values = list(_request_fields(request))
    values[_PATH_FIELD] = path
    return Request(*values)


def _gateway_host(host: str) -> str:
    """Gateway server hosts may be `namespace/host`; the namespace part scopes VirtualServices."""
    return host.partition("/")[2] if "/" in host else host


@lru_cache(maxsize=65536)
def _gateway_ref(name: str, namespace: str) -> tuple[str, str]:
    if "/" in name:
        ns, _, gateway = name.partition("/")
        return ns, gateway
    if "." in name:  # <name>.<namespace>.svc.cluster.local form
        parts = name.split(".")
        return parts[1], parts[0]
    return namespace, name


def _conditions_hold(match: HTTPMatchRequest, request: Request) -> tuple[str, ...] | None:
    """None when the match rejects the handshake; else the assumptions made to accept it."""
    if match.uri is not None and not string_matches(match.uri, request.path, ignore_case=match.ignore_uri_case):
        return None
    for condition, actual in ((match.method, request.method), (match.scheme, request.scheme),
                              (match.authority, request.host)):
        if condition is not None and not string_matches(condition, actual):
            return None
    if match.port is not None and match.port != request.port:
        return None
    assumptions: list[str] = []
    for name, header in match.headers.items():
        value = request.headers.get(name.lower())
        if value is None or not string_matches(header, value):
            return None
        if name.lower() not in dict(request.more_headers):
            assumptions.append(f"header `{name}` matched as a browser sends it for {request.transport}")
    for name, header in match.without_headers.items():
        value = request.headers.get(name.lower())
        if value is not None and string_matches(header, value):
            return None
    for name, param in match.query_params.items():
        value = request.query.get(name)
        if value is None or not string_matches(param, value):
            return None
    if match.source_labels or match.source_namespace:
        assumptions.append("sourceLabels/sourceNamespace assumed to match the client")
    return tuple(assumptions)


def _redirect(rule: HTTPRoute, request: Request, rule_path: FieldPath) -> Redirect | None:
    """The Location of a `redirect` rule: its uri replaces the whole path; the query stays."""
    redirect = rule.redirect
    if redirect is None:
        return None
    scheme = redirect.scheme or request.scheme
    authority = redirect.authority or request.host
    if redirect.port is not None and redirect.port != {"http": 80, "https": 443}.get(scheme):
        authority = f"{authority}:{redirect.port}"
    query = f"?{request.query_string}" if request.query_string else ""
    return Redirect(redirect.redirect_code, f"{scheme}://{authority}{redirect.uri or request.path}{query}",
                    (*rule_path, "redirect"))


def _rewrite(rule: HTTPRoute, match: HTTPMatchRequest | None, path: str,
             rule_path: FieldPath) -> tuple[str, FieldPath | None]:
    rewrite = rule.rewrite
    if rewrite is None:
        return path, None
    if rewrite.uri_regex_rewrite is not None:
        regex_rewrite = rewrite.uri_regex_rewrite
        return (re2_replace_all(regex_rewrite.match, regex_rewrite.rewrite, path),
                (*rule_path, "rewrite", "uriRegexRewrite"))
    if rewrite.uri is None:
        return path, None
    uri = match.uri if match is not None else None
    prefix = "/" if uri is None else uri.prefix
    if prefix is not None:
        return rewrite.uri + path[len(prefix):], (*rule_path, "rewrite", "uri")
    return rewrite.uri, (*rule_path, "rewrite", "uri")


gateway_ref = _gateway_ref

__all__ = ["ROUTER", "IstioRouter", "gateway_ref", "is_socket_rule", "string_matches"]
