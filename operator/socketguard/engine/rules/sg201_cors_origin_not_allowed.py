"""A cross-origin page's origin is not allowed by the Socket.IO server or the route's corsPolicy.

What it checks
--------------
For every browser client (`socketguard.io/client-origin` set) and each server its handshake
reaches, SocketGuard compares the page origin with the origin of the socket URL
(`client-url`; `io()` with no URL is the page's own origin). Same-origin requests are not
subject to CORS. For a cross-origin page it applies the server's stack semantics:

- node (socket.io): without a `cors` option no CORS header is sent; an origin outside
  `cors.origin` still gets HTTP 200, but without `Access-Control-Allow-Origin`, so the browser
  discards every polling response. CORS does not apply to WebSocket on node, so a client that
  uses only WebSocket is not affected.
- python-socketio: the server answers HTTP 400 to any Origin it does not allow, on polling and
  on WebSocket alike; by default it allows only the request's own origin, and an explicit
  `cors_allowed_origins` list replaces that default (so it refuses even a same-origin page whose
  origin is missing from the list: WebSocket handshakes always carry Origin). The default takes
  the origin from the Host header, so a route that rewrites the authority (Istio
  `rewrite.authority`) makes it refuse same-origin pages too.
- CORS at the route that handles the handshake (Istio `corsPolicy`, a Gateway API CORS filter,
  ingress-nginx `enable-cors`): when it matches the origin, the proxy writes
  `Access-Control-Allow-Origin` itself (enough for node, not for python-socketio's own 400);
  when it does not match, the server's answer passes through.

A client with `client-credentials: "true"` (`withCredentials`) also needs
`Access-Control-Allow-Credentials: true`. The `*`-with-credentials case is SG202.

Why it matters
--------------
The handshake fails in the browser with a CORS error (node) or `400 Not an accepted origin`
(python), before any event flows. Server logs look healthy for node, since it answered 200.

How to fix
----------
Allow the page's origin where the response is produced, or serve page and socket from one origin.

```yaml
# node:   new Server(httpServer, { cors: { origin: ["https://app.example.com"], credentials: true } })
# python: socketio.AsyncServer(cors_allowed_origins=["https://app.example.com"])
metadata:
  annotations:
    socketguard.io/cors-origins: https://app.example.com
    socketguard.io/cors-credentials: "true"
---
# or, for a node server, at the route (the proxy answers for the server):
http:
- match:
  - uri: {prefix: /socket.io/}
  corsPolicy:
    allowOrigins:
    - exact: https://app.example.com
    allowCredentials: true
  route:
  - destination: {host: chat}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.cors import (
    Refusal,
    describe_proxy,
    describe_server,
    page_origin,
    proxy_field,
    proxy_fix,
    refusal,
    socket_origin,
)
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef, get_path
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Pairing

RULE = Rule.define(__doc__, code="SG201", name="cors-origin-not-allowed", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)

ANNOTATIONS: FieldPath = ("metadata", "annotations")


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    seen: set[tuple[ObjectRef, ObjectRef]] = set()
    for pair in ctx.pairs:
        key = (pair.client.workload, pair.server.workload)
        if key in seen:
            continue
        seen.add(key)
        hop = pair.trace.hop if pair.trace is not None else None
        refused = refusal(pair.client, pair.server, hop, _rewritten_host(ctx, hop))
        if refused is not None and refused.what != "wildcard":  # SG202 owns `*` with credentials
            yield _finding(pair, hop, refused)


def _rewritten_host(ctx: Context, hop: RouteHop | None) -> str | None:
    """An Istio `rewrite.authority` on the rule: the Host the server then sees."""
    if hop is None or hop.router != "istio":
        return None
    value = get_path(ctx.inventory.raw(hop.route), (*hop.rule_path, "rewrite", "authority"))
    return value.split(":")[0] if isinstance(value, str) and value else None


def _finding(pair: Pairing, hop: RouteHop | None, refused: Refusal) -> Finding:
    client, server = pair.client, pair.server
    page, target = page_origin(client), socket_origin(client)
    assert page is not None and target is not None
    relation = "cross-origin to" if page != target else "on its own origin"
    refused_what = "credentials" if refused.what == "credentials" else f"origin {page}"
    proxy_text = f"; the {describe_proxy(hop)} at {hop.route} does not help" if hop and hop.cors else ""
    message = (f"the page {page} of {client.workload} connects {relation} {target} over {refused.transport}, but "
               f"{server.workload} ({server.stack}, {describe_server(server)}) does not allow its {refused_what}: "
               f"{refused.detail}{proxy_text}")
    subject, path = _subject(server, hop, refused)
    related = [server.workload, client.workload, *([hop.route] if hop else [])]
    return RULE.finding(subject, path, message, fixes=_fixes(pair, hop, refused, page), related=related,
                        assumptions=_assumptions(pair, hop))


def _subject(server: ServerSpec, hop: RouteHop | None, refused: Refusal) -> tuple[ObjectRef, FieldPath]:
    if refused.by == "proxy" and hop is not None and hop.cors is not None:
        return hop.route, proxy_field(hop, "credentials" if refused.what == "credentials" else "origins")
    key = "cors-credentials" if refused.what == "credentials" else "cors-origins"
    return server.workload, server.sources.get(key, ANNOTATIONS)


def _fixes(pair: Pairing, hop: RouteHop | None, refused: Refusal, page: str) -> list[str]:
    server = pair.server
    origins = [o for o in server.cors_origins if o not in ("*", "reflect")] + [page]
    listed = ", ".join(f"'{o}'" for o in origins)
    fixes: list[str] = []
    if refused.what == "credentials":
        fixes.append(_credentials_fix(server, listed))
        fixes.append(f"or drop `withCredentials` on {pair.client.workload} if the socket needs no cookies")
    elif server.stack == "node":
        fixes.append(f"allow the origin at the server: `new Server(httpServer, {{ cors: {{ origin: [{listed}]"
                     f"{', credentials: true' if pair.client.credentials else ''} }} }})` and annotate "
                     f"`socketguard.io/cors-origins: {','.join(origins)}` on {server.workload}")
    else:
        fixes.append(f"allow the origin at the server: `cors_allowed_origins=[{listed}]` on the socketio server, "
                     f"and annotate `socketguard.io/cors-origins: {','.join(origins)}` on {server.workload}")
    if server.stack == "node" and hop is not None:
        fixes.append(f"or let the proxy answer: {proxy_fix(hop, page, pair.client.credentials)}")
    if refused.host_rewritten and hop is not None:
        fixes.append(f"or keep the Host: remove `rewrite.authority` from {hop.route} {hop.rule_path_text}")
    fixes.append("or serve the page and the socket from one origin (io() with no URL, the socket path routed "
                 "on the page's host): same-origin requests are not subject to CORS")
    if server.stack == "node" and refused.what != "credentials":
        fixes.append("or use WebSocket only on both ends (`transports: ['websocket']` on the client and server, "
                     "`socketguard.io/transports: websocket`): CORS does not apply to WebSocket on node")
    return fixes


def _credentials_fix(server: ServerSpec, listed: str) -> str:
    if server.stack == "node":
        return (f"allow credentials at the server: `cors: {{ origin: [{listed}], credentials: true }}` and annotate "
                f"`socketguard.io/cors-credentials: \"true\"` on {server.workload}")
    return (f"allow credentials at the server: `cors_credentials=True` and annotate "
            f"`socketguard.io/cors-credentials: \"true\"` on {server.workload}")


def _assumptions(pair: Pairing, hop: RouteHop | None) -> list[str]:
    assumptions = list(hop.assumptions) if hop else []
    if pair.server.stack == "node":
        assumptions.append("only polling is subject to CORS on node; the client is assumed to start with polling "
                           "(socket.io's default transport order), so a refused poll fails the connection")
    if pair.server.inferred:
        assumptions.append("server CORS assumed unset (no socketguard.io/cors-origins): node sends no CORS headers")
    return assumptions
