"""After the migration, the socket host loses HTTPS, or plain HTTP is no longer redirected to HTTPS.

What it checks
--------------
`socketguard compare` only. Two requests: the handshake over HTTPS, which AFTER must still
accept on a TLS listener when BEFORE did (an `https://` page cannot open an `http://` socket:
mixed content), and the same handshake over plain HTTP, which ingress-nginx redirects to HTTPS
when the Ingress has TLS for the host (`ssl-redirect`, default true) or
`force-ssl-redirect: "true"`. In AFTER a `RequestRedirect` filter on a route attached to the
HTTP listener does that; without one, plain HTTP is served (a warning) or refused.

Why it matters
--------------
Clients configured with `http://` URLs, and old bookmarks, silently stop being upgraded to
TLS, or get a 404 instead of a redirect.

How to fix
----------
Attach a redirect route to the HTTP listener:

```yaml
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat-https-redirect, namespace: web}
spec:
  parentRefs: [{name: public, namespace: infra, sectionName: http}]
  hostnames: [chat.example.com]
  rules:
  - filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.findings import Severity
from socketguard.engine.routing import RoutingResult
from socketguard.engine.routing.hosts import host_matches
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG707", name="migration-tls-redirect-changed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "tls"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before = pair.before_result
    if before.entrance is None or pair.after_hop is None:
        return
    after = pair.after_result
    if pair.request.scheme == "https" and before.entrance.tls and after.entrance is not None and not after.entrance.tls:
        yield pair.located(RULE, f"{pair.request.host} was served over HTTPS in BEFORE; the AFTER listener that "
                           "takes it is plain HTTP: https:// pages cannot open the socket (mixed content)",
                           aspect=ASPECT, before="HTTPS", after="HTTP",
                           fixes=(f"give the Gateway an HTTPS listener for {pair.request.host} "
                                  "(`protocol: HTTPS, port: 443, tls: {certificateRefs: [...]}`)",))
        return
    if pair.request.scheme == "https" and _redirects_before(pair):
        yield from _redirect_lost(pair)


def _redirects_before(pair: RoutePair) -> bool:
    hop = pair.before_hop
    if hop is None or hop.router != "ingress-nginx":
        return False
    view = pair.before.inventory.view(hop.route.group, hop.route.kind, hop.route.namespace, hop.route.name)
    if not isinstance(view, models.ingress.Ingress):
        return False
    if view.nginx("force-ssl-redirect") == "true":
        return True
    tls = any(not t.hosts or any(host_matches(h, pair.request.host) for h in t.hosts) for t in view.spec.tls)
    return tls and view.nginx("ssl-redirect") != "false"


def _redirect_lost(pair: RoutePair) -> Iterator[Difference]:
    after = pair.after_variant(scheme="http", port=80)
    if _redirects(after):
        return
    now = "served over plain HTTP" if after.winner is not None and after.winner.delivers else "refused (no route)"
    fixes = (f"attach a route for {pair.request.host} to the HTTP listener with `filters: [{{type: RequestRedirect, "
             "requestRedirect: {scheme: https, statusCode: 301}}]`",)
    at = (after.winner.route, after.winner.rule_path) if after.winner is not None else None
    yield pair.located(RULE, f"http://{pair.request.host}{pair.request.path} was redirected to HTTPS in BEFORE "
                       f"(ingress-nginx ssl-redirect); after the migration it is {now}", aspect=ASPECT,
                       before="redirect to https", after=now, fixes=fixes, severity=Severity.WARNING, at=at)


def _redirects(result: RoutingResult) -> bool:
    hop = result.winner
    return hop is not None and hop.redirect is not None and hop.redirect.location.startswith("https:")
