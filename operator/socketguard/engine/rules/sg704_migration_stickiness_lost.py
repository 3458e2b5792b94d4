"""After the migration, Engine.IO polling to a server with several replicas is no longer sticky.

What it checks
--------------
`socketguard compare` only. Where BEFORE kept a session on one pod (ingress-nginx
`affinity: cookie`, `upstream-hash-by`), the server has several replicas (or an HPA that may
add some) and polling is on, AFTER must keep it too: `sessionPersistence` on the HTTPRoute
rule, honoured by the implementation, or the implementation's own policy (an Istio
DestinationRule `consistentHash` for the Service). In Gateway API v1.6 `sessionPersistence`
exists only in the experimental channel: the standard CRDs prune it on apply, so `compare`
assumes experimental-channel CRDs and says so. An implementation documented to ignore it
(NGINX Gateway Fabric without NGINX Plus) is reported. A one-replica server is not reported.

Why it matters
--------------
Socket.IO's polling transport sends each request of a session separately; round-robin
spreads them over the pods and every pod but the first answers `Session ID unknown` (HTTP 400).
Cookie affinity silently becomes round-robin in most conversions.

How to fix
----------
Add session persistence to the rule (experimental-channel CRDs), or the implementation's own
policy:

```yaml
rules:
- matches: [{path: {type: PathPrefix, value: /socket.io}}]
  sessionPersistence: {sessionName: io, type: Cookie}
  backendRefs: [{name: chat, port: 80}]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.migration.hops import delivered
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend
from socketguard.engine.routing.hosts import fqdn
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.scale import Replicas, replicas_of

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG704", name="migration-stickiness-lost", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "stickiness"


def differences(pair: RoutePair) -> Iterator[Difference]:
    from socketguard.engine.migration.implementations import SESSION_PERSISTENCE_CHANNEL  # compare only

    before, after = delivered(pair.before_hop), delivered(pair.after_hop)
    hop = pair.after_hop
    if not before or not after or hop is None or not any(b.affinity for b in before):
        return
    server, replicas = _needs_stickiness(pair)
    if server is None or replicas is None:
        return
    kept = _kept_by(pair, after)
    was = ", ".join(sorted({a.kind for b in before for a in b.affinity}))
    if kept is not None:
        return
    implementation = pair.implementation
    persisted = any(a.kind == "session-persistence" for b in after for a in b.affinity)
    if persisted:
        message = (f"{hop.route} sets sessionPersistence, but {implementation.label} "
                   f"{implementation.session_persistence_fact.value}; {replicas.describe} polls without stickiness")
        now = "sessionPersistence, not honoured"
    else:
        message = (f"{pair.request.host}{pair.request.path} was sticky in BEFORE ({was}); after the migration "
                   f"polling to {replicas.describe} is round-robin and sessions fail with `Session ID unknown`")
        now = "none"
    fixes = [f"add `sessionPersistence: {{sessionName: io, type: Cookie}}` to {hop.route} {hop.rule_path_text} "
             f"(needs the {SESSION_PERSISTENCE_CHANNEL}-channel CRDs in v1.6)"]
    if implementation.own_stickiness:
        fixes.append(f"or, with {implementation.label}: {implementation.own_stickiness}")
    fixes.append(f"or set `socketguard.io/transports: websocket` on {server.workload} and the clients "
                 "(no polling, no stickiness needed)")
    yield pair.located(RULE, message, aspect=ASPECT, before=was, after=now, fixes=fixes)


def _needs_stickiness(pair: RoutePair) -> tuple[ServerSpec | None, Replicas | None]:
    for server in pair.servers:
        if "polling" not in server.transports:
            continue
        replicas = replicas_of(pair.after.inventory, server.workload) or replicas_of(pair.before.inventory,
                                                                                      server.workload)
        if replicas is not None and replicas.several:
            return server, replicas
    return None, None


def _kept_by(pair: RoutePair, backends: list[Backend]) -> str | None:
    """What keeps AFTER sticky: sessionPersistence the implementation honours, or its own policy."""
    if pair.implementation.session_persistence in ("yes", "unknown") and any(
            a.kind == "session-persistence" for b in backends for a in b.affinity):
        return "sessionPersistence"
    if pair.implementation.name == "istio":
        for backend in backends:
            if backend.service is not None and _consistent_hash(pair.after.inventory, backend.service):
                return "DestinationRule consistentHash"
    return None


def _consistent_hash(inventory: Inventory, service: ObjectRef) -> bool:
    hosts = (fqdn(service.namespace, service.name), f"{service.name}.{service.namespace}", service.name)
    for rule in (r for host in hosts for r in inventory.destination_rules_for_host(host)):
        policy = rule.spec.traffic_policy
        if policy is not None and policy.load_balancer is not None and policy.load_balancer.consistent_hash:
            return True
    return False
