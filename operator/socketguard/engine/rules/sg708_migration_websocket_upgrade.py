"""After the migration, the WebSocket upgrade of the socket may not pass.

What it checks
--------------
`socketguard compare` only, for servers that offer the `websocket` transport. It routes the
upgrade request (`Upgrade: websocket`) through AFTER and reports a backend Service port whose
`appProtocol` names a protocol that cannot carry an HTTP/1.1 upgrade (`kubernetes.io/h2c`,
`grpc`, ...), where `kubernetes.io/ws` or `kubernetes.io/wss` (or none) would, and an upgrade
that AFTER routes elsewhere than the polling handshake.

Why it matters
--------------
ingress-nginx passes `Upgrade` on every location. Gateway API implementations choose the
upstream protocol from the Service port's `appProtocol`; an HTTP/2-only upstream refuses the
upgrade and Socket.IO stays on polling (or fails with `transports: ["websocket"]`).

How to fix
----------
Mark the Service port as WebSocket-capable:

```yaml
apiVersion: v1
kind: Service
spec:
  ports:
  - {name: http, port: 80, targetPort: http, appProtocol: kubernetes.io/ws}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered, describe_hop
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG708", name="migration-websocket-upgrade", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)
ASPECT = "websocket"
UPGRADABLE = frozenset({None, "http", "kubernetes.io/ws", "kubernetes.io/wss"})


def differences(pair: RoutePair) -> Iterator[Difference]:
    if not any("websocket" in s.transports for s in pair.servers) or not delivered(pair.after_hop):
        return
    hop = pair.after_variant(transport="websocket").winner
    if hop is None:
        return
    if pair.after_hop is not None and (hop.route, hop.rule_path) != (pair.after_hop.route, pair.after_hop.rule_path):
        yield pair.located(RULE, f"the WebSocket upgrade of {pair.request.host}{pair.request.path} is routed by "
                           f"{describe_hop(hop)}, the polling handshake by {describe_hop(pair.after_hop)}",
                           aspect=ASPECT, before=describe_hop(pair.before_hop), after=describe_hop(hop),
                           fixes=("route both transports with the same rule (no header match on Upgrade)",))
    for backend in delivered(hop):
        protocol = backend.app_protocol.lower() if backend.app_protocol else None
        if protocol in UPGRADABLE or backend.service is None:
            continue
        yield pair.located(RULE, f"{backend.service} port {backend.service_port} has appProtocol "
                           f"{backend.app_protocol}: the gateway speaks it upstream and cannot pass the WebSocket "
                           "upgrade", aspect=ASPECT, before="upgrade passes (ingress-nginx)",
                           after=f"appProtocol {backend.app_protocol}", severity=Severity.ERROR,
                           fixes=(f"set `appProtocol: kubernetes.io/ws` on {backend.service} port "
                                  f"{backend.service_port}",), at=(backend.service, ("spec", "ports")))
