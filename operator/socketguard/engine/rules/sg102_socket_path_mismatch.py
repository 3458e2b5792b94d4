"""The path that reaches the pod after routing and rewrite is not the Socket.IO server's path.

What it checks
--------------
For every client handshake and every socket route, SocketGuard follows the request
`GET <path>/?EIO=4&transport=polling` through the route's match and rewrite to the Service and
the pods it selects, and compares the path that arrives with the path the server listens on
(`socketguard.io/path`, default `/socket.io`). A node server (engine.io) accepts only paths
that start with `<path>/`; python-socketio's `ASGIApp` also accepts `<path>` without the slash;
the other python integrations need `<path>/`. Each weighted destination is checked on its own,
so a canary with another path is reported for its share of the traffic.

Why it matters
--------------
A mismatch answers every handshake with HTTP 404 (or the app's own page), so no client ever
connects. Nothing fails at deploy time: the route is valid, the pods are healthy, and the error
appears only in browsers, after the rollout. This is the MageAgent failure: the VirtualService
sent `/mageagent/socket.io/` to a server on the default `/socket.io`.

How to fix
----------
Either make the server listen on the path that arrives, or rewrite the path at the route.

```yaml
# 1. the server's path (and its annotation) match what the route delivers
#    new Server(httpServer, { path: '/mageagent/socket.io' })
metadata:
  annotations:
    socketguard.io/path: /mageagent/socket.io
---
# 2. or the route rewrites the prefix to the server's path
http:
- match:
  - uri: {prefix: /mageagent/socket.io/}
  rewrite: {uri: /socket.io/}
  route:
  - destination: {host: mageagent}
```

A rewrite that delivers the handshake as `/` leaves no path a server could sensibly take (a
server on `/` would take every request of its pod), so the fix is the route. With ingress-nginx
the cause is usually a `rewrite-target` written for another path of the same Ingress: it rewrites
every path of the Ingress, and `/socket.io/` has no capture group, so `/$1` (or `/$2`) is empty.
Move the socket path to an Ingress of its own, or give it a capture group that keeps it
(`path: /(socket\\.io/.*)` with `rewrite-target: /$1`):

```yaml
# 3. the socket path in an Ingress of its own, without the rewrite
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: realtime}
spec:
  ingressClassName: nginx
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /socket.io/
        pathType: Prefix
        backend: {service: {name: realtime, port: {number: 80}}}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import NGINX_PREFIX
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import RouteHop
from socketguard.engine.routing.istio import ROUTER as ISTIO
from socketguard.engine.routing.matching import SOCKET_WORD_IN_REGEX, differs_only_in_case, socket_segment
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.semantics import accepted_prefix, path_option, server_accepts, usable_server_path
from socketguard.engine.trace import Delivery, Trace

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import HTTPIngressPath

RULE = Rule.define(__doc__, code="SG102", name="socket-path-mismatch", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    reported: set[DeliveryKey] = set()
    for trace in ctx.traces.traces:
        if trace.shadowed:
            continue  # SG103 reports where the request really goes
        for delivery in trace.deliveries:
            if delivery.server is None or server_accepts(delivery.server, delivery.upstream_path):
                continue
            key = _through_rule(delivery)
            if key is not None:
                if key in reported:
                    continue  # a client's handshake through the rule a route trace already reported
                reported.add(key)
            yield _finding(ctx, trace, delivery)


# What a finding about a delivery through a rule names: the rule, its match, the server, the path and share.
DeliveryKey = tuple[str, ObjectRef, FieldPath, str, FieldPath | None, ObjectRef, str, int]


def _through_rule(delivery: Delivery) -> DeliveryKey | None:
    """Everything the finding's object, field and message depend on (None for a direct connection).

    Deliveries with equal keys give one finding (the analysis keeps only the first of equal
    findings), so each is built once.
    """
    hop, server = delivery.hop, delivery.server
    if hop is None or server is None:
        return None
    return (hop.router, hop.route, hop.rule_path, hop.match_text, hop.rewrite_path, server.workload,
            delivery.upstream_path, delivery.backend.weight)


def _finding(ctx: Context, trace: Trace, delivery: Delivery) -> Finding:
    server = delivery.server
    assert server is not None
    hop = delivery.hop
    arrives = delivery.upstream_path
    share = f" ({delivery.backend.weight}% of the traffic)" if delivery.backend.weight < 100 else ""
    wanted = arrives.rstrip("/") or "/"
    # A rewrite to the root leaves no path a server could take: the route is what to fix.
    route_first = hop is not None and hop.rewrite_path is not None and not usable_server_path(arrives)
    fixes = [] if route_first else [f"set the server path to {wanted}: {path_option(server, wanted)}, and "
                                    f"annotate `socketguard.io/path: {wanted}` on {server.workload}"]
    if hop is not None:
        where = f"{hop.router} route {hop.route} {hop.rule_path_text} ({hop.match_text})"
        subject, path = hop.route, hop.rewrite_path or hop.rule_path
        fixes += (_route_fixes(ctx, hop, server, arrives) if route_first else
                  [_rewrite_fix(hop.router, hop.match_text, server.path, arrives, hop.rule_path_text)])
    else:
        where = "the direct connection to the Service"
        subject = trace.client.workload if trace.client else server.workload
        path = trace.client.sources.get("client-path", ()) if trace.client else ()
    accepted = accepted_prefix(server)
    segments = differs_only_in_case(arrives, accepted)
    case_note = "" if segments is None else (
        f" ({segments[0]} differs from {segments[1]} only in letter case, and the server compares paths "
        "case-sensitively)")
    message = (f"{where} delivers the handshake to {server.workload} as {arrives}{share}, but the "
               f"{server.stack} server accepts only paths starting with {accepted}{case_note}")
    related = [server.workload, *([trace.client.workload] if trace.client else [])]
    assumptions = (*(hop.assumptions if hop else ()),
                   *(["server path is the default /socket.io (no socketguard.io/path)"] if server.inferred else []))
    return RULE.finding(subject, path, message, fixes=fixes, related=related, assumptions=assumptions)


def _rewrite_fix(router: str, match_text: str, server_path: str, arrives: str, rule: str) -> str:
    kind, _, matched = match_text.partition(" ")
    wanted = server_path.rstrip("/") + "/"
    if router == "istio":
        target = server_path.rstrip("/") + ("/" if kind != "prefix" or matched.endswith("/") else "")
        what = "prefix" if kind == "prefix" else "path"
        return f"or rewrite the {what} at the route: `rewrite: {{uri: {target}}}` on {rule}"
    if router == "gateway-api":
        return (f"or rewrite at the route: a URLRewrite filter on {rule} so that {arrives} arrives as {wanted} "
                f"(ReplacePrefixMatch: {server_path.rstrip('/')})")
    if router == "traefik":
        return (f"or change the route's Middlewares on {rule} (stripPrefix, replacePathRegex, addPrefix) so that "
                f"{arrives} arrives as {wanted}")
    return (f"or change the route's rewrite (nginx.ingress.kubernetes.io/rewrite-target) so that {arrives} "
            f"arrives as {wanted}")


def _route_fixes(ctx: Context, hop: RouteHop, server: ServerSpec, arrives: str) -> list[str]:
    """Fixes for a route that rewrites the handshake to the root: keep the socket path instead."""
    wanted = server.path.rstrip("/") + "/"
    rule = hop.rule_path_text
    if hop.router == ISTIO:
        return [f"rewrite the socket route to the server's path, not to {arrives}: `rewrite: {{uri: {wanted}}}` "
                f"on {rule}, or remove its rewrite"]
    from socketguard.engine.routing.gatewayapi import ROUTER as GATEWAY_API  # not loaded for Istio alone

    if hop.router == GATEWAY_API:
        return [f"rewrite the socket route to the server's path, not to {arrives}: a URLRewrite filter with "
                f"`ReplacePrefixMatch: {server.path.rstrip('/')}` on {rule}, or remove its URLRewrite filter"]
    if hop.router == "traefik":
        return [f"change the route's Middlewares on {rule} (stripPrefix, replacePathRegex, addPrefix) so that the "
                f"handshake arrives as {wanted}, not {arrives}, or remove the Middleware that strips it"]
    location = _ingress_path(ctx, hop)
    written = location.path if location else "the socket path"
    alone = f"move `{written}` to an Ingress of its own"
    why = f"`{NGINX_PREFIX}rewrite-target` rewrites every path of {hop.route}, so the handshake arrives as {arrives}"
    segment = socket_segment(written)
    kept = capture_group_path(written, server.path)
    capture = "" if kept is None else (f"`path: {kept[0]}` (`pathType: ImplementationSpecific`) with "
                                       f"`rewrite-target: {kept[1]}`")
    if segment is not None and server_accepts(server, segment + "/"):
        fixes = [f"{alone} without the rewrite: {why}"]
        return fixes + ([f"or give the path a capture group that keeps the socket path: {capture}, which "
                         f"{hop.route}'s other paths then get too"] if capture else [])
    fixes = [f"{alone} with a capture group that keeps the socket path: {capture} ({why})"] if capture else []
    if segment is not None and usable_server_path(segment):
        fixes.append(f"or {alone} without the rewrite, and set the server path to {segment}: "
                     f"{path_option(server, segment)}, annotated `socketguard.io/path: {segment}`")
    return fixes or [f"{alone} without the rewrite: {why}"]


def capture_group_path(written: str, server_path: str) -> tuple[str, str] | None:
    """(path, rewrite-target) that deliver `<server_path>/...` for a socket path written as `written`.

    `/chat/socket.io/` for a server on `/socket.io` -> (`/chat/(socket\\.io/.*)`, `/$1`). None when
    either path does not end in a `socket.io` segment.
    """
    found = SOCKET_WORD_IN_REGEX.search(written)
    server_base = server_path.rstrip("/")
    if found is None or not server_base.lower().endswith("/socket.io"):
        return None
    return written[: found.start()] + "(socket\\.io/.*)", server_base[: -len("socket.io")] + "$1"


def _ingress_path(ctx: Context, hop: RouteHop) -> HTTPIngressPath | None:
    view = ctx.inventory.view(hop.route.group, hop.route.kind, hop.route.namespace, hop.route.name)
    if not isinstance(view, models.ingress.Ingress) or len(hop.rule_path) != 6:
        return None
    _spec, _rules, rule_index, _http, _paths, path_index = hop.rule_path
    rules = view.spec.rules
    if not isinstance(rule_index, int) or not isinstance(path_index, int) or rule_index >= len(rules):
        return None
    http = rules[rule_index].http
    return http.paths[path_index] if http is not None and path_index < len(http.paths) else None
