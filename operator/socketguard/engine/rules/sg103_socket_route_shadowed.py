"""An earlier route captures the Socket.IO handshake and sends it somewhere else.

What it checks
--------------
Istio tries the `http[]` rules of a VirtualService in order and the first match wins; several
VirtualServices for one host on a gateway are merged in an order users cannot rely on. For
every socket route, SocketGuard sends the handshake that route is written for through the
whole host and reports when another rule matches first and delivers elsewhere (another
Service, a redirect, or the same server on a path it does not serve). For every client, it
reports a first match that reaches no Socket.IO server while a later matching rule would.
The finding sits on the shadowing rule and names both rules.

Why it matters
--------------
The socket route is never used: a broad `prefix: /` for the web frontend placed first answers
the handshake with the frontend's 404 page, and nothing in the route objects looks wrong on
its own.

How to fix
----------
Put the socket route before broader rules, narrow the earlier match, or keep all routes for a
host in one VirtualService:

```yaml
http:
- match:
  - uri: {prefix: /socket.io/}    # first: the specific socket route
  route:
  - destination: {host: chat}
- match:
  - uri: {prefix: /}              # then the catch-all frontend
  route:
  - destination: {host: web}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules._routes import client_shadow, hop_field, hop_text, targets_text
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.semantics import server_accepts
from socketguard.engine.trace import Trace

RULE = Rule.define(__doc__, code="SG103", name="socket-route-shadowed", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)

Pair = tuple[ObjectRef, FieldPath, ObjectRef, FieldPath]


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    reported: set[Pair] = set()
    for trace in ctx.traces.route_traces():
        if trace.shadowed and trace.hop is not None and trace.origin is not None \
                and _sends_elsewhere(ctx, trace.hop, trace.origin):
            yield from _once(ctx, reported, trace, trace.hop, trace.origin)
    for trace in ctx.traces.client_traces():
        shadow = client_shadow(ctx, trace)
        if shadow is not None:
            yield from _once(ctx, reported, trace, *shadow)


def _sends_elsewhere(ctx: Context, winner: RouteHop, origin: RouteHop) -> bool:
    """False when the first match reaches the same workloads, each on a path its server accepts."""
    if not winner.delivers:
        return True
    reached = {w for b in winner.backends for w in b.workloads}
    meant = {w for b in origin.backends for w in b.workloads}
    if reached != meant or not reached:
        return True
    return any(w in ctx.servers and not server_accepts(ctx.servers[w], winner.upstream_path) for w in reached)


def _once(ctx: Context, reported: set[Pair], trace: Trace, winner: RouteHop, hidden: RouteHop) -> Iterator[Finding]:
    pair = (winner.route, winner.rule_path, hidden.route, hidden.rule_path)
    if pair in reported:
        return
    reported.add(pair)
    yield _finding(ctx, trace, winner, hidden)


def _finding(ctx: Context, trace: Trace, winner: RouteHop, hidden: RouteHop) -> Finding:
    request = trace.request
    same = winner.route == hidden.route
    message = (f"{hop_text(winner)} matches the handshake GET {request.path} on {request.host} before "
               f"{hop_text(hidden)} and sends it to {targets_text(ctx, winner)} instead of "
               f"{targets_text(ctx, hidden)}")
    if winner.router != "istio":
        fixes = [f"make {hidden.route} {hidden.rule_path_text} more specific than {winner.route} "
                 f"{winner.rule_path_text} ({winner.router} prefers the more specific match, not the order)",
                 f"or narrow the match of {winner.route} {winner.rule_path_text} so it excludes {request.path}"]
    elif same:
        fixes = [f"move {hidden.rule_path_text} above {winner.rule_path_text} in {winner.route}",
                 f"or narrow the match of {winner.rule_path_text} so it excludes {request.path}"]
    else:
        message += " (Istio merges VirtualServices for one host in no guaranteed order)"
        fixes = [f"keep the routes for {request.host} in one VirtualService with the socket route first",
                 f"or narrow the match of {winner.route} {winner.rule_path_text} so it excludes {request.path}"]
    # Shadowing holds whatever the server's contract is, so inferred servers are not related here
    # (they would cap the finding at warning).
    related = [hidden.route, *(b.service for b in hidden.backends if b.service),
               *([trace.client.workload] if trace.client else [])]
    return RULE.finding(winner.route, hop_field(winner), message, fixes=fixes, related=related,
                        assumptions=winner.assumptions)
