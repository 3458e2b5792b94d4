"""The path that reaches the pod after routing and rewrite is not the Socket.IO server's path.

What it checks
--------------
For every client handshake and every socket route, SocketGuard follows the request
`GET <path>/?EIO=4&transport=polling` through the route's match and rewrite to the Service and
the pods it selects, and compares the path that arrives with the path the server listens on
(`socketguard.io/path`, default `/socket.io`). A node server (engine.io) accepts only paths
that start with `<path>/`; python-socketio's `ASGIApp` also accepts `<path>` without the slash;
the other python integrations need `<path>/`. Each weighted destination is checked on its own,
so a canary with another path is reported for its share of the traffic.

Why it matters
--------------
A mismatch answers every handshake with HTTP 404 (or the app's own page), so no client ever
connects. Nothing fails at deploy time: the route is valid, the pods are healthy, and the error
appears only in browsers, after the rollout. This is the MageAgent failure: the VirtualService
sent `/mageagent/socket.io/` to a server on the default `/socket.io`.

How to fix
----------
Either make the server listen on the path that arrives, or rewrite the path at the route.

```yaml
# 1. the server's path (and its annotation) match what the route delivers
#    new Server(httpServer, { path: '/mageagent/socket.io' })
metadata:
  annotations:
    socketguard.io/path: /mageagent/socket.io
---
# 2. or the route rewrites the prefix to the server's path
http:
- match:
  - uri: {prefix: /mageagent/socket.io/}
  rewrite: {uri: /socket.io/}
  route:
  - destination: {host: mageagent}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.routing.matching import differs_only_in_case
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.semantics import accepted_prefix, path_option, server_accepts
from socketguard.engine.trace import Delivery, Trace

RULE = Rule.define(__doc__, code="SG102", name="socket-path-mismatch", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for trace in ctx.traces.traces:
        if trace.shadowed:
            continue  # SG103 reports where the request really goes
        for delivery in trace.deliveries:
            if delivery.server is not None and not server_accepts(delivery.server, delivery.upstream_path):
                yield _finding(trace, delivery)


def _finding(trace: Trace, delivery: Delivery) -> Finding:
    server = delivery.server
    assert server is not None
    hop = delivery.hop
    arrives = delivery.upstream_path
    share = f" ({delivery.backend.weight}% of the traffic)" if delivery.backend.weight < 100 else ""
    wanted = arrives.rstrip("/") or "/"
    fixes = [f"set the server path to {wanted}: {path_option(server, wanted)}, and annotate "
             f"`socketguard.io/path: {wanted}` on {server.workload}"]
    if hop is not None:
        where = f"{hop.router} route {hop.route} {hop.rule_path_text} ({hop.match_text})"
        subject, path = hop.route, hop.rewrite_path or hop.rule_path
        fixes.append(_rewrite_fix(hop.router, hop.match_text, server.path, arrives, hop.rule_path_text))
    else:
        where = "the direct connection to the Service"
        subject = trace.client.workload if trace.client else server.workload
        path = trace.client.sources.get("client-path", ()) if trace.client else ()
    accepted = accepted_prefix(server)
    segments = differs_only_in_case(arrives, accepted)
    case_note = "" if segments is None else (
        f" ({segments[0]} differs from {segments[1]} only in letter case, and the server compares paths "
        "case-sensitively)")
    message = (f"{where} delivers the handshake to {server.workload} as {arrives}{share}, but the "
               f"{server.stack} server accepts only paths starting with {accepted}{case_note}")
    related = [server.workload, *([trace.client.workload] if trace.client else [])]
    assumptions = (*(hop.assumptions if hop else ()),
                   *(["server path is the default /socket.io (no socketguard.io/path)"] if server.inferred else []))
    return RULE.finding(subject, path, message, fixes=fixes, related=related, assumptions=assumptions)


def _rewrite_fix(router: str, match_text: str, server_path: str, arrives: str, rule: str) -> str:
    kind, _, matched = match_text.partition(" ")
    wanted = server_path.rstrip("/") + "/"
    if router == "istio":
        target = server_path.rstrip("/") + ("/" if kind != "prefix" or matched.endswith("/") else "")
        what = "prefix" if kind == "prefix" else "path"
        return f"or rewrite the {what} at the route: `rewrite: {{uri: {target}}}` on {rule}"
    if router == "gateway-api":
        return (f"or rewrite at the route: a URLRewrite filter on {rule} so that {arrives} arrives as {wanted} "
                f"(ReplacePrefixMatch: {server_path.rstrip('/')})")
    if router == "traefik":
        return (f"or change the route's Middlewares on {rule} (stripPrefix, replacePathRegex, addPrefix) so that "
                f"{arrives} arrives as {wanted}")
    return (f"or change the route's rewrite (nginx.ingress.kubernetes.io/rewrite-target) so that {arrives} "
            f"arrives as {wanted}")
