"""After the migration, a page origin that could open the socket is refused by CORS, or CORS moved.

What it checks
--------------
`socketguard compare` only. ingress-nginx `enable-cors` (with `cors-allow-origin`, default
`*`, and `cors-allow-credentials`, default true) answered CORS at the proxy. In AFTER the
HTTPRoute CORS filter does (standard channel since v1.5, Extended support), or, without one,
the Socket.IO server's own `cors` option. For every cross-origin page SocketGuard knows
(`socketguard.io/client-origin`), it is an error when BEFORE allowed the origin and AFTER does
not. Without known pages, a CORS policy that vanished is a warning.

Why it matters
--------------
The browser refuses the polling handshake's response (or the preflight) and the client
falls back to retrying; nothing in the cluster logs it.

How to fix
----------
Add the CORS filter to the socket rule with BEFORE's origins:

```yaml
rules:
- matches: [{path: {type: PathPrefix, value: /socket.io}}]
  filters:
  - type: CORS
    cors: {allowOrigins: ["https://app.example.com"], allowCredentials: true}
  backendRefs: [{name: chat, port: 80}]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.cors import proxy_allows, server_allows_any, server_lists
from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered
from socketguard.engine.routing import CorsAtProxy, RouteHop
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG706", name="migration-cors-changed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "cors"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before, after = pair.before_hop, pair.after_hop
    if before is None or after is None or not delivered(after):
        return
    was, now = _describe(before.cors), _describe(after.cors)
    fixes = (_fix(before, after),)
    refused = [o for o in pair.origins if _allows(pair, before, o) and not _allows(pair, after, o)]
    if refused:
        yield pair.located(RULE, f"pages on {', '.join(refused)} could open {pair.request.host}{pair.request.path} "
                           f"in BEFORE ({was}); after the migration CORS refuses them ({now})", aspect=ASPECT,
                           before=was, after=now, fixes=fixes)
        return
    if not pair.origins and before.cors is not None and after.cors is None and not any(
            server_allows_any(s) for s in pair.servers):
        yield pair.located(RULE, f"{pair.request.host}{pair.request.path} answered CORS at the proxy in BEFORE "
                           f"({was}); AFTER has no CORS filter, so only the server's own policy applies",
                           aspect=ASPECT, before=was, after=now, fixes=fixes, severity=Severity.WARNING)


def _allows(pair: RoutePair, hop: RouteHop, origin: str) -> bool:
    if hop.cors is not None:
        return proxy_allows(hop.cors, origin)
    return any(server_allows_any(s) or server_lists(s, origin) for s in pair.servers)


def _describe(cors: CorsAtProxy | None) -> str:
    if cors is None:
        return "no CORS at the proxy"
    origins = ", ".join(value for _, value in cors.allow_origins) or "none"
    return f"proxy allows {origins}" + (", with credentials" if cors.allow_credentials else "")


def _fix(before: RouteHop, after: RouteHop) -> str:
    origins = [value for _, value in before.cors.allow_origins] if before.cors else []
    listed = ", ".join(f'"{o}"' for o in origins) or '"https://PAGE-ORIGIN"'
    credentials = "true" if before.cors is None or before.cors.allow_credentials else "false"
    return (f"add to {after.route} {after.rule_path_text}: `filters: [{{type: CORS, cors: {{allowOrigins: "
            f"[{listed}], allowCredentials: {credentials}}}}}]`")
