"""Session affinity is configured, but it cannot keep a Socket.IO polling session on one pod.

What it checks
--------------
For servers with several pods and polling enabled (see SG301), the affinity on each path that
reaches them:

- a DestinationRule hashing on the source IP (`useSourceIp`) for traffic entering through an
  ingress gateway: the gateway sees the address in front of it (a cloud load balancer, or a node
  address after SNAT with `externalTrafficPolicy: Cluster`), not each browser's own, unless the
  gateway is set up to preserve or recover it (`externalTrafficPolicy: Local` with a pass-through
  load balancer, or `numTrustedProxies` with X-Forwarded-For); the finding says what it assumed;
- a hash on a cookie that a cross-origin page never sends (no `withCredentials`), on a header a
  browser does not send by itself (and cannot set on a WebSocket), or on the `sid` query parameter
  (absent from the handshake, so the session starts on a random pod);
- a route that splits the handshake across several weighted destinations: the proxy picks the
  destination per request, so affinity on one of them (or on all of them) cannot keep a session's
  requests on one side; an ingress-nginx weight canary (`canary-weight`) is such a split unless
  both the main and the canary Ingress set affinity (a request carrying one side's affinity
  cookie skips the canary rules), and a weight of 0 with only `canary-by-header` or
  `canary-by-cookie` is no split at all;
- an Argo Rollout whose canary `trafficRouting` names the route that reaches it (an Istio
  VirtualService, an ingress-nginx stable Ingress, an HTTPRoute through the Gateway API plugin):
  Argo shifts that route's weights between the stable and the canary pods at each `setWeight`
  step, so the split exists while a rollout runs even when the manifests send 100% to stable
  (for nginx, unless both the stable Ingress and `canaryIngressAnnotations` set affinity);
- a Service `sessionAffinity: ClientIP` behind Istio: kube-proxy implements it, and the Istio
  proxies, which pick the endpoint themselves, ignore it.

Why it matters
--------------
The configuration looks right and works in a test with one client, then fails under real traffic
with HTTP 400 `Session ID unknown`, reconnect loops, or all clients pinned to one pod.

How to fix
----------
Hash on a cookie the proxy sets (and let cross-origin pages send it), and route canaries by a
cookie or header match rather than by weight (a browser cannot add a header to its WebSocket
upgrade, so browsers need the cookie), or use WebSocket only on both ends.

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: chat
spec:
  host: chat.web.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: io-affinity, path: /, ttl: 0s}
# cross-origin pages: io(url, { withCredentials: true }) and the server's CORS credentials on
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from socketguard.engine import models
from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.cors import is_cross_origin, transports_used
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import NGINX_PREFIX
from socketguard.engine.objects import ObjectRef, get_path
from socketguard.engine.rollouts import ShiftedRoute, nginx_canary_sticky, shifted_routes, shifts
from socketguard.engine.routing import Affinity, RouteHop
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.scale import cookie_affinity_fix, polls, server_replicas, sidecar_injected, sticky
from socketguard.engine.trace import Delivery, Trace

RULE = Rule.define(__doc__, code="SG303", name="sticky-session-ineffective", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)

# Headers a browser's Socket.IO requests carry without any client code (at a gateway, XFF too).
BROWSER_HEADERS = frozenset({"host", ":authority", "user-agent", "cookie", "accept-language", "x-forwarded-for",
                             "x-real-ip", "x-envoy-external-address"})


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    needs = {ref: s for ref, s in ctx.servers.items() if _needs_affinity(ctx, s)}
    seen: set[tuple[str, ObjectRef, str]] = set()
    for trace in ctx.traces.traces:
        if trace.shadowed:
            continue
        for finding in (*_trace_findings(ctx, trace, needs), *_rollout_splits(ctx, trace)):
            if finding.key not in seen:  # one cause per field, however many traces cross it
                seen.add(finding.key)
                yield finding


def _needs_affinity(ctx: Context, server: ServerSpec) -> bool:
    replicas = server_replicas(ctx, server.workload)
    return replicas is not None and replicas.several and polls(server, ctx.traces.pairs_of(server.workload))


def _trace_findings(ctx: Context, trace: Trace, needs: dict[ObjectRef, ServerSpec]) -> Iterator[Finding]:
    hop = trace.hop
    if hop is not None:
        split = _split(ctx, hop, trace)
        if split is not None:
            yield split
    for delivery in trace.deliveries:
        server = needs.get(delivery.workload)
        if server is None:
            continue
        for affinity in delivery.backend.affinity:
            finding = _affinity_finding(ctx, trace, delivery, server, affinity)
            if finding is not None:
                yield finding


def _affinity_finding(ctx: Context, trace: Trace, delivery: Delivery, server: ServerSpec,
                      affinity: Affinity) -> Finding | None:
    if affinity.kind == "client-ip":
        behind_proxy = delivery.hop is not None or sidecar_injected(ctx.inventory, trace.request.source_namespace)
        return _client_ip(trace, delivery, server, affinity) if behind_proxy and not sticky(delivery.backend) else None
    if affinity.kind == "source-ip":
        entrance = trace.routing.entrance
        return _source_ip(trace, delivery, server, affinity) if entrance and entrance.via == "gateway" else None
    kind, name = hash_key(ctx, affinity)
    fix = cookie_affinity_fix(delivery.hop, delivery.backend, server.workload.namespace)
    if kind == "cookie":
        return _cookie(ctx, trace, server, affinity, name)
    if kind == "header":
        return _header(server, affinity, name, fix)
    if kind == "query":
        return _query(server, affinity, name, fix)
    return None


def hash_key(ctx: Context, affinity: Affinity) -> tuple[str, str]:
    """What the hash reads: (`cookie`|`header`|`query`|`other`, name), per affinity source."""
    raw = ctx.inventory.raw(affinity.source) or {}
    node = get_path(raw, affinity.path)
    if affinity.source.kind == "Ingress":
        return _nginx_key(raw, affinity, node)
    if isinstance(node, dict) and "loadBalancer" in node:  # port-level or subset traffic policy
        node = get_path(node, ("loadBalancer", "consistentHash"))
    config = node if isinstance(node, dict) else {}
    if affinity.kind == "session-persistence":  # Gateway API: a cookie unless type Header
        kind = "header" if config.get("type") == "Header" else "cookie"
        return kind, str(config.get("sessionName") or "the session cookie")
    if affinity.kind == "cookie":
        return "cookie", str(get_path(config, ("httpCookie", "name")) or "the cookie")
    if affinity.kind == "header":
        return "header", str(config.get("httpHeaderName") or "")
    if affinity.kind == "query-parameter":
        return "query", str(config.get("httpQueryParameterName") or "")
    return "other", ""


def _nginx_key(raw: dict[str, Any], affinity: Affinity, node: Any) -> tuple[str, str]:
    """ingress-nginx: `affinity: cookie` (session-cookie-name) or an `upstream-hash-by` variable."""
    if str(affinity.path[-1]).endswith("/affinity"):
        name = get_path(raw, ("metadata", "annotations", "nginx.ingress.kubernetes.io/session-cookie-name"))
        return "cookie", name if isinstance(name, str) else "INGRESSCOOKIE"
    variable = str(node or "").strip()
    for prefix, kind in (("$cookie_", "cookie"), ("$http_", "header"), ("$arg_", "query")):
        if variable.startswith(prefix):
            name = variable[len(prefix):]
            return kind, name.replace("_", "-") if kind == "header" else name
    return ("query", variable) if variable == "$request_uri" else ("other", variable)


def _client_ip(trace: Trace, delivery: Delivery, server: ServerSpec, affinity: Affinity) -> Finding:
    hop = delivery.hop
    via = (f"{hop.route} routes through {hop.router} proxies" if hop is not None
           else f"clients in namespace {trace.request.source_namespace} (sidecar-injected) connect through Istio "
                "sidecars")
    message = (f"{affinity.source} sets sessionAffinity: ClientIP for {server.workload}, but {via}, which pick the "
               "pod themselves and ignore it (only kube-proxy honours it)")
    fixes = [f"hash at the proxy instead: {cookie_affinity_fix(hop, delivery.backend, server.workload.namespace)}",
             "then drop `sessionAffinity: ClientIP`, which only misleads readers"]
    related = [server.workload, *([hop.route] if hop else [])]
    return RULE.finding(affinity.source, affinity.path, message, fixes=fixes, related=related)


def _source_ip(trace: Trace, delivery: Delivery, server: ServerSpec, affinity: Affinity) -> Finding:
    entrance = trace.routing.entrance
    gateway = entrance.gateway if entrance is not None else None
    message = (f"{affinity.source} hashes on the source IP for {server.workload}, whose traffic enters through "
               f"{gateway or 'an ingress'}: the ingress sees the address in front of it, so clients behind one "
               "address pile onto one pod and a client whose address changes loses its session")
    fixes = [f"hash on a cookie the proxy sets: {cookie_affinity_fix(delivery.hop, delivery.backend, '')}",
             "or make the ingress see client addresses: `externalTrafficPolicy: Local` on its Service with a "
             "pass-through load balancer, or trust X-Forwarded-For from the load balancer (Istio "
             "`numTrustedProxies`, ingress-nginx `use-forwarded-headers`)"]
    assumptions = ["the ingress is assumed to see its load balancer's or a node's SNAT address "
                   "(externalTrafficPolicy: Cluster, no PROXY protocol, no trusted X-Forwarded-For), which the "
                   "objects here cannot show"]
    return RULE.finding(affinity.source, affinity.path, message, fixes=fixes,
                        related=[server.workload, *([gateway] if gateway else [])], assumptions=assumptions)


def _cookie(ctx: Context, trace: Trace, server: ServerSpec, affinity: Affinity, name: str) -> Finding | None:
    blind = [p.client for p in ctx.traces.pairs_of(server.workload) if p.trace is trace
             and is_cross_origin(p.client) and not p.client.credentials
             and "polling" in transports_used(p.client, server)]
    if not blind:
        return None
    client = blind[0]
    message = (f"{affinity.source} hashes on cookie {name} for {server.workload}, but the page {client.origin} of "
               f"{client.workload} polls cross-origin without withCredentials, so the browser never stores or "
               "sends it and each poll is balanced anew")
    fixes = [f"send credentials from the page: `io(url, {{ withCredentials: true }})` and "
             f"`socketguard.io/client-credentials: \"true\"` on {client.workload}, with the server allowing "
             "credentials for that origin",
             "or serve the page and the socket from one origin"]
    return RULE.finding(affinity.source, affinity.path, message, fixes=fixes,
                        related=[server.workload, client.workload])


def _header(server: ServerSpec, affinity: Affinity, header: str, fix: str) -> Finding | None:
    if header.lower() in BROWSER_HEADERS:
        return None
    message = (f"{affinity.source} hashes on header {header or '(empty)'} for {server.workload}, which a browser's "
               "Socket.IO requests do not carry by themselves (and a WebSocket cannot carry at all): requests "
               "without it are balanced at random")
    assumptions = [f"assumes the client does not set `{header}` through `extraHeaders` on every polling request"]
    return RULE.finding(affinity.source, affinity.path, message, fixes=[fix], related=[server.workload],
                        assumptions=assumptions)


def _query(server: ServerSpec, affinity: Affinity, parameter: str, fix: str) -> Finding | None:
    reasons = {
        "sid": "the handshake has no sid yet, so a session starts on a random pod and its next request hashes "
               "elsewhere",
        "t": "the client adds a fresh t= cache-buster to every polling request, so each one lands on a random pod",
        "transport": "polling and the WebSocket upgrade differ in it, so the upgrade lands on another pod",
        "EIO": "every request carries EIO=4, so all sessions land on one pod",
        "$request_uri": "the client adds a fresh t= cache-buster to every polling request, so each one lands on a "
                        "random pod",
    }
    why = reasons.get(parameter)
    if why is None:
        return None
    what = parameter if parameter.startswith("$") else f"query parameter {parameter}"
    message = f"{affinity.source} hashes on {what} for {server.workload}: {why}"
    return RULE.finding(affinity.source, affinity.path, message, fixes=[fix], related=[server.workload])


def _split(ctx: Context, hop: RouteHop, trace: Trace) -> Finding | None:
    """Several weighted destinations of polling servers: the proxy picks one per request."""
    if len(trace.deliveries) < 2:
        return None  # one destination splits nothing (most traces: no server lookups for them)
    polling = {(d.backend.service, d.backend.path): d.backend for d in trace.deliveries if d.server is not None
               and d.backend.weight > 0 and polls(d.server, ctx.traces.pairs_of(d.server.workload))}
    if len(polling) < 2:
        return None
    backends = list(polling.values())
    with_affinity = [b for b in backends if sticky(b)]
    if hop.sticky_split and len(with_affinity) == len(backends):
        return None  # each side's affinity keeps a session on the side it started on
    shares = ", ".join(f"{b.host} ({b.weight}%)" for b in backends)
    if not with_affinity:
        state = "no destination has affinity"
    elif len(with_affinity) < len(backends):
        state = f"affinity on {', '.join(b.host for b in with_affinity)} only"
    else:
        state = "affinity on each destination"
    message = (f"{hop.route} {hop.rule_path_text} splits Socket.IO polling across {shares}, and the proxy picks the "
               f"destination per request, so a session's requests switch destinations ({state}) and fail with "
               "Session ID unknown")
    fixes = [*_split_fixes(hop),
             "or use WebSocket only on both ends: the weighted choice is then made once per connection"]
    related = [r for b in backends for r in (*([b.service] if b.service else []), *b.workloads)]
    canary = next((b.route for b in backends if b.route is not None), None)
    if canary is not None:  # an nginx canary: the weight to change is the canary Ingress's
        return RULE.finding(canary, ("metadata", "annotations", NGINX_PREFIX + "canary-weight"), message,
                            fixes=fixes, related=[hop.route, *related], assumptions=hop.assumptions)
    return RULE.finding(hop.route, (*hop.rule_path, "route"), message, fixes=fixes, related=related,
                        assumptions=hop.assumptions)


def _split_fixes(hop: RouteHop) -> list[str]:
    if not hop.sticky_split:
        return ["route the canary by a match (a cookie or header the app sets per user) instead of by weight, so a "
                "session stays on one destination (a browser cannot add a header to its WebSocket upgrade: "
                "match a cookie for browsers)"]
    return [f"add session affinity to both sides: `nginx.ingress.kubernetes.io/affinity: cookie` on {hop.route} and "
            "on the canary Ingress (with `affinity-canary-behavior` left at `sticky`), so a session stays on the "
            "side it started on",
            "or route the canary by `canary-by-cookie` instead of `canary-weight` (`canary-by-header` cannot catch a "
            "browser's WebSocket upgrade, which carries no custom header)"]


def _rollout_splits(ctx: Context, trace: Trace) -> Iterator[Finding]:
    """A Rollout that shifts weights on the route delivering to it: the split exists while it rolls out."""
    hop = trace.hop
    if hop is None:
        return
    for delivery in trace.deliveries:
        server = delivery.server
        # The kind first: the Rollout view's module is not loaded until a Rollout is met.
        if server is None or delivery.workload.kind != "Rollout":
            continue
        rollout = ctx.inventory.workload(delivery.workload.kind, delivery.workload.namespace, delivery.workload.name)
        if not isinstance(rollout, models.argo.Rollout) or not polls(server, ctx.traces.pairs_of(server.workload)):
            continue
        for shifted in shifted_routes(ctx.inventory, rollout):
            if not shifts(ctx.inventory, rollout, shifted, hop):
                continue
            if shifted.kind == "nginx" and nginx_canary_sticky(ctx.inventory, rollout, hop.route):
                continue
            yield _rollout_split(server, shifted, hop)


def _rollout_split(server: ServerSpec, shifted: ShiftedRoute, hop: RouteHop) -> Finding:
    message = (f"{shifted.rollout} shifts the weights of {hop.route} {hop.rule_path_text} between its stable and "
               "canary pods during a rollout: the proxy picks a side per request, so a polling session's requests "
               "switch between the old and the new version and fail with Session ID unknown")
    fixes = [_ROLLOUT_FIXES[shifted.kind],
             f"or use WebSocket only on both ends (`socketguard.io/transports: websocket` on {server.workload}): the "
             "weighted choice is then made once per connection"]
    return RULE.finding(shifted.rollout, shifted.field, message, fixes=fixes, related=[hop.route],
                        assumptions=["the manifests show the weights between rollouts; Argo changes them at each "
                                     "setWeight step"])


_ROLLOUT_FIXES = {
    "istio": "send the canary by a match instead of by weight: a `setHeaderRoute` step with a cookie match (a "
             "browser cannot add a header to its WebSocket upgrade), or canary without traffic routing",
    "nginx": "keep each session on its side: `nginx.ingress.kubernetes.io/affinity: cookie` on the stable Ingress "
             "and `canaryIngressAnnotations: {nginx.ingress.kubernetes.io/affinity: cookie}` in the Rollout's nginx "
             "trafficRouting",
    "gateway-api": "send the canary by a match instead of by weight (a `setHeaderRoute` step on a cookie; a browser "
                   "cannot add a header to its WebSocket upgrade), or canary without traffic routing",
}
