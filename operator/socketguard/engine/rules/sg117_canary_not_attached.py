"""An ingress-nginx canary path has no main path to attach to, so the canary never gets a request.

What it checks
--------------
Every path of an Ingress marked `nginx.ingress.kubernetes.io/canary: "true"` that carries
Socket.IO traffic (its path names `socket.io`, or its Service leads to a Socket.IO server) must
find a main (non-canary) Ingress path with the same host, the same path and the same
`pathType`. ingress-nginx attaches a canary path to that main path as its alternative backend;
a canary path that matches none is dropped (its upstream is deleted, and the controller only
logs "unable to find real backend for alternative backend").

Source: ingress-nginx controller v1.15.1, `internal/ingress/controller/controller.go`
(`mergeAlternativeBackends`).

Why it matters
--------------
The canary is not a route of its own: with no main path to ride on it receives nothing, by
weight, header or cookie. The new version behind it looks healthy because no client ever
reaches it, and the Rollout or manual promotion that trusts it ships an untested server. A
`pathType` or trailing-slash difference (`/socket.io` vs `/socket.io/`) is enough.

How to fix
----------
Copy host, path and `pathType` exactly from the main Ingress:

```yaml
# main Ingress                       # canary Ingress
- host: chat.example.com             - host: chat.example.com
  http:                                http:
    paths:                               paths:
    - path: /socket.io                   - path: /socket.io         # same text
      pathType: Prefix                     pathType: Prefix         # same type
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.routing.matching import SOCKET_WORD_IN_REGEX
from socketguard.engine.rules._routes import ingress_nginx_router
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.routing.ingress_nginx import IngressNginxRouter
    from socketguard.engine.routing.nginx_canary import Canary

# Advisory at admission: `kubectl apply -f dir/` may create the canary before its main Ingress.
RULE = Rule.define(__doc__, code="SG117", name="canary-not-attached", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    router = ingress_nginx_router(ctx)
    if router is None:
        return  # no Ingress
    for canary in router.dropped_canaries():
        if _carries_socket_traffic(ctx, router, canary):
            yield _finding(canary)


def _carries_socket_traffic(ctx: Context, router: IngressNginxRouter, canary: Canary) -> bool:
    if canary.path is not None and SOCKET_WORD_IN_REGEX.search(canary.path.path):
        return True
    backend = router.canary_backend(canary)
    return backend is not None and any(workload in ctx.servers for workload in backend.workloads)


def _finding(canary: Canary) -> Finding:
    path, path_type = (canary.path.path, canary.path.path_type) if canary.path else ("", "")
    host = canary.host or "(any host)"
    message = (f"canary {canary.ref} routes `{path}` (`pathType: {path_type}`) on {host}, but no main (non-canary)"
               f" Ingress has a path with that host, path and pathType: ingress-nginx drops the "
               f"canary's upstream, so it receives no request by weight, header or cookie")
    fixes = ("give the canary path exactly the host, path and pathType of the main Ingress path it should split",
             "or remove `nginx.ingress.kubernetes.io/canary` if the Ingress is meant to serve the path itself")
    return RULE.finding(canary.ref, canary.field_path, message, fixes=fixes)
