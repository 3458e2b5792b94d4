"""An Ingress path written as a regular expression is not one to ingress-nginx, so the socket route never works.

What it checks
--------------
ingress-nginx paths of an Ingress that carries Socket.IO traffic (a path that names
`socket.io`, or one that leads to a Socket.IO server) and are written as regular expressions,
say `/(socket.io|ws)(/|$)(.*)`:

- with `pathType: Prefix` or `Exact`, a path with any character other than letters, digits,
  `-`, `_`, `.` and `/`: the controller's admission webhook refuses the whole Ingress
  (`strict-validate-path-type`, on by default since controller v1.12.0), regex mode or not;
- with `pathType: ImplementationSpecific` on a host that is not in regex mode (no Ingress of the
  host sets `use-regex` or a `rewrite-target`): nginx writes the path as a plain prefix location,
  so `(`, `|` and `$` are literal text that no handshake contains. The finding says where the
  handshake goes instead.

Source: ingress-nginx controller v1.15.1, `internal/ingress/inspector/rules.go` (`validPathType`),
`internal/ingress/inspector/inspector.go` (`ValidatePathType`, which skips `ImplementationSpecific`),
`internal/ingress/controller/controller.go` (`CheckIngress`, run by the admission webhook) and
`internal/ingress/controller/template/template.go` (`buildLocation`: a quoted plain location
unless the server is in regex mode). SocketGuard still routes a refused Ingress as written, so
its other findings describe the Ingress as it would work once accepted.

Why it matters
--------------
A refused Ingress never reaches the cluster: `kubectl apply` or the Helm release fails with
"ingress contains invalid paths: path ... cannot be used with pathType Prefix". A literal
location is accepted silently and never matches: the handshake goes to another location (the
web frontend's `/`, typically, which answers its HTML or 404) or to the default backend's 404,
and no client ever connects.

How to fix
----------
Either make the path a regular expression the way ingress-nginx expects one, or write the plain
prefix the handshake needs:

```yaml
metadata:
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"   # every path of the host becomes ~* "^path"
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /(socket.io|ws)(/|$)(.*)
        pathType: ImplementationSpecific            # Prefix and Exact allow no regex characters
        backend: {service: {name: realtime, port: {number: 80}}}
```

or simply `path: /socket.io/` with `pathType: Prefix`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.routing import Request
from socketguard.engine.routing.candidates import socket_path
from socketguard.engine.routing.matching import SOCKET_WORD_IN_REGEX, compiled
from socketguard.engine.rules._routes import hop_text, ingress_nginx_router, targets_text
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.routing.ingress_nginx import IngressNginxRouter, Location

# Advisory at admission: whether a host is in regex mode can hang on an Ingress that comes later in
# the same apply, and ingress-nginx's own webhook already refuses the Prefix/Exact case.
RULE = Rule.define(__doc__, code="SG116", name="regex-path-not-applied", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)

# What the controller accepts for Prefix and Exact paths (inspector/rules.go, `validPathType`).
_VALID_TYPED_PATH = re.compile(r"^/[A-Za-z0-9._\-/]*$")
_REGEX_SYNTAX = re.compile(r"[\\^$*+?()\[\]{}|]")
_USE_REGEX = 'nginx.ingress.kubernetes.io/use-regex: "true"'


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    router = ingress_nginx_router(ctx)
    if router is None:
        return  # no Ingress
    socket_ingresses = {location.ref for location in router.paths() if _carries_socket_traffic(ctx, router, location)}
    for location in router.paths():
        if location.ref not in socket_ingresses:
            continue
        if location.path.path_type in ("Prefix", "Exact"):
            if not _VALID_TYPED_PATH.match(location.path.path):
                yield _refused(location)
        elif (_REGEX_SYNTAX.search(location.path.path) and not router.regex_mode(_host(location))
              and _carries_socket_traffic(ctx, router, location)):
            yield _literal(ctx, router, location)


def _carries_socket_traffic(ctx: Context, router: IngressNginxRouter, location: Location) -> bool:
    """The path names `socket.io`, or leads to a Socket.IO server (annotated or inferred)."""
    if SOCKET_WORD_IN_REGEX.search(location.path.path):
        return True
    return any(workload in ctx.servers for backend in router.backends(location) for workload in backend.workloads)


def _host(location: Location) -> str:
    return location.host or ""


def _refused(location: Location) -> Finding:
    path, path_type = location.path.path, location.path.path_type
    message = (f"`path: {path}` with `pathType: {path_type}` on {location.ref} has characters ingress-nginx does "
               f"not allow with that path type (only letters, digits, `-`, `_`, `.` and `/`): its admission "
               f"webhook refuses the whole Ingress (strict-validate-path-type, on by default since controller "
               f"v1.12.0), so none of its paths, the socket route included, is routed")
    fixes = (f"for a regular expression use `pathType: ImplementationSpecific` with `{_USE_REGEX}`",
             "or write a plain prefix, `path: /socket.io/` with `pathType: Prefix`")
    return RULE.finding(location.ref, (*location.field_path, "path"), message, fixes=fixes)


def _literal(ctx: Context, router: IngressNginxRouter, location: Location) -> Finding:
    path = location.path.path
    host = _host(location)
    handshake = _intended_handshake(ctx, router, location)
    message = (f"`path: {path}` (`pathType: ImplementationSpecific`) on {location.ref} is written as a regular "
               f"expression, but no Ingress of host {host or '(any)'} sets `use-regex` or a `rewrite-target`, so "
               f"ingress-nginx writes it as the plain prefix location `{path}`, which no handshake starts with")
    if handshake is not None:
        message += f"; the handshake {handshake} {_where_it_goes(ctx, router, host, handshake)}"
    fixes = [f"add `{_USE_REGEX}` to {location.ref} (every path of the host then becomes a case-insensitive "
             f"regex `~* \"^path\"`)"]
    if handshake is not None:
        fixes.append(f"or write the plain prefix the handshake needs: `path: {handshake}`")
    return RULE.finding(location.ref, (*location.field_path, "path"), message, fixes=fixes)


def _intended_handshake(ctx: Context, router: IngressNginxRouter, location: Location) -> str | None:
    """The handshake the regex would match if nginx read it as one (its own, or its server's)."""
    pattern = compiled("^" + location.path.path, ignore_case=True)
    if pattern is None:
        return None

    def matches(candidate: str) -> bool:
        return pattern is not None and pattern.search(candidate) is not None

    found = socket_path("regex", location.path.path, matches)
    if found is not None and matches(found):
        return found
    servers = (ctx.servers.get(w) for b in router.backends(location) for w in b.workloads)
    return next((s.path.rstrip("/") + "/" for s in servers if s is not None and matches(s.path.rstrip("/") + "/")),
                None)


def _where_it_goes(ctx: Context, router: IngressNginxRouter, host: str, handshake: str) -> str:
    routing = router.route(Request(host=host or "example.com", path=handshake))
    if routing.winner is None:
        return "matches no location and gets the default backend's 404"
    return f"goes to {hop_text(routing.winner)} instead, reaching {targets_text(ctx, routing.winner)}"
