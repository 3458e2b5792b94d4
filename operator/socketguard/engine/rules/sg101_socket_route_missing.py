"""A client's handshake reaches no route, or reaches a Service that selects no Socket.IO server.

What it checks
--------------
SocketGuard routes every client's handshake (`GET <client-path>/?EIO=4&transport=polling` on
the `client-url` host) like any request and reports when it ends nowhere useful: no rule of
the host's VirtualServices matches it, the matching rule answers with a redirect or a direct
response, its destination host names no Service (Istio takes `name.ns` literally), or the
Service it reaches selects only workloads that are not Socket.IO servers (or not the server
`socketguard.io/client-server` pins). Socket routes whose destination names no Service are
reported too. A workload with no `socketguard.io/` annotation at all may serve Socket.IO
unannounced, so reaching one is a warning that says what it assumed.

Why it matters
--------------
The browser gets a 404 from the proxy, a redirect it cannot follow for XHR polling, or the
HTML of another application; `io()` retries forever and the page never receives an event.

How to fix
----------
Add a route for the client's socket path in front of broader ones, point the client at the
path a route serves, or fix the destination host:

```yaml
http:
- match:
  - uri: {prefix: /mageagent/socket.io/}
  route:
  - destination:
      host: mageagent.mageagent.svc.cluster.local   # not `mageagent.mageagent`
      port: {number: 8080}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ClientSpec, annotated_keys
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend
from socketguard.engine.routing.hosts import CLUSTER_SUFFIX, fqdn, in_cluster_service
from socketguard.engine.routing.matching import differs_only_in_case
from socketguard.engine.rules._routes import (
    client_field,
    destination_field,
    destination_owner,
    hop_text,
    live_backends,
    live_traces,
)
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.rules.sg104_exact_match_misses_handshake import exact_misses
from socketguard.engine.trace import Trace

RULE = Rule.define(__doc__, code="SG101", name="socket-route-missing", severity=Severity.ERROR,
                   admission=Admission.MISSING_REFERENCE)

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for trace in live_traces(ctx):
        for backend in live_backends(trace):
            if backend.service is None and backend.path:
                yield _no_service(ctx, trace, backend)
        if trace.client is not None:
            yield from _client(ctx, trace)


def _no_service(ctx: Context, trace: Trace, backend: Backend) -> Finding:
    assert trace.hop is not None
    hop = trace.hop
    host = backend.host
    namespace = hop.route.namespace
    parts = host.lower().split(".")
    fixes: list[str] = []
    assumptions: list[str] = []
    severity = None
    if hop.router != "istio":
        problem = "names no Service in the inputs"
        fixes.append(f"create Service {host}, or fix the backend name")
    elif "." not in host:
        problem = f"names no Service {host} in namespace {namespace}"
        fixes.append(f"create Service {namespace}/{host}, or fix the destination host")
    elif len(parts) == 2 and ctx.inventory.service(parts[1], parts[0]) is not None:
        problem = "is not expanded by Istio (only short names and name.ns.svc.cluster.local are)"
        fixes.append(f"write the full name: `host: {fqdn(parts[1], parts[0])}`")
    elif host.lower().endswith(CLUSTER_SUFFIX):
        problem = "names no Service in the inputs"
        fixes.append("create the Service, or fix the destination host")
    else:
        problem = "is not a Service of the cluster"
        fixes.append("route to the Service that runs the Socket.IO server")
        assumptions.append(f"{host} is an external host (ServiceEntry); the server behind it is not checked")
        severity = Severity.WARNING
    message = (f"{hop_text(hop)} sends the handshake {trace.request.path} to destination host {host}, "
               f"which {problem}")
    related = [trace.client.workload] if trace.client else []
    return RULE.finding(destination_owner(hop, backend), destination_field(hop, backend, "host"), message, fixes=fixes,
                        related=related, assumptions=[*hop.assumptions, *assumptions], severity=severity)


def _client(ctx: Context, trace: Trace) -> Iterator[Finding]:
    client = trace.client
    assert client is not None
    routing, request = trace.routing, trace.request
    where = f"GET {request.path} on {request.host}"
    path_field = client_field(client, "client-path")
    if routing.entrance is None or (request.via == "gateway" and not routing.host_routed):
        located = in_cluster_service(request.host, client.workload.namespace)
        if located is not None and ctx.inventory.service(*located) is None:
            what = ("the browser's own machine" if request.host in _LOOPBACK
                    else f"a name that names no Service {located[0]}/{located[1]}")
            yield RULE.finding(
                client.workload, client_field(client, "client-url"),
                f"{client.workload} connects to {request.host}, {what}, which no route serves",
                fixes=["point `socketguard.io/client-url` (and the client's URL) at the public host or the "
                       "server's Service"])
        return  # SG110 reports a host no gateway or route serves
    if trace.hop is None and routing.direct is None:
        if routing.hidden_routes or exact_misses(ctx, request.host, request.path):
            return  # SG113 (exportTo) or SG104 (exact match) name the cause
        case_note, case_fixes, case_routes = _case_mismatch(ctx, trace)
        yield RULE.finding(
            client.workload, path_field,
            f"no route rule for {request.host} matches the handshake {where}, so the proxy answers 404"
            f"{case_note}", fixes=[*case_fixes, f"add a route matching `prefix: {request.path}` before broader rules",
                                   "or set `socketguard.io/client-path` (and the client's path option) to a "
                                   "path a route serves"],
            related=[*(ref for ref, _, _ in routing.missing_gateways), *case_routes])
        return
    if trace.hop is not None and not trace.hop.delivers:
        yield RULE.finding(
            trace.hop.route, trace.hop.rule_path,
            f"{hop_text(trace.hop)} answers the handshake {where} with a redirect or direct response, so "
            f"{client.workload} never reaches a Socket.IO server",
            fixes=["add a route for the socket path before this rule"], related=[client.workload])
        return
    yield from _wrong_workloads(ctx, trace)


def _case_mismatch(ctx: Context, trace: Trace) -> tuple[str, list[str], list[ObjectRef]]:
    """A socket route for the host written in another letter case than the client's path.

    Every router recognises `/Socket.IO/` as a socket route, but matches it by its own case rules:
    say why the handshake misses it.
    """
    request = trace.request
    for route_trace in ctx.memo(_route_traces_by_host).get(request.host.lower(), []):
        origin = route_trace.origin
        segments = differs_only_in_case(route_trace.request.path, request.path)
        if origin is None or segments is None:
            continue
        written, sent = segments
        note = (f"; {hop_text(origin)} is written for {written}, which differs from the client's {sent} only in "
                "letter case, and that match is case-sensitive")
        return note, [f"write {written} as {sent} in {origin.route} {origin.rule_path_text}"], [origin.route]
    return "", [], []


def _route_traces_by_host(ctx: Context) -> dict[str, list[Trace]]:
    """Route traces by lower-cased host, in trace order: a scan of them all per client is squared work."""
    by_host: dict[str, list[Trace]] = {}
    for route_trace in ctx.traces.route_traces():
        by_host.setdefault(route_trace.request.host.lower(), []).append(route_trace)
    return by_host


def _wrong_workloads(ctx: Context, trace: Trace) -> Iterator[Finding]:
    client = trace.client
    assert client is not None
    backends = [b for b in live_backends(trace) if b.service is not None]
    workloads = [w for b in backends for w in b.workloads]
    if not workloads:
        return  # no Service, or Services selecting nothing: the host finding above or SG106
    servers = [w for w in workloads if w in ctx.servers]
    pinned = client.server
    if not servers:
        yield _no_server(ctx, trace, client, backends, workloads)
    elif pinned is not None and not any((w.namespace, w.name) == (pinned.namespace, pinned.name) for w in servers):
        yield RULE.finding(
            client.workload, client_field(client, "client-server"),
            f"{_takes(trace, workloads)}, not to the pinned server {pinned.namespace}/{pinned.name}",
            fixes=["route the socket path to the pinned server's Service",
                   "or correct `socketguard.io/client-server`"],
            related=[*_services(backends), *servers, *([trace.hop.route] if trace.hop else [])])


def _no_server(ctx: Context, trace: Trace, client: ClientSpec, backends: list[Backend],
               workloads: list[ObjectRef]) -> Finding:
    # An unannotated workload may well serve Socket.IO behind a catch-all route: say so, not fail.
    silent = [w for w in workloads if not _annotated(ctx, w)]
    return RULE.finding(
        client.workload, client_field(client, "client-path"),
        f"{_takes(trace, workloads)}, which {'is not known as' if silent else 'is not'} a Socket.IO server",
        fixes=["route the socket path to the server's Service before broader rules",
               "or annotate the workload with `socketguard.io/role: server` if it serves Socket.IO"],
        related=[*_services(backends), *workloads, *([trace.hop.route] if trace.hop else [])],
        severity=Severity.WARNING if silent else None,
        assumptions=[f"{', '.join(str(w) for w in silent)} (no socketguard.io/ annotations) does not serve "
                     "Socket.IO"] if silent else [])


def _takes(trace: Trace, workloads: list[ObjectRef]) -> str:
    """Where the handshake goes, in words (built only for a finding: most handshakes reach their server)."""
    via = hop_text(trace.hop) if trace.hop else "the direct connection"
    reached = ", ".join(sorted({str(w) for w in workloads}))
    return f"the handshake GET {trace.request.path} on {trace.request.host} takes {via} to {reached}"


def _services(backends: list[Backend]) -> list[ObjectRef]:
    return [b.service for b in backends if b.service is not None]


def _annotated(ctx: Context, ref: ObjectRef) -> bool:
    workload = ctx.inventory.workload(ref.kind, ref.namespace, ref.name)
    return workload is not None and bool(annotated_keys(workload) - {"ignore", "enforce"})
