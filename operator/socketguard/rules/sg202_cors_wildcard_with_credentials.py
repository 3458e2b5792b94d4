"""CORS allows any origin (`*`) together with credentials at a node server or in a route's corsPolicy.

What it checks
--------------
A node (socket.io) server annotated `socketguard.io/cors-origins: "*"` with
`socketguard.io/cors-credentials: "true"` (socket.io `cors: { origin: "*", credentials: true }`),
and an Istio `corsPolicy` whose `allowOrigins` match any origin while `allowCredentials` is true.

- At a node server it is an error when a cross-origin browser client paired with the server sends
  credentials (`client-credentials: "true"`) over polling, and nothing in front (a corsPolicy that
  matches the origin) replaces the server's headers; otherwise it is a warning: the setting is
  latent and breaks the first cross-origin page that sends cookies.
- In a corsPolicy it is a warning: Envoy answers a matching origin with that origin, not `*`, so
  browsers accept it, and every website can then make credentialed requests to the socket.
- python-socketio servers are never reported: with `*` they echo the request's origin.

Why it matters
--------------
The `cors` package sends `Access-Control-Allow-Origin: *` literally; browsers refuse a
credentialed response with a wildcard origin, so every polling request of such a page fails with a
CORS error while the server logs 200. Where a wildcard is accepted (the proxy echoes), any site a
user visits can open a socket with the user's cookies.

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

from socketguard.context import Context, Pairing
from socketguard.contract import ServerSpec
from socketguard.cors import is_cross_origin, page_origin, proxy_allows, proxy_allows_any, transports_used
from socketguard.findings import Finding, Severity
from socketguard.objects import FieldPath, ObjectRef
from socketguard.routing import RouteHop
from socketguard.rules.base import Rule

RULE = Rule.define(__doc__, code="SG202", name="cors-wildcard-with-credentials", severity=Severity.ERROR)

ANNOTATIONS: FieldPath = ("metadata", "annotations")


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server in ctx.servers.values():
        if server.stack == "node" and "*" in server.cors_origins and server.cors_credentials:
            yield _server_finding(server, [p for p in ctx.pairs if p.server.workload == server.workload])
    yield from _proxy_findings(ctx)


def _broken_by(pair: Pairing) -> bool:
    """A credentialed cross-origin poll that receives the server's literal `*`."""
    client = pair.client
    if not (client.credentials and is_cross_origin(client) and "polling" in transports_used(client, pair.server)):
        return False
    hop = pair.trace.hop if pair.trace is not None else None
    page = page_origin(client)
    return not (hop is not None and hop.cors is not None and page is not None and proxy_allows(hop.cors, page))


def _server_finding(server: ServerSpec, pairs: list[Pairing]) -> Finding:
    broken = [p for p in pairs if _broken_by(p)]
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
        return RULE.finding(server.workload, path, message, fixes=fixes, related=related,
                            assumptions=["the client is assumed to start with polling (socket.io's default)"])
    why = _latent_reason(pairs)
    message = (f"{server.workload} allows origin `*` with credentials, which browsers refuse for credentialed "
               f"cross-origin requests; latent: {why}")
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
        yield _proxy_finding(hop, [w for backend in hop.backends for w in backend.workloads])


def _proxy_finding(hop: RouteHop, servers: list[ObjectRef]) -> Finding:
    assert hop.cors is not None
    message = (f"the corsPolicy of {hop.route} {hop.rule_path_text} allows any origin with credentials: Envoy echoes "
               "each request's origin, so every website can open this socket with its visitors' cookies")
    fixes = [f"list the page origins in `allowOrigins` (`- exact: https://app.example.com`) on {hop.rule_path_text}",
             "or set `allowCredentials: false` if the socket needs no cookies"]
    return RULE.finding(hop.route, (*hop.cors.path, "allowOrigins"), message, fixes=fixes, related=servers,
                        severity=Severity.WARNING)
