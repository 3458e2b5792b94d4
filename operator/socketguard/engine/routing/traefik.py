"""Traefik (v3) routing: IngressRoutes, Ingresses of class `traefik`, and path-changing Middlewares.

Semantics modelled (from traefik v3.7's `pkg/provider/kubernetes/{crd,ingress}`,
`pkg/muxer/http` and `pkg/middlewares`; the rule language is in `traefik_rules.py`):
- Every `routes[]` entry of an IngressRoute (`traefik.io` or the older `traefik.containo.us`
  group) is one router with its `match` rule; a rule that does not parse, a `kind` other than
  `Rule`, or a Middleware reference that names no Middleware keeps Traefik from building the
  router, so it matches nothing here either.
- An Ingress is Traefik's when its class (`ingressClassName` or `kubernetes.io/ingress.class`) is
  `traefik`, or names an IngressClass whose controller is `traefik.io/ingress-controller`.
  Ingresses without a class stay with the ingress-nginx model. Each path becomes the rule Traefik
  writes for it: `Host("h") && PathPrefix("/p")` for `Prefix` and `ImplementationSpecific`
  (`router.pathmatcher` may choose `Path` or `PathRegexp` for the latter), `Path` for `Exact`.
  `PathPrefix` is a character prefix (`/socket.io` also matches `/socket.iox`) unless the
  provider runs with `--providers.kubernetesingress.strictPrefixMatching`, found in a workload's
  arguments, which turns `Prefix` into `(Path("/p") || PathPrefix("/p/"))`.
- Priority: `priority` (or the `router.priority` annotation) when set, else the rule's length;
  the highest priority wins.
- Middlewares (`middlewares[]` on a route, `router.middlewares` as `<ns>-<name>@kubernetescrd`
  on an Ingress, `chain`s expanded) run in order: `stripPrefix` removes the first listed prefix
  the path starts with, `stripPrefixRegex` the first regex match when it is a prefix,
  `replacePath` replaces the path, `replacePathRegex` substitutes (Go `$1` templates),
  `addPrefix` prepends. `redirectScheme` to another scheme and a matching `redirectRegex`
  answer with a redirect instead of delivering. Other middlewares leave the path alone.
- TLS: an IngressRoute with `tls`, an Ingress with `router.tls: "true"`, or a router on the
  `websecure` entry point, which the Traefik Helm chart (and k3s) configures with TLS at the entry
  point. A router without entry points listens on all of them, so it answers HTTPS as well.
- Stickiness: `sticky.cookie` on an IngressRoute service, the Service annotation
  `traefik.ingress.kubernetes.io/service.sticky.cookie: "true"` for an Ingress. Traefik balances
  endpoints itself, so a Service's `sessionAffinity: ClientIP` gives none, and `nativeLB` (route
  field or `service.nativelb` annotation) hands balancing to the ClusterIP, which drops the
  cookie stickiness.
- Several services on one route are a weighted round robin (`weight`, default 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import TRAEFIK_GROUPS, TRAEFIK_LEGACY_GROUP
from socketguard.engine.objects import FieldPath, ObjectRef, get_path
from socketguard.engine.routing import Affinity, Backend, Entrance, Redirect, Request, RouteHop, RoutingResult
from socketguard.engine.routing.backends import ServiceResolver
from socketguard.engine.routing.candidates import (
    Candidate,
    sample_host,
    server_path_through,
    socket_path,
    spellings,
)
from socketguard.engine.routing.hosts import HostIndex
from socketguard.engine.routing.matching import compiled
from socketguard.engine.routing.traefik_rules import (
    Expr,
    HttpRequest,
    RuleError,
    fold_host,
    host_matches,
    hosts,
    matches,
    parse,
    positive_matchers,
)

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import HTTPIngressPath, Ingress
    from socketguard.engine.models.traefik import (
        AddPrefix,
        IngressRoute,
        Middleware,
        MiddlewareRef,
        RedirectRegex,
        RedirectScheme,
        ReplacePath,
        ReplacePathRegex,
        RouteService,
        StripPrefix,
        StripPrefixRegex,
    )

    PathChange = StripPrefix | StripPrefixRegex | ReplacePath | ReplacePathRegex | AddPrefix

ROUTER = "traefik"
TRAEFIK_CLASS = "traefik"
TRAEFIK_ENTRANCE = ObjectRef("networking.k8s.io/v1", "IngressClass", "", TRAEFIK_CLASS)
TRAEFIK_CONTROLLER = "traefik.io/ingress-controller"
ANNOTATION = "traefik.ingress.kubernetes.io/"
WEBSECURE = "websecure"
STRICT_PREFIX_FLAG = "--providers.kubernetesingress.strictprefixmatching"
_PATH_KINDS = {"Path": "exact", "PathPrefix": "prefix", "PathRegexp": "regex"}
_GO_TEMPLATE = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))")


Refusal = tuple[str, FieldPath]


@dataclass(frozen=True)
class Step:
    """One middleware as it acts on a request: its kind, its spec, and where it is written."""

    kind: str  # stripPrefix, stripPrefixRegex, replacePath, replacePathRegex, addPrefix, redirect*
    config: PathChange | RedirectScheme | RedirectRegex
    source: ObjectRef  # the Middleware
    path: FieldPath  # its field
    via: FieldPath  # the reference to it in the route object


@dataclass(frozen=True)
class Destination:
    """One Kubernetes Service a route sends to, with its weight (percent) and stickiness."""

    namespace: str
    name: str
    port: int | str | None
    path: FieldPath
    weight: int = 100
    affinity: tuple[Affinity, ...] = ()


@dataclass(frozen=True)
class TraefikRoute:
    """One Traefik router: an IngressRoute `routes[]` entry or an Ingress path."""

    ref: ObjectRef
    rule_path: FieldPath
    match_path: FieldPath
    rule: str
    expression: Expr | None
    priority: int
    tls: bool  # TLS only (explicit TLS, or only TLS entry points)
    entry_points: tuple[str, ...]
    steps: tuple[Step, ...]
    services: tuple[Destination, ...]
    match_text: str
    refused: Refusal | None = None  # why Traefik builds no router from it, and the field that says so
    assumptions: tuple[str, ...] = field(default=())
    opaque_services: bool = False  # TraefikServices (weighted, mirroring): their backends are not modelled


def _go_expand(template: str, found: re.Match[str]) -> str:
    """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `$$`; unknown names expand to nothing."""
    def one(token: re.Match[str]) -> str:
        name = token.group(1) or token.group(2)
        if name is None:
            return "$"
        try:
            value = found.group(int(name)) if name.isdigit() else found.group(name)
        except IndexError:
            return ""
        return value or ""
    return _GO_TEMPLATE.sub(one, template)


def _ensure_slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def apply_steps(steps: tuple[Step, ...], request: Request) -> tuple[str, Step | None, Redirect | None]:
    """(upstream path, the last step that changed it, the redirect that answers instead)."""
    path, changed = request.path, None
    for step in steps:
        if isinstance(step.config, models.traefik.RedirectScheme | models.traefik.RedirectRegex):
            redirect = _redirect(step.config, step.via, request, path)
            if redirect is not None:
                return path, changed, redirect
            continue
        before, path = path, _rewrite(step.config, path)
        if path != before:
            changed = step
    return path or "/", changed, None


def _redirect(config: RedirectScheme | RedirectRegex, via: FieldPath, request: Request, path: str) -> Redirect | None:
    """The redirect a redirectScheme (to another scheme) or a matching redirectRegex answers with."""
    # Traefik: 302 (307 for other methods than GET), permanent 301 (308)
    get = request.method.upper() == "GET"
    status = (301 if get else 308) if config.permanent else (302 if get else 307)
    url = f"{request.scheme}://{request.host}{path}?{request.query_string}"
    if isinstance(config, models.traefik.RedirectScheme):
        if request.scheme == config.scheme:
            return None
        port = f":{config.port}" if config.port and config.port not in ("80", "443") else ""
        return Redirect(status, f"{config.scheme}://{request.host}{port}{path}?{request.query_string}", via)
    pattern = compiled(config.regex)
    if pattern is None or pattern.search(url) is None:
        return None
    return Redirect(status, pattern.sub(lambda m: _go_expand(config.replacement, m), url, count=1), via)


def _rewrite(config: PathChange, path: str) -> str:
    """The path after one path-changing middleware (an empty result is sent as `/`)."""
    if isinstance(config, models.traefik.StripPrefix):
        prefix = next((p for p in config.prefixes if path.startswith(p)), None)
        return path if prefix is None else _ensure_slash(path[len(prefix):]) if path != prefix else ""
    if isinstance(config, models.traefik.StripPrefixRegex):
        for expression in config.regex:
            pattern = compiled(expression.strip())
            found = pattern.search(path) if pattern else None
            if found and found.group(0) and path.startswith(found.group(0)):
                rest = path.replace(found.group(0), "", 1)
                return _ensure_slash(rest) if rest else ""
        return path
    if isinstance(config, models.traefik.ReplacePath):
        return config.path
    if isinstance(config, models.traefik.ReplacePathRegex):
        pattern = compiled(config.regex.strip())
        if pattern is None or not pattern.search(path):
            return path
        return pattern.sub(lambda found: _go_expand(config.replacement, found), path)
    return config.prefix + path


def http_request(request: Request) -> HttpRequest:
    """The parts of a request a Traefik rule can test."""
    return HttpRequest(host=request.host, path=request.path, method=request.method,
                       headers=request.headers, query=request.query)


class TraefikRouter:
    name = ROUTER
    handles_mesh = False  # an edge proxy: in-cluster clients go to the Services directly
    unresolved_status = 503  # a service without servers: "no available server"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.services = ServiceResolver(inventory)
        self._routes: list[TraefikRoute] | None = None
        self._refs: frozenset[ObjectRef] | None = None
        self._by_host: HostIndex[TraefikRoute] | None = None

    # -- the routers Traefik builds ----------------------------------------------------------
    @property
    def routes(self) -> list[TraefikRoute]:
        if self._routes is None:
            self._routes = [*self._ingress_route_routes(), *self._ingress_routes()]
        return self._routes

    def models(self, ref: ObjectRef) -> bool:
        """IngressRoutes and Middlewares of either group, and Ingresses of Traefik's class."""
        if self._refs is None:
            self._refs = frozenset(route.ref for route in self.routes)
        return ref in self._refs or (ref.group in TRAEFIK_GROUPS and ref.kind in ("IngressRoute", "Middleware"))

    def _ingress_route_routes(self) -> Iterator[TraefikRoute]:
        for group in TRAEFIK_GROUPS:
            for view in self.inventory.views(group, "IngressRoute"):
                if isinstance(view, models.traefik.IngressRoute):
                    yield from self._from_ingress_route(view)

    def _from_ingress_route(self, view: IngressRoute) -> Iterator[TraefikRoute]:
        ref = self.inventory.ref_of(view)
        for index, route in enumerate(view.spec.routes):
            rule_path: FieldPath = ("spec", "routes", index)
            expression, refused = _parsed(route.match, (*rule_path, "match"))
            if route.kind not in (None, "", "Rule"):
                refused = (f"match kind {route.kind!r} is not supported (only Rule)", (*rule_path, "kind"))
            steps, missing = self._steps(route.middlewares, ref, (*rule_path, "middlewares"))
            refused = refused or missing
            services = tuple(self._route_service(ref, service, (*rule_path, "services", i))
                             for i, service in enumerate(route.services) if service.kind == "Service")
            yield TraefikRoute(
                ref=ref, rule_path=rule_path, match_path=(*rule_path, "match"), rule=route.match,
                expression=expression, priority=route.priority or len(route.match),
                tls=_tls_only(view.spec.tls is not None, view.spec.entry_points),
                entry_points=tuple(view.spec.entry_points),
                steps=steps, services=_weighted(services), match_text=route.match, refused=refused,
                opaque_services=any(service.kind != "Service" for service in route.services),
                assumptions=(*_assumptions(expression, route.services), *_legacy_note(ref)),
            )

    def _route_service(self, ref: ObjectRef, service: RouteService, path: FieldPath) -> Destination:
        affinity: tuple[Affinity, ...] = ()
        if service.sticky and service.sticky.cookie is not None and not service.native_lb:
            affinity = (Affinity("cookie", ref, (*path, "sticky", "cookie")),)
        weight = 1 if service.weight is None else service.weight
        return Destination(service.namespace or ref.namespace, service.name, service.port, path, weight, affinity)

    def _ingress_routes(self) -> Iterator[TraefikRoute]:
        ingresses = [view for view in self.inventory.views("networking.k8s.io", "Ingress")
                     if isinstance(view, models.ingress.Ingress) and self._is_traefik(view)]
        strict = bool(ingresses) and self._provider_flag(STRICT_PREFIX_FLAG)  # reads every workload: only when needed
        for ingress in ingresses:
            yield from self._from_ingress(ingress, strict)

    def _is_traefik(self, ingress: Ingress) -> bool:
        if ingress.ingress_class == TRAEFIK_CLASS:
            return True
        name = ingress.spec.ingress_class_name
        raw = self.inventory.raw(ObjectRef("networking.k8s.io/v1", "IngressClass", "", name)) if name else None
        return raw is not None and get_path(raw, ("spec", "controller")) == TRAEFIK_CONTROLLER

    def _from_ingress(self, ingress: Ingress, strict: bool) -> Iterator[TraefikRoute]:
        ref = self.inventory.ref_of(ingress)
        annotations = ingress.metadata.annotations
        names = [n.strip() for n in annotations.get(ANNOTATION + "router.middlewares", "").split(",") if n.strip()]
        steps, missing = self._annotation_steps(names, ref)
        entry_points = [e.strip() for e in annotations.get(ANNOTATION + "router.entrypoints", "").split(",")
                        if e.strip()]
        tls = _tls_only(annotations.get(ANNOTATION + "router.tls") == "true", entry_points)
        for rule_index, rule in enumerate(ingress.spec.rules):
            for path_index, path in enumerate(rule.http.paths if rule.http else []):
                rule_path: FieldPath = ("spec", "rules", rule_index, "http", "paths", path_index)
                text = _ingress_rule(rule.host, path, annotations.get(ANNOTATION + "router.pathmatcher"), strict)
                expression, refused = _parsed(text, rule_path)
                service = path.backend.service
                services = () if service is None else (self._ingress_service(ref, service.name,
                                                        service.port.number or service.port.name, rule_path),)
                priority = _int(annotations.get(ANNOTATION + "router.priority")) or len(text)
                yield TraefikRoute(
                    ref=ref, rule_path=rule_path, match_path=rule_path, rule=text, expression=expression,
                    priority=priority, tls=tls, entry_points=tuple(entry_points), steps=steps, services=services,
                    match_text=f"{path.path_type} {path.path} (Traefik rule {text})", refused=refused or missing,
                    assumptions=tuple(_assumptions(expression, ())),
                )

    def _ingress_service(self, ref: ObjectRef, name: str, port: int | str | None,
                         rule_path: FieldPath) -> Destination:
        service = self.inventory.service(ref.namespace, name)
        annotations = service.metadata.annotations if service else {}
        affinity: tuple[Affinity, ...] = ()
        if service is not None and annotations.get(ANNOTATION + "service.sticky.cookie") == "true" \
                and annotations.get(ANNOTATION + "service.nativelb") != "true":
            affinity = (Affinity("cookie", self.inventory.ref_of(service),
                                 ("metadata", "annotations", ANNOTATION + "service.sticky.cookie")),)
        return Destination(ref.namespace, name, port, (*rule_path, "backend", "service"), affinity=affinity)

    def _provider_flag(self, flag: str) -> bool:
        """Whether a workload in the inventory runs Traefik with this boolean provider flag on."""
        for workload in self.inventory.workloads():
            raw = self.inventory.raw(self.inventory.ref_of(workload)) or {}
            containers = get_path(raw, ("spec", "template", "spec", "containers"))
            for container in containers if isinstance(containers, list) else []:
                args = container.get("args") if isinstance(container, dict) else None
                for arg in args if isinstance(args, list) else []:
                    text = str(arg).lower()
                    if text == flag or text == flag + "=true":
                        return True
        return False

    # -- middlewares -----------------------------------------------------------------------
    def _middleware(self, namespace: str, name: str) -> Middleware | None:
        for group in TRAEFIK_GROUPS:
            view = self.inventory.view(group, "Middleware", namespace, name)
            if isinstance(view, models.traefik.Middleware):
                return view
        return None

    def _steps(self, refs: list[MiddlewareRef], owner: ObjectRef, path: FieldPath,
               seen: frozenset[ObjectRef] = frozenset(), via: FieldPath | None = None,
               ) -> tuple[tuple[Step, ...], Refusal | None]:
        steps: list[Step] = []
        for index, reference in enumerate(refs):
            if "@" in reference.name:  # another provider's middleware: its content is not in the manifests
                continue
            found = self._middleware(reference.namespace or owner.namespace, reference.name)
            if found is None:
                namespace = reference.namespace or owner.namespace
                return (), (f"Middleware {namespace}/{reference.name} does not exist", via or (*path, index))
            more, missing = self._expand(found, seen, via or (*path, index))
            if missing:
                return (), missing
            steps.extend(more)
        return tuple(steps), None

    def _annotation_steps(self, names: list[str], owner: ObjectRef) -> tuple[tuple[Step, ...], Refusal | None]:
        """`router.middlewares` entries: `<namespace>-<name>@kubernetescrd`."""
        steps: list[Step] = []
        for name in names:
            qualified, _, provider = name.partition("@")
            if provider and provider != "kubernetescrd":
                continue
            found = next((m for g in TRAEFIK_GROUPS for m in self.inventory.views(g, "Middleware")
                          if isinstance(m, models.traefik.Middleware) and f"{self.inventory.ref_of(m).namespace}-"
                          f"{self.inventory.ref_of(m).name}" == qualified), None)
            annotation: FieldPath = ("metadata", "annotations", ANNOTATION + "router.middlewares")
            if found is None:
                return (), (f"middleware {name} does not exist", annotation)
            more, missing = self._expand(found, frozenset(), annotation)
            if missing:
                return (), missing
            steps.extend(more)
        return tuple(steps), None

    def _expand(self, middleware: Middleware, seen: frozenset[ObjectRef],
                via: FieldPath) -> tuple[tuple[Step, ...], Refusal | None]:
        ref = self.inventory.ref_of(middleware)
        spec = middleware.spec
        if spec.chain is not None:
            if ref in seen:
                return (), (f"the middleware chain {ref} includes itself", via)
            return self._steps(spec.chain.middlewares, ref, ("spec", "chain", "middlewares"), seen | {ref}, via)
        configs: dict[str, PathChange | RedirectScheme | RedirectRegex | None] = {
                   "stripPrefix": spec.strip_prefix, "stripPrefixRegex": spec.strip_prefix_regex,
                   "replacePath": spec.replace_path, "replacePathRegex": spec.replace_path_regex,
                   "addPrefix": spec.add_prefix, "redirectScheme": spec.redirect_scheme,
                   "redirectRegex": spec.redirect_regex}
        return tuple(Step(kind, config, ref, ("spec", kind), via) for kind, config in configs.items()
                     if config is not None), None

    # -- the Router protocol ---------------------------------------------------------------
    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        known = spellings(server_paths)
        for route in self.routes:
            if route.expression is not None and not route.refused:
                yield from self._candidate(route, route.expression, server_paths, known)

    def _candidate(self, route: TraefikRoute, expression: Expr, server_paths: Mapping[ObjectRef, str],
                   known: tuple[str, ...]) -> Iterator[Candidate]:
        host = sample_host(hosts(expression)) or "example.com"
        scheme, port = ("https", 443) if route.tls else ("http", 80)

        def holds(path: str) -> bool:
            return matches(expression, http_request(Request(host=host, path=path, scheme=scheme)))

        found = None
        for matcher in positive_matchers(expression):
            if matcher.name in _PATH_KINDS:
                found = socket_path(_PATH_KINDS[matcher.name], matcher.args[0], holds, known)
                if found is not None and holds(found):
                    break
                found = None
        socket_match = found is not None
        if found is None:
            workloads = tuple(w for b in self.backends(route) for w in b.workloads)
            found = server_path_through(workloads, server_paths, holds)
        if found is not None:
            request = Request(host=host, path=found, scheme=scheme, port=port, source_namespace=route.ref.namespace)
            yield Candidate(route.ref, route.rule_path, request, socket_match)

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        """Traefik's ingress class: the entrance of every IngressRoute and `traefik` Ingress."""
        if self.routes:
            serves = bool(self._for_host(request))
            if serves or not serving_only:
                yield TRAEFIK_ENTRANCE, serves

    def _for_host(self, request: Request) -> list[TraefikRoute]:
        """The routes Traefik builds whose `Host` matchers admit the request's host (none named: every host)."""
        if self._by_host is None:
            self._by_host = HostIndex(host_matches, fold_host)
            for route in self.routes:
                if route.expression is not None and not route.refused:
                    self._by_host.add(route, hosts(route.expression) or None)
        return self._by_host.lookup(request.host)

    def route(self, request: Request) -> RoutingResult:
        result = RoutingResult(request=request)
        if request.via != "gateway" or request.entrance not in (None, TRAEFIK_ENTRANCE):
            return result
        for_host = self._for_host(request)
        if not for_host:
            if request.entrance is not None:
                result.entrance = Entrance("gateway", TRAEFIK_ENTRANCE, port=request.port)
            return result
        result.host_routed = True
        asked = http_request(request)
        matching = [r for r in for_host if r.expression is not None and matches(r.expression, asked)]
        matching.sort(key=lambda r: -r.priority)
        entrance_route = matching[0] if matching else for_host[0]
        tls = entrance_route.tls or (not entrance_route.entry_points and request.scheme == "https")
        result.entrance = Entrance("gateway", entrance_route.ref, entrance_route.rule_path,
                                   "HTTPS" if tls else "HTTP", tls, 443 if tls else 80)
        result.hops = [self._hop(route, request) for route in matching]
        return result

    def _hop(self, route: TraefikRoute, request: Request) -> RouteHop:
        upstream, changed, redirect = apply_steps(route.steps, request)
        return RouteHop(
            redirect=redirect,
            router=ROUTER,
            route=route.ref,
            rule_path=route.rule_path,
            match_path=route.match_path,
            match_text=route.match_text,
            upstream_path=upstream,
            rewrite_path=changed.via if changed else None,
            backends=tuple(self.backends(route)) if redirect is None else (),
            assumptions=route.assumptions + _rewrite_note(changed),
            delivers=redirect is None and (bool(route.services) or route.opaque_services),
        )

    def refused_routes(self) -> Iterator[TraefikRoute]:
        """Routes Traefik builds no router from (a rule that does not parse, a missing Middleware)."""
        return (route for route in self.routes if route.refused)

    def backends(self, route: TraefikRoute) -> Iterator[Backend]:
        for to in route.services:
            yield self.services.backend(to.name, to.namespace, to.name, to.path, weight=to.weight, port=to.port,
                                        affinity=to.affinity)


def _rewrite_note(step: Step | None) -> tuple[str, ...]:
    return () if step is None else (f"the path is changed by {step.kind} of {step.source}",)


def _tls_only(explicit: bool, entry_points: Sequence[str]) -> bool:
    return explicit or (bool(entry_points) and all(e == WEBSECURE for e in entry_points))


def _parsed(rule: str, path: FieldPath) -> tuple[Expr | None, Refusal | None]:
    try:
        return parse(rule), None
    except RuleError as error:
        return None, (f"the rule {rule!r} does not parse: {error}", path)


def _ingress_rule(host: str | None, path: HTTPIngressPath, path_matcher: str | None, strict: bool) -> str:
    parts = [f'Host("{host}")'] if host else []
    if path.path:
        matcher = "PathPrefix"
        if path.path_type == "Exact":
            matcher = "Path"
        elif path.path_type == "ImplementationSpecific" and path_matcher in ("Path", "PathPrefix", "PathRegexp"):
            matcher = path_matcher
        if strict and matcher == "PathPrefix" and path.path != "/":
            base = path.path.rstrip("/")
            parts.append(f'(Path("{base}") || PathPrefix("{base}/"))')
        else:
            parts.append(f'{matcher}("{path.path}")')
    return " && ".join(parts)


def _weighted(services: tuple[Destination, ...]) -> tuple[Destination, ...]:
    """Relative weights as percentages (one service takes all the traffic)."""
    total = sum(to.weight for to in services)
    if len(services) <= 1 or total <= 0:
        return tuple(replace(to, weight=100) for to in services)
    return tuple(replace(to, weight=round(100 * to.weight / total)) for to in services)


def _assumptions(expression: Expr | None, services: Sequence[RouteService]) -> Iterator[str]:
    if expression is None:
        return
    for matcher in positive_matchers(expression):
        if matcher.name == "PathPrefix" and not matcher.args[0].endswith("/") and matcher.args[0] != "/":
            yield (f"PathPrefix(`{matcher.args[0]}`) is a string prefix: it also matches "
                   f"{matcher.args[0]}x (add a trailing slash to match whole segments only)")
        if matcher.name == "ClientIP":
            yield "ClientIP depends on the client's address: taken as matching"
    for service in services:
        if service.native_lb and service.sticky is not None:
            yield f"service {service.name} has nativeLB: the ClusterIP balances, so sticky.cookie has no effect"
        if service.kind != "Service":
            yield f"{service.kind} {service.name}: its backends are not modelled"


def _legacy_note(ref: ObjectRef) -> tuple[str, ...]:
    if ref.group != TRAEFIK_LEGACY_GROUP:
        return ()
    return (f"{ref} uses Traefik v2's group {TRAEFIK_LEGACY_GROUP} (Traefik v3 reads only traefik.io): "
            "its rule is read with the v3 syntax",)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
