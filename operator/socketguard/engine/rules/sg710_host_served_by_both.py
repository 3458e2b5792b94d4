"""A Socket.IO host is served both by an Ingress and by an HTTPRoute: a migration in progress.

What it checks
--------------
During a cutover from ingress-nginx to Gateway API both worlds may serve one host: the
Ingress through the ingress-nginx controller's address, the HTTPRoute through the Gateway's.
For every host that carries Socket.IO traffic, SocketGuard lists the objects that serve it in
each world. This is information, not a fault: it tells a reader of the findings that both
answers matter.

Why it matters
--------------
Clients reach whichever address DNS points to, so during the cutover some clients use one
picture and some the other; a difference between them (`socketguard compare`) hits only part
of the users and is hard to reproduce.

How to fix
----------
Nothing to fix while the cutover lasts. Prove the new picture first, then move DNS and delete
the Ingress:

```sh
socketguard compare --before ingress/ --after gateway-api/
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.registry import INGRESS
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG710", name="host-served-by-both", severity=Severity.INFO,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    socket_hosts = {trace.request.host for trace in ctx.traces.traces}
    if not socket_hosts:
        return
    ingresses = _ingress_hosts(ctx)
    for view in ctx.inventory.views(GATEWAY_API_GROUP, "HTTPRoute"):
        if not isinstance(view, models.gatewayapi.HTTPRoute):
            continue
        route = ctx.inventory.ref_of(view)
        for index, hostname in enumerate(view.spec.hostnames):
            host = hostname.lower()
            served_by = ingresses.get(host, [])
            if host in socket_hosts and served_by:
                yield _finding(route, index, host, served_by)


def _ingress_hosts(ctx: Context) -> dict[str, list[ObjectRef]]:
    found: dict[str, list[ObjectRef]] = {}
    if not ctx.inventory.has_kind(*INGRESS):
        return found  # and ingress-nginx's code is not loaded
    from socketguard.engine.routing.ingress_nginx import is_nginx

    for view in ctx.inventory.views("networking.k8s.io", "Ingress"):
        if not isinstance(view, models.ingress.Ingress) or not is_nginx(view):
            continue
        ref = ctx.inventory.ref_of(view)
        for rule in view.spec.rules:
            if rule.host and ref not in found.setdefault(rule.host.lower(), []):
                found[rule.host.lower()].append(ref)
    return found


def _finding(route: ObjectRef, index: int, host: str, ingresses: list[ObjectRef]) -> Finding:
    names = ", ".join(str(ref) for ref in ingresses)
    message = (f"{host} is served by {route} (Gateway API) and by {names} (ingress-nginx): clients reach whichever "
               "address DNS points to, so both must route the Socket.IO handshake alike")
    return RULE.finding(route, ("spec", "hostnames", index), message, related=ingresses,
                        fixes=(f"prove the two agree: `socketguard compare --before <Ingress manifests> --after "
                               f"<HTTPRoute manifests>`; then move DNS for {host} and delete {names}",))
