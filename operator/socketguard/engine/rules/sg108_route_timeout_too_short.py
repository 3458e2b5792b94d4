"""A route timeout cuts Socket.IO long polls or WebSocket connections.

What it checks
--------------
A long poll is held open until the server's next ping, about `pingInterval` (default 25 s).
For every socket route and client handshake, SocketGuard compares the route's per-request
timeout with the server's `socketguard.io/ping-interval` and `ping-timeout`:

- polling enabled and timeout at or below `pingInterval`: error, every idle long poll is cut;
- polling enabled and timeout below `pingInterval + pingTimeout`: warning, a late ping or a
  slow network cuts the poll;
- websocket enabled and any finite Istio (or Gateway API) route timeout: warning, the proxy
  ends upgraded connections after that duration too, so every socket reconnects on a timer.

Read timeouts that only count idle time (ingress-nginx `proxy-read-timeout`) need only exceed
the ping interval.

Why it matters
--------------
A cut long poll makes the client reconnect (`transport close`), losing buffered events and
session state; a cut WebSocket disconnects every user at the same moment.

How to fix
----------
Remove the timeout from the socket route (Istio disables it by default) or make it longer
than `pingInterval + pingTimeout`:

```yaml
http:
- match:
  - uri: {prefix: /socket.io/}
  route:
  - destination: {host: chat}
  timeout: 0s          # no timeout for the socket route
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules._routes import hop_text, live_traces
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG108", name="route-timeout-too-short", severity=Severity.WARNING,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    worst: dict[tuple[ObjectRef, FieldPath], Finding] = {}
    for trace in live_traces(ctx):
        hop = trace.hop
        if hop is None or hop.timeout_ms is None or hop.timeout_path is None:
            continue
        client_transports = trace.client.transports if trace.client else None
        for delivery in trace.deliveries:
            if delivery.server is None:
                continue
            transports = delivery.server.transports & (client_transports or delivery.server.transports)
            finding = _judge(hop, delivery.server, transports)
            if finding is None:
                continue
            key = (hop.route, hop.timeout_path)
            if key not in worst or finding.severity > worst[key].severity:
                worst[key] = finding
    yield from worst.values()


def _judge(hop: RouteHop, server: ServerSpec, transports: frozenset[str]) -> Finding | None:
    assert hop.timeout_ms is not None and hop.timeout_path is not None
    timeout, interval, grace = hop.timeout_ms, server.ping_interval_ms, server.ping_timeout_ms
    where = f"{hop_text(hop)} has timeout {_seconds(timeout)}"
    fixes = ["remove the timeout from the socket route (Istio has none by default)",
             f"or set it above pingInterval + pingTimeout ({_seconds(interval + grace)})"]
    related = [server.workload]
    assumptions = [*hop.assumptions, *([f"{server.workload} uses the default pingInterval 25s and pingTimeout 20s"]
                                       if server.inferred else [])]
    if "polling" in transports and timeout <= interval:
        return RULE.finding(hop.route, hop.timeout_path,
                            f"{where}, at or below {server.workload}'s pingInterval {_seconds(interval)}, so every "
                            "idle long poll is cut before the server answers it", severity=Severity.ERROR,
                            fixes=fixes, related=related, assumptions=assumptions)
    if hop.read_timeout:
        return None
    if "polling" in transports and timeout < interval + grace:
        return RULE.finding(hop.route, hop.timeout_path,
                            f"{where}, below {server.workload}'s pingInterval + pingTimeout "
                            f"({_seconds(interval)} + {_seconds(grace)}), so a late ping cuts the long poll",
                            fixes=fixes, related=related, assumptions=assumptions)
    if "websocket" in transports and hop.timeout_cuts_websocket:
        return RULE.finding(hop.route, hop.timeout_path,
                            f"{where}, and the proxy also ends upgraded WebSocket connections to "
                            f"{server.workload} after {_seconds(timeout)}, so every socket reconnects on that timer",
                            fixes=fixes, related=related, assumptions=assumptions)
    return None


def _seconds(ms: float) -> str:
    value = ms / 1000
    return f"{value:g}s"
