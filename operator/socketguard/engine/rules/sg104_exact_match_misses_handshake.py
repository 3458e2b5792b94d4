"""An `exact` match meant for the socket path differs from the handshake path `P/`, so it never matches.

What it checks
--------------
Engine.IO clients always request `<path>/?EIO=4&transport=...` (`/socket.io/`, with the
slash), and routers compare the path without the query. An `exact` match written for the
socket path but without the trailing slash (`exact: /socket.io`), or with a query string
(`exact: /socket.io/?EIO=4`), never equals that request. SocketGuard reports every exact
match whose value ends in a `socket.io` segment (or equals a client's `socketguard.io/client-path`)
and is not `<path>/`, and names where the handshake goes instead: Istio `uri.exact`, Gateway API
`path: {type: Exact}` and Ingress `pathType: Exact` alike (except on an ingress-nginx host in
regex mode, where an Exact path is a case-insensitive regex prefix like the others).

Why it matters
--------------
The rule looks right and never fires: the handshake falls through to a later, broader rule
(typically the web frontend, which answers 404 or its HTML) or to no rule at all, and no
client ever connects.

How to fix
----------
Match the prefix (every Engine.IO request starts with it), or the exact path with the slash:

```yaml
http:
- match:
  - uri: {prefix: /socket.io/}     # not {exact: /socket.io}
  route:
  - destination: {host: chat}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.models.istio import VirtualService
from socketguard.engine.objects import FieldPath, ObjectRef, render_path
from socketguard.engine.routing import Request
from socketguard.engine.routing.hosts import host_matches
from socketguard.engine.routing.istio import ROUTER as ISTIO
from socketguard.engine.routing.matching import ends_in_socket_segment
from socketguard.engine.rules._routes import client_url, hop_text, ingress_nginx_router, targets_text
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import handshake_path

if TYPE_CHECKING:
    from socketguard.engine.models.gatewayapi import HTTPRoute
    from socketguard.engine.models.ingress import Ingress

RULE = Rule.define(__doc__, code="SG104", name="exact-match-misses-handshake", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@dataclass(frozen=True)
class ExactMatch:
    """One exact path match of any router, with what it takes to judge and locate it."""

    route: ObjectRef
    rule_path: FieldPath  # spec.http[i] / spec.rules[i] / spec.rules[i].http.paths[j]
    path: FieldPath  # the field holding the exact value
    value: str
    hosts: tuple[str, ...]
    ignore_case: bool = False


@dataclass(frozen=True)
class ExactMiss:
    """An exact match meant for a handshake that it misses, and the path the handshake asks for."""

    match: ExactMatch
    handshake: str


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for miss in ctx.memo(_all_misses):
        yield _finding(ctx, miss)


def exact_misses(ctx: Context, host: str, handshake: str) -> list[ExactMiss]:
    """The exact matches on routes for `host` that were written for `handshake` but miss it."""
    return [miss for miss in ctx.memo(_all_misses)  # found once per analysis, not per client
            if miss.handshake == handshake and any(host_matches(h, host) for h in miss.match.hosts or ("*",))]


def _all_misses(ctx: Context) -> list[ExactMiss]:
    return list(_misses(ctx, _exact_matches(ctx)))


def _misses(ctx: Context, matches: Iterator[ExactMatch]) -> Iterator[ExactMiss]:
    client_paths = frozenset(c.path.rstrip("/") for c in ctx.clients.values())
    for match in matches:
        bare = match.value.split("?", 1)[0]
        meant = ends_in_socket_segment(bare) or bare.rstrip("/") in client_paths
        wanted = handshake_path(bare)
        if meant and match.value != wanted and not (match.ignore_case and match.value.lower() == wanted.lower()):
            yield ExactMiss(match, wanted)


def _exact_matches(ctx: Context) -> Iterator[ExactMatch]:
    for vs in ctx.inventory.virtual_services():
        yield from _istio(ctx.inventory.ref_of(vs), vs)
    for view in ctx.inventory.views(GATEWAY_API_GROUP, "HTTPRoute"):
        if isinstance(view, models.gatewayapi.HTTPRoute):
            yield from _gateway_api(ctx.inventory.ref_of(view), view)
    nginx = ingress_nginx_router(ctx)
    if nginx is None:
        return  # no Ingress
    for view in ctx.inventory.views("networking.k8s.io", "Ingress"):
        if isinstance(view, models.ingress.Ingress):
            ref = ctx.inventory.ref_of(view)
            # In ingress-nginx's regex mode an Exact path is a regex prefix `~* "^p"` like any other.
            yield from (match for match in _ingress(ref, view)
                        if not (nginx.models(ref) and nginx.regex_mode(match.hosts[0] if match.hosts else "")))


def _istio(ref: ObjectRef, vs: VirtualService) -> Iterator[ExactMatch]:
    for i, rule in enumerate(vs.spec.http):
        for j, match in enumerate(rule.match or []):
            if match.uri is not None and match.uri.exact is not None:
                yield ExactMatch(ref, ("spec", "http", i), ("spec", "http", i, "match", j, "uri", "exact"),
                                 match.uri.exact, tuple(vs.spec.hosts), match.ignore_uri_case)


def _gateway_api(ref: ObjectRef, route: HTTPRoute) -> Iterator[ExactMatch]:
    for i, rule in enumerate(route.spec.rules):
        for j, match in enumerate(rule.matches):
            if match.path is not None and match.path.type == "Exact":
                yield ExactMatch(ref, ("spec", "rules", i), ("spec", "rules", i, "matches", j, "path", "value"),
                                 match.path.value, tuple(route.spec.hostnames))


def _ingress(ref: ObjectRef, ingress: Ingress) -> Iterator[ExactMatch]:
    for i, rule in enumerate(ingress.spec.rules):
        for j, path in enumerate(rule.http.paths if rule.http else []):
            if path.path_type == "Exact":
                rule_path = ("spec", "rules", i, "http", "paths", j)
                yield ExactMatch(ref, rule_path, (*rule_path, "pathType"), path.path,
                                 (rule.host,) if rule.host else ())


def _finding(ctx: Context, miss: ExactMiss) -> Finding:
    match = miss.match
    kind = match.route.kind
    written = {"VirtualService": f"`exact: {match.value}`",
               "HTTPRoute": f"`path: {{type: Exact, value: {match.value}}}`"}.get(
        kind, f"`path: {match.value}` with `pathType: Exact`")
    message = (f"{written} never equals the handshake path {miss.handshake} (Engine.IO always requests "
               f"`{miss.handshake}?EIO=4&...` and the query is not part of the match), so {match.route} "
               f"{render_path(match.rule_path)} never matches; the handshake {_where_it_goes(ctx, miss)}")
    fixes = {
        "VirtualService": [f"match the prefix: `uri: {{prefix: {miss.handshake}}}`",
                           f"or the exact handshake path: `uri: {{exact: {miss.handshake}}}`"],
        "HTTPRoute": [f"match the prefix: `path: {{type: PathPrefix, value: {miss.handshake.rstrip('/')}}}`"],
    }.get(kind, [f"use `pathType: Prefix` with `path: {miss.handshake.rstrip('/')}`"])
    return RULE.finding(match.route, match.path, message, fixes=fixes)


def _where_it_goes(ctx: Context, miss: ExactMiss) -> str:
    match = miss.match
    vs = ctx.inventory.view(match.route.group, match.route.kind, match.route.namespace, match.route.name)
    host = next((h for h in match.hosts if not h.startswith("*")), None)
    if not isinstance(vs, VirtualService) or host is None:
        return "falls through to the other rules for the host, or to none (404)"
    gateways = [g for g in vs.spec.gateways if g != "mesh"]
    scheme = "https"
    for client in ctx.clients.values():
        url = client_url(client)
        if url and host in url:
            scheme = url.split(":", 1)[0].replace("wss", "https").replace("ws", "http")
    request = Request(host=host, path=miss.handshake, scheme=scheme, port=443 if scheme == "https" else 80,
                      via="gateway" if gateways else "mesh", source_namespace=match.route.namespace)
    routing = ctx.router(ISTIO).route(request)
    if routing.winner is None:
        return "matches no rule (404)"
    return f"goes to {hop_text(routing.winner)} instead, reaching {targets_text(ctx, routing.winner)}"
