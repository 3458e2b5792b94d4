"""After the migration, the Socket.IO handshake no longer reaches a backend.

What it checks
--------------
`socketguard compare` only. Every handshake that BEFORE delivers (each client's, each socket
route's own) is routed through AFTER. It is reported when AFTER has no Gateway listener for the
host and port, no attached route for the host, no rule that matches the path (HTTPRoute
`PathPrefix` matches whole segments and is case-sensitive, where ingress-nginx in regex mode
matched `~* ^/app` as a string prefix), answers with a redirect where BEFORE forwarded, when
the rule's backends do not resolve, or when the route's `status.parents` says it is not
accepted.

Why it matters
--------------
Clients keep connecting with the same URL: after the cutover they get a 404 or 500 and the
Socket.IO client retries forever. Converters translate objects one by one; nothing checks
that the host and path still meet.

How to fix
----------
Attach an HTTPRoute for the host to a listener that accepts it, with a rule for the socket path:

```yaml
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: web}
spec:
  parentRefs: [{name: public, namespace: infra, sectionName: https}]
  hostnames: [chat.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /socket.io}}]
    backendRefs: [{name: chat, port: 80}]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered, describe_hop
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.routing.decide import unresolved_reason
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG701", name="migration-unreachable", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "reachability"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before, after = pair.before_hop, pair.after_hop
    request = pair.request
    was = describe_hop(before)
    if after is None:
        yield pair.located(RULE, f"{request.host}{request.path}: {_why_not(pair)}", aspect=ASPECT, before=was,
                           after="no rule", fixes=(_route_fix(pair),))
        return
    if after.redirect is not None or not after.delivers:
        now = f"answers {after.redirect.status} to {after.redirect.location}" if after.redirect else "delivers nothing"
        yield pair.located(RULE, f"{request.host}{request.path}: {after.route} {now} where {was} forwarded",
                           aspect=ASPECT, before=was, after=now,
                           fixes=(f"put the socket path's rule before the redirect in {after.route}, or a rule "
                                  "for it on the listener the clients use",))
        return
    if not delivered(after):
        reasons = "; ".join(f"{b.host}: {r}" for b in after.backends if (r := unresolved_reason(b)) is not None)
        yield pair.located(RULE, f"{request.host}{request.path}: no backend of {after.route} "
                           f"{after.rule_path_text} resolves ({reasons or 'the rule has no backends'})",
                           aspect=ASPECT, before=was, after=describe_hop(after),
                           fixes=("create the Service the backendRef names, or the ReferenceGrant that lets the "
                                  "route refer to it",))
        return
    yield from _not_accepted(pair)


def _why_not(pair: RoutePair) -> str:
    result = pair.after_result
    request = pair.request
    if result.entrance is None:
        return f"no Gateway listener in AFTER accepts host {request.host} (port {request.port})"
    if not result.host_routed:
        return f"no HTTPRoute attached to {result.entrance.gateway} serves host {request.host}"
    mode = pair.before_hop.match_text if pair.before_hop is not None else ""
    hint = ("; BEFORE matched it as a case-insensitive regex prefix, HTTPRoute PathPrefix matches whole "
            "segments" if "regex" in mode else "")
    return f"no HTTPRoute rule matches path {request.path}{hint}"


def _route_fix(pair: RoutePair) -> str:
    before = pair.before_hop
    backends = delivered(before)
    service = backends[0].service if backends else None
    port = backends[0].service_port or backends[0].port_number if backends else None
    backend = f"{{name: {service.name}, port: {port}}}" if service is not None else "{name: SERVICE, port: PORT}"
    prefix = pair.request.path.rstrip("/") or "/"
    return (f"route it in AFTER: `hostnames: [{pair.request.host}]`, `rules: [{{matches: [{{path: {{type: "
            f"PathPrefix, value: {prefix}}}}}], backendRefs: [{backend}]}}]` on a listener for the host")


def _not_accepted(pair: RoutePair) -> Iterator[Difference]:
    hop = pair.after_hop
    if hop is None or hop.route.group != GATEWAY_API_GROUP:
        return
    view = pair.after.inventory.view(GATEWAY_API_GROUP, "HTTPRoute", hop.route.namespace, hop.route.name)
    if not isinstance(view, models.gatewayapi.HTTPRoute) or view.status is None:
        return
    for parent_index, parent in enumerate(view.status.parents):
        for index, condition in enumerate(parent.conditions):
            if condition.get("type") in ("Accepted", "ResolvedRefs") and condition.get("status") == "False":
                reason = condition.get("reason", "")
                yield pair.located(
                    RULE, f"{hop.route} is reported {condition.get('type')}=False ({reason}) by Gateway "
                    f"{parent.parent_ref.name}: it carries no traffic", aspect=ASPECT,
                    before=describe_hop(pair.before_hop), after=f"{condition.get('type')}=False ({reason})",
                    fixes=(f"fix what reason {reason} names",),
                    at=(hop.route, ("status", "parents", parent_index, "conditions", index)))
