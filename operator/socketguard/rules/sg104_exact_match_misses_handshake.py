"""An `exact` match meant for the socket path differs from the handshake path `P/`, so it never matches.

What it checks
--------------
Engine.IO clients always request `<path>/?EIO=4&transport=...` (`/socket.io/`, with the
slash), and routers compare the path without the query. An `exact` match written for the
socket path but without the trailing slash (`exact: /socket.io`), or with a query string
(`exact: /socket.io/?EIO=4`), never equals that request. SocketGuard reports every `exact`
match whose value ends in a `socket.io` segment (or equals a client's `socketguard.io/client-path`
on that host) and is not `<path>/`, and names where the handshake goes instead.

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

import re
from collections.abc import Iterator
from dataclasses import dataclass

from socketguard.context import Context
from socketguard.findings import Finding, Severity
from socketguard.models.istio import VirtualService
from socketguard.objects import FieldPath, ObjectRef
from socketguard.routing import Request
from socketguard.routing.hosts import host_matches
from socketguard.routing.istio import IstioRouter
from socketguard.rules._routes import client_url, hop_text, targets_text
from socketguard.rules.base import Rule
from socketguard.trace import handshake_path

RULE = Rule.define(__doc__, code="SG104", name="exact-match-misses-handshake", severity=Severity.ERROR)

_ENDS_IN_SOCKET = re.compile(r"/socket\.io/?$")


@dataclass(frozen=True)
class ExactMiss:
    route: ObjectRef
    path: FieldPath  # spec.http[i].match[j].uri.exact
    value: str
    handshake: str


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    router = IstioRouter(ctx.inventory)
    client_paths = _client_paths(ctx)
    for vs in ctx.inventory.virtual_services():
        for miss in _misses(ctx, vs, client_paths):
            yield _finding(ctx, router, vs, miss)


def exact_misses(ctx: Context, host: str, handshake: str) -> list[ExactMiss]:
    """The exact matches on VirtualServices for `host` that were written for `handshake` but miss it."""
    client_paths = _client_paths(ctx)
    patterns = [h for h in ctx.inventory.virtual_service_hosts() if h == host.lower() or
                (h.startswith("*") and host_matches(h, host))]
    routes = {ctx.inventory.ref_of(vs): vs for h in patterns for vs in ctx.inventory.virtual_services_for_host(h)}
    return [miss for vs in routes.values() for miss in _misses(ctx, vs, client_paths) if miss.handshake == handshake]


def _client_paths(ctx: Context) -> frozenset[str]:
    return frozenset(c.path.rstrip("/") for c in ctx.clients.values())


def _misses(ctx: Context, vs: VirtualService, client_paths: frozenset[str]) -> Iterator[ExactMiss]:
    ref = ctx.inventory.ref_of(vs)
    for rule_index, rule in enumerate(vs.spec.http):
        for match_index, match in enumerate(rule.match or []):
            exact = match.uri.exact if match.uri is not None else None
            if exact is None:
                continue
            bare = exact.split("?", 1)[0]
            meant = _ENDS_IN_SOCKET.search(bare) is not None or bare.rstrip("/") in client_paths
            wanted = handshake_path(bare)
            if meant and exact != wanted and not (match.ignore_uri_case and exact.lower() == wanted.lower()):
                path = ("spec", "http", rule_index, "match", match_index, "uri", "exact")
                yield ExactMiss(ref, path, exact, wanted)


def _finding(ctx: Context, router: IstioRouter, vs: VirtualService, miss: ExactMiss) -> Finding:
    goes = _where_it_goes(ctx, router, vs, miss)
    message = (f"`exact: {miss.value}` never equals the handshake path {miss.handshake} (Engine.IO always "
               f"requests `{miss.handshake}?EIO=4&...` and the query is not part of the match), so "
               f"{miss.route} {_rule_text(miss.path)} never matches; the handshake {goes}")
    fixes = [f"match the prefix: `uri: {{prefix: {miss.handshake}}}`",
             f"or the exact handshake path: `uri: {{exact: {miss.handshake}}}`"]
    return RULE.finding(miss.route, miss.path, message, fixes=fixes)


def _rule_text(path: FieldPath) -> str:
    return f"spec.http[{path[2]}]"


def _where_it_goes(ctx: Context, router: IstioRouter, vs: VirtualService, miss: ExactMiss) -> str:
    host = next((h for h in vs.spec.hosts if not h.startswith("*")), None)
    if host is None:
        return "falls through to later rules"
    gateways = [g for g in vs.spec.gateways if g != "mesh"]
    scheme = "https"
    for client in ctx.clients.values():
        url = client_url(client)
        if url and host in url:
            scheme = url.split(":", 1)[0].replace("wss", "https").replace("ws", "http")
    request = Request(host=host, path=miss.handshake, scheme=scheme, port=443 if scheme == "https" else 80,
                      via="gateway" if gateways else "mesh", source_namespace=miss.route.namespace)
    routing = router.route(request)
    if routing.winner is None:
        return "matches no rule (404)"
    return f"goes to {hop_text(routing.winner)} instead, reaching {targets_text(ctx, routing.winner)}"
