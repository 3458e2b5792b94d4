"""BEFORE relies on an ingress-nginx annotation that the Gateway API cannot express.

What it checks
--------------
`socketguard compare` only. The Ingress that routes a Socket.IO handshake in BEFORE carries
socket-relevant annotations with no standard HTTPRoute equivalent:
`configuration-snippet`/`server-snippet` lines about `Upgrade` or `Connection`,
`upstream-hash-by` (unless AFTER is sticky some other way), canary annotations (a
`canary: "true"` Ingress for the same host), and `proxy-body-size` (the limit the polling
POSTs hit; ingress-nginx defaults to 1m).

Why it matters
--------------
A converter drops what it cannot translate, often without a word. Whatever the snippet or
annotation did for the socket is gone after the cutover.

How to fix
----------
Express it with the implementation's own policy (docs/migration.md lists them per
implementation), or with HTTPRoute where it can: a canary becomes weighted `backendRefs`:

```yaml
backendRefs:
- {name: chat, port: 80, weight: 90}
- {name: chat-canary, port: 80, weight: 10}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered
from socketguard.engine.models import NGINX_PREFIX
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG709", name="migration-no-equivalent", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)
ASPECT = "no-equivalent"
_SNIPPETS = ("configuration-snippet", "server-snippet")
_SOCKET_WORDS = ("upgrade", "connection")


def differences(pair: RoutePair) -> Iterator[Difference]:
    hop = pair.before_hop
    if hop is None or hop.router != "ingress-nginx" or pair.after_hop is None:
        return
    ingress = pair.before.inventory.view(hop.route.group, hop.route.kind, hop.route.namespace, hop.route.name)
    if not isinstance(ingress, models.ingress.Ingress):
        return
    for key in _SNIPPETS:
        snippet = ingress.nginx(key) or ""
        lines = [line.strip() for line in snippet.splitlines() if any(w in line.lower() for w in _SOCKET_WORDS)]
        if lines:
            yield _lost(pair, hop.route, key, "; ".join(lines),
                        "the implementation's own header or protocol policy; Gateway API passes Upgrade itself")
    hash_by = ingress.nginx("upstream-hash-by")
    if hash_by and not any(b.affinity for b in delivered(pair.after_hop)):
        yield _lost(pair, hop.route, "upstream-hash-by", hash_by,
                    "`sessionPersistence` (cookie or header) on the rule, or the implementation's consistent hash")
    body = ingress.nginx("proxy-body-size")
    if body:
        yield _lost(pair, hop.route, "proxy-body-size", body,
                    "the implementation's request-size policy (polling POSTs carry buffered packets)",
                    severity=Severity.INFO)
    yield from _canaries(pair, hop.route)


def _canaries(pair: RoutePair, primary: ObjectRef) -> Iterator[Difference]:
    for view in pair.before.inventory.views("networking.k8s.io", "Ingress", primary.namespace):
        if not isinstance(view, models.ingress.Ingress) or view.nginx("canary") != "true":
            continue
        if any((rule.host or "").lower() == pair.request.host for rule in view.spec.rules):
            ref = pair.before.inventory.ref_of(view)
            weight = view.nginx("canary-weight") or "header/cookie rules"
            yield _lost(pair, ref, "canary", f"weight {weight}",
                        "weighted `backendRefs` on the rule (header canaries: a rule with a header match)")


def _lost(pair: RoutePair, ingress: ObjectRef, key: str, value: str, instead: str,
          severity: Severity | None = None) -> Difference:
    hop = pair.after_hop
    where = f" (now {hop.route} {hop.rule_path_text})" if hop is not None else ""
    return pair.located(RULE, f"{ingress} sets `{NGINX_PREFIX}{key}: {value}`, which HTTPRoute cannot express"
                        f"{where}", aspect=ASPECT, before=f"{key}: {value}", after="no equivalent",
                        fixes=(f"use {instead}",), severity=severity)
