"""After the migration, a timeout cuts long-polling requests or WebSocket sessions that BEFORE kept.

What it checks
--------------
`socketguard compare` only. ingress-nginx `proxy-read-timeout`/`proxy-send-timeout` (60 s by
default) count idle time between reads: a server that pings every `pingInterval` never hits
them. HTTPRoute `timeouts.request` and `backendRequest` count the whole request, and on most
implementations the whole upgraded WebSocket session too. When the route sets no timeout, the
implementation's default applies (Envoy Gateway: 15 s; see docs/migration.md). It is an error
when AFTER's timeout is shorter than the server's ping interval (every long-poll, held open
up to a ping interval, is cut), and a warning when it ends WebSocket sessions that BEFORE
kept open.

Why it matters
--------------
A 30 s request timeout looks generous next to a 3600 s read timeout, but it means every
WebSocket session is cut after 30 s and the client reconnects, losing in-flight events; below
the ping interval (25 s by default) even polling fails.

How to fix
----------
Disable the request timeout on the socket rule (and set an idle timeout with the
implementation's own policy when one is needed):

```yaml
rules:
- matches: [{path: {type: PathPrefix, value: /socket.io}}]
  timeouts: {request: 0s}
  backendRefs: [{name: chat, port: 80}]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered, seconds
from socketguard.engine.objects import get_path
from socketguard.engine.routing import RouteHop
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG705", name="migration-timeout-changed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "timeouts"
_FIX = "timeouts: {request: 0s}"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before, after = pair.before_hop, pair.after_hop
    if before is None or after is None or not delivered(after) or not pair.servers:
        return
    limit_ms, source = _after_timeout(pair, after)
    if limit_ms is None:
        return
    was = _describe(before)
    now = f"{seconds(limit_ms)} {source}"
    ping_ms = min(s.ping_interval_ms for s in pair.servers)
    fixes = (f"set `{_FIX}` on {after.route} {after.rule_path_text}",)
    at = (after.route, after.timeout_path or after.rule_path)
    if limit_ms < ping_ms and not _cut_before(before, ping_ms):
        yield pair.located(RULE, f"{now} is shorter than the ping interval ({seconds(ping_ms)}): every long-poll "
                           f"of {pair.request.host}{pair.request.path} is cut before the server answers "
                           f"(BEFORE: {was})", aspect=ASPECT, before=was, after=now, fixes=fixes, at=at)
        return
    websocket = any("websocket" in s.transports for s in pair.servers)
    if websocket and not _cuts_sessions(before, limit_ms):
        yield pair.located(RULE, f"{now} ends every WebSocket session of {pair.request.host}{pair.request.path} "
                           f"after {seconds(limit_ms)}; BEFORE ({was}) only closed idle connections, so clients "
                           "now reconnect and lose events in flight", aspect=ASPECT, before=was, after=now,
                           fixes=fixes, at=at, severity=Severity.WARNING)


def _after_timeout(pair: RoutePair, hop: RouteHop) -> tuple[float | None, str]:
    """AFTER's limit on one request: the rule's, else the implementation's default, else none."""
    implementation = pair.implementation
    if hop.timeout_ms is not None and implementation.route_timeouts == "no":
        return None, ""  # documented as ignored: the implementation's idle timeout stays
    if hop.timeout_ms is not None:
        return hop.timeout_ms, f"request timeout ({hop.route} {hop.rule_path_text})"
    raw = pair.after.inventory.raw(hop.route) or {}
    if get_path(raw, (*hop.rule_path, "timeouts")) is not None:
        return None, ""  # set and disabled (`0s`)
    if implementation.default_timeout_s is None:
        return None, ""
    return implementation.default_timeout_s * 1000, f"default request timeout of {implementation.label}"


def _describe(hop: RouteHop) -> str:
    kind = "read (idle) timeout" if hop.read_timeout else "request timeout"
    return f"{seconds(hop.timeout_ms)} {kind}" if hop.timeout_ms is not None else "no timeout"


def _cut_before(hop: RouteHop, ping_ms: float) -> bool:
    return hop.timeout_ms is not None and hop.timeout_ms < ping_ms


def _cuts_sessions(hop: RouteHop, limit_ms: float) -> bool:
    """Whether BEFORE already ended WebSocket sessions as soon as AFTER does."""
    return hop.timeout_cuts_websocket and hop.timeout_ms is not None and hop.timeout_ms <= limit_ms
