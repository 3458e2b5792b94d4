"""A workload is treated as a Socket.IO server from routing alone, with the default contract.

What it checks
--------------
A workload that carries no `socketguard.io/` server annotation but is selected by a Service
that a route with a `socket.io` path segment delivers to is an *inferred* server: SocketGuard
checks it with the defaults (node stack, path `/socket.io`, both transports, no CORS, no
adapter) and caps every finding about it at warning. This informational finding lists the
annotations that would confirm the contract, filled with the values the routes imply: the
path that arrives at the pod and the container port the Service targets.

Why it matters
--------------
Defaults are a guess. A server that really listens on `/mageagent/socket.io`, or runs
python-socketio, is judged against the wrong contract until it says what it is: real
mismatches stay warnings and correct setups may be flagged. Annotating turns the guesses into
checked facts and lets the operator report a `SocketRouteReady` condition on the workload.

How to fix
----------
Add the annotations with the values the server's code really uses (check its `path` option):

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mageagent
  annotations:
    socketguard.io/role: server
    socketguard.io/path: /mageagent/socket.io   # new Server(httpServer, { path: ... })
    socketguard.io/port: http
    socketguard.io/stack: node                  # or python-asgi / python
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.matching import DEFAULT_SOCKET_SEGMENT, socket_segment
from socketguard.engine.rules._routes import ANNOTATIONS, hop_text
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.semantics import usable_server_path
from socketguard.engine.trace import Delivery

RULE = Rule.define(__doc__, code="SG004", name="inferred-socket-server", severity=Severity.INFO,
                   admission=Admission.ADVISORY)

@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    by_workload: dict[ObjectRef, list[Delivery]] = {}
    for trace in ctx.traces.route_traces():
        for delivery in trace.deliveries:
            if delivery.workload in ctx.traces.inferred:
                by_workload.setdefault(delivery.workload, []).append(delivery)
    for workload in sorted(ctx.traces.inferred):
        yield _finding(workload, by_workload.get(workload, []))


def _finding(workload: ObjectRef, deliveries: list[Delivery]) -> Finding:
    paths = sorted({_implied_path(d.upstream_path) for d in deliveries})
    # A route that delivers the root is broken (SG102), not a hint at the server's path.
    usable = [path for path in paths if usable_server_path(path)]
    ports = sorted({str(d.backend.target_port) for d in deliveries if d.backend.target_port is not None})
    routes = sorted({hop_text(d.hop) for d in deliveries if d.hop is not None})
    lines = ["socketguard.io/role: server"]
    lines += [f"socketguard.io/path: {path}" for path in (usable or [DEFAULT_SOCKET_SEGMENT])[:1]]
    lines += [f"socketguard.io/port: {port}" for port in ports[:1]]
    lines.append("socketguard.io/stack: node  # or python-asgi / python")
    via = f" because {', '.join(routes)} routes socket.io traffic to it" if routes else ""
    message = (f"{workload} has no socketguard.io/ server annotations and is checked as a node Socket.IO "
               f"server on the default path /socket.io{via}; the routes deliver "
               f"{' and '.join(paths) or '/socket.io'}")
    fixes = [f"annotate {workload} with: " + "; ".join(lines)]
    if len(usable) > 1:
        fixes.append(f"the routes deliver several paths ({', '.join(usable)}): only one can be the server's")
    if len(usable) < len(paths):
        fixes.append("a route rewrites the handshake to / (SG102): fix that route rather than the server's path")
    related = [d.hop.route for d in deliveries if d.hop is not None]
    related += [d.backend.service for d in deliveries if d.backend.service is not None]
    return RULE.finding(workload, ANNOTATIONS, message, fixes=fixes, related=related,
                        assumptions=["stack node, path /socket.io, transports polling,websocket, no CORS, no adapter"])


def _implied_path(upstream: str) -> str:
    return socket_segment(upstream) or upstream.rstrip("/") or "/"
