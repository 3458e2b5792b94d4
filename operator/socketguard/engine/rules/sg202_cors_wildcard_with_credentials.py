"""CORS allows any origin (`*`) together with credentials at a node server or at the route's proxy.

What it checks
--------------
A node (socket.io) server annotated `socketguard.io/cors-origins: "*"` with
`socketguard.io/cors-credentials: "true"` (socket.io `cors: { origin: "*", credentials: true }`),
and route CORS (Istio `corsPolicy`, a Gateway API CORS filter, ingress-nginx `enable-cors`) that
allows any origin with credentials.

- Where `Access-Control-Allow-Origin: *` is sent literally (the node server's `cors` package,
  ingress-nginx's `cors-allow-origin: "*"`, which is also its default, with credentials on by
  default), it is an error when a cross-origin browser client that sends credentials
  (`client-credentials: "true"`) polls through it, and nothing in front replaces the header;
  otherwise a warning: the setting is latent and breaks the first cross-origin page that sends
  cookies.
- Istio (Envoy) and Gateway API proxies answer a matching origin with that origin, not `*`, so
  browsers accept it: a warning, since every website can then make credentialed requests.
- python-socketio servers are never reported: with `*` they echo the request's origin.

Why it matters
--------------
Browsers refuse a credentialed response whose `Access-Control-Allow-Origin` is `*`, so every
polling request of such a page fails with a CORS error while the server logs 200. Where a
wildcard is echoed instead, any site a user visits can open a socket with the user's cookies.

How to fix
----------
List the origins that may connect; keep credentials only if the socket needs cookies.

```yaml
# new Server(httpServer, { cors: { origin: ["https://app.example.com"], credentials: true } })
metadata:
  annotations:
    socketguard.io/cors-origins: https://app.example.com
    socketguard.io/cors-credentials: "true"
---
corsPolicy:
  allowOrigins:
  - exact: https://app.example.com
  allowCredentials: true
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.cors import (
    describe_proxy,
    is_cross_origin,
    page_origin,
    proxy_allows_any,
    proxy_field,
    proxy_fix,
    proxy_sends_wildcard,
    refusal,
)
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Pairing

RULE = Rule.define(__doc__, code="SG202", name="cors-wildcard-with-credentials", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)

ANNOTATIONS: FieldPath = ("metadata", "annotations")
POLLING_FIRST = "the client is assumed to start with polling (socket.io's default transport order)"


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server in ctx.servers.values():
        if server.stack == "node" and "*" in server.cors_origins and server.cors_credentials:
            yield _server_finding(server, ctx.traces.pairs_of(server.workload))
    yield from _proxy_findings(ctx)


def _wildcard_refused(pair: Pairing, by: str) -> bool:
    """A credentialed cross-origin poll that receives a literal `*` from the server or the proxy."""
    hop = pair.trace.hop if pair.trace is not None else None
    refused = refusal(pair.client, pair.server, hop)
    return refused is not None and refused.what == "wildcard" and refused.by == by


def _server_finding(server: ServerSpec, pairs: list[Pairing]) -> Finding:
    broken = [p for p in pairs if _wildcard_refused(p, "server")]
    path = server.sources.get("cors-origins", ANNOTATIONS)
    related = [p.client.workload for p in pairs]
    fixes = [f"list the allowed origins instead of `*`: `cors: {{ origin: [{_origins(pairs)}], credentials: true }}` "
             f"and `socketguard.io/cors-origins: {_origins(pairs, quoted=False)}` on {server.workload}",
             "or set `credentials: false` (`socketguard.io/cors-credentials: \"false\"`) if the socket needs no "
             "cookies"]
    if broken:
        client = broken[0].client
        message = (f"{server.workload} answers `Access-Control-Allow-Origin: *` with credentials, and the page "
                   f"{page_origin(client)} of {client.workload} polls it cross-origin with credentials: browsers "
                   "refuse every such response")
        return RULE.finding(server.workload, path, message, fixes=fixes, related=related, assumptions=[POLLING_FIRST])
    message = (f"{server.workload} allows origin `*` with credentials, which browsers refuse for credentialed "
               f"cross-origin requests; latent: {_latent_reason(pairs)}")
    return RULE.finding(server.workload, path, message, fixes=fixes, related=related, severity=Severity.WARNING)


def _latent_reason(pairs: list[Pairing]) -> str:
    if not pairs:
        return "no annotated client is paired with it yet"
    same = [p.client.workload for p in pairs if not is_cross_origin(p.client)]
    if same:
        return f"{', '.join(map(str, same))} is same-origin, where CORS does not apply"
    return "no paired cross-origin client sends credentials over polling today"


def _origins(pairs: list[Pairing], *, quoted: bool = True) -> str:
    origins = sorted({o for p in pairs if (o := page_origin(p.client)) is not None}) or ["https://app.example.com"]
    return ", ".join(f"'{o}'" for o in origins) if quoted else ",".join(origins)


def _proxy_findings(ctx: Context) -> Iterator[Finding]:
    seen: set[tuple[ObjectRef, FieldPath]] = set()
    for trace in ctx.traces.traces:
        hop = trace.hop
        if hop is None or hop.cors is None or not hop.cors.allow_credentials or not proxy_allows_any(hop.cors):
            continue
        if (hop.route, hop.cors.path) in seen:
            continue
        seen.add((hop.route, hop.cors.path))
        through = [p for w in dict.fromkeys(w for b in hop.backends for w in b.workloads)
                   for p in ctx.traces.pairs_of(w) if p.trace is not None and p.trace.hop is not None
                   and (p.trace.hop.route, p.trace.hop.rule_path) == (hop.route, hop.rule_path)]
        yield _proxy_finding(hop, through)


def _proxy_finding(hop: RouteHop, through: list[Pairing]) -> Finding:
    assert hop.cors is not None
    servers = [w for backend in hop.backends for w in backend.workloads]
    related = [*servers, *(p.client.workload for p in through)]
    path = proxy_field(hop, "origins")
    fixes = [f"list the page origins instead: {proxy_fix(hop, _origins(through, quoted=False).split(',')[0], True)}",
             "or stop allowing credentials there if the socket needs no cookies"]
    if not proxy_sends_wildcard(hop):
        message = (f"the {describe_proxy(hop)} at {hop.route} {hop.rule_path_text} allows any origin with credentials: "
                   "the proxy echoes each request's origin, so every website can open this socket with its "
                   "visitors' cookies")
        return RULE.finding(hop.route, path, message, fixes=fixes, related=related, severity=Severity.WARNING)
    broken = [p for p in through if _wildcard_refused(p, "proxy")]
    if broken:
        client = broken[0].client
        message = (f"the {describe_proxy(hop)} at {hop.route} answers `Access-Control-Allow-Origin: *` with "
                   f"credentials, and the page {page_origin(client)} of {client.workload} polls through it "
                   "cross-origin with credentials: browsers refuse every such response")
        return RULE.finding(hop.route, path, message, fixes=fixes, related=related, assumptions=[POLLING_FIRST])
    message = (f"the {describe_proxy(hop)} at {hop.route} answers `Access-Control-Allow-Origin: *` with credentials, "
               f"which browsers refuse for credentialed cross-origin requests; latent: {_latent_reason(through)}")
    return RULE.finding(hop.route, path, message, fixes=fixes, related=related, severity=Severity.WARNING)
