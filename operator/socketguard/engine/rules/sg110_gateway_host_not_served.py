"""The client URL's host is served by no Gateway/VirtualService pair, or a route's Gateway is missing.

What it checks
--------------
A browser reaches the mesh through an ingress gateway: a Gateway server must list the
client URL's host (`socketguard.io/client-url`, or the page origin) and a VirtualService for
that host must bind that Gateway in `gateways`. SocketGuard reports a client host that no
Gateway server lists, a Gateway that lists it with no VirtualService bound to it, and every
`gateways` entry of a socket VirtualService that names a Gateway that does not exist
(`name` resolves in the VirtualService's namespace, `namespace/name` elsewhere). When the
inputs hold no Gateway at all, or the missing Gateway is named in another namespace
(`istio-system/public`), the finding is a warning: it may live outside the manifests linted. A host served by a Gateway
API listener or an Ingress instead is fine.

Why it matters
--------------
The host does not resolve to the mesh, or the gateway answers 404 for every path: the
handshake never reaches a route, whatever the routes say.

How to fix
----------
List the host on a Gateway server and bind the VirtualService to that Gateway:

```yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: app-tls}
    hosts: [app.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app, namespace: web}
spec:
  hosts: [app.example.com]
  gateways: [public]          # or web/public from another namespace
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.relations import ENTRANCE_KINDS
from socketguard.engine.routing.hosts import host_matches, in_cluster_service
from socketguard.engine.routing.istio import IstioRouter, gateway_ref
from socketguard.engine.rules._routes import client_field, socket_virtual_services
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Trace

RULE = Rule.define(__doc__, code="SG110", name="gateway-host-not-served", severity=Severity.ERROR,
                   admission=Admission.MISSING_REFERENCE)

@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for trace in ctx.traces.client_traces():
        if trace.request.via == "gateway" and not trace.routing.hops and not trace.routing.hidden_routes:
            yield from _host(ctx, trace)
    yield from _missing_gateways(ctx)


def _host(ctx: Context, trace: Trace) -> Iterator[Finding]:
    client, routing, host = trace.client, trace.routing, trace.request.host
    assert client is not None
    located = in_cluster_service(host, client.workload.namespace)
    if located is not None and ctx.inventory.service(*located) is None:
        return  # an in-cluster name without a Service: SG101
    if routing.missing_gateways:
        return  # reported on the VirtualService's `gateways` below
    routes = [vs for vs in ctx.inventory.virtual_services_meeting(host)
              if any(host_matches(h, host) for h in vs.spec.hosts)]
    refs = [ctx.inventory.ref_of(vs) for vs in routes]
    if routing.entrance is None:
        any_gateway = any(ctx.inventory.has_kind(group, kind) for group, kind in ENTRANCE_KINDS)
        message = (f"{client.workload} connects to {host}, but no Gateway server (nor Gateway API listener or "
                   f"Ingress) serves that host{', although ' + str(refs[0]) + ' routes it' if refs else ''}")
        yield RULE.finding(
            client.workload, client_field(client, "client-url"), message, related=refs,
            fixes=[f"add {host} to the `hosts` of a Gateway server (port {trace.request.port}) and bind the "
                   "VirtualService to it", "or correct `socketguard.io/client-url`"],
            severity=None if any_gateway else Severity.WARNING,
            assumptions=[] if any_gateway else [
                "the inputs hold no Gateway: the host may be served by an ingress outside them"])
        return
    if routing.host_routed:
        return
    gateway = routing.entrance.gateway
    assert gateway is not None
    name = gateway.name if gateway.namespace == client.workload.namespace else f"{gateway.namespace}/{gateway.name}"
    if refs:
        for ref in refs:
            yield RULE.finding(
                ref, ("spec", "gateways"),
                f"{gateway} serves {host}, but {ref} (for {host}) is not bound to it, so the gateway answers 404 "
                f"to {client.workload}'s handshake", fixes=[f"add `{name}` to spec.gateways of {ref}"],
                related=[gateway, client.workload])
        return
    yield RULE.finding(
        gateway, (*(routing.entrance.server_path or ("spec",)), "hosts"),
        f"{gateway} serves {host}, but no VirtualService for {host} is bound to it, so the gateway answers 404 "
        f"to {client.workload}'s handshake",
        fixes=[f"create a VirtualService with `hosts: [{host}]` and `gateways: [{name}]` routing the socket path"],
        related=[client.workload])


def _missing_gateways(ctx: Context) -> Iterator[Finding]:
    router = ctx.router_of(IstioRouter)
    if router is None:
        return
    for vs in ctx.inventory.virtual_services():
        missing = router.missing_gateways(vs)  # the router has looked most of them up already
        if not missing:
            continue  # before the relevance test, which needs every socket VirtualService found
        ref = ctx.inventory.ref_of(vs)
        if ref not in socket_virtual_services(ctx) and not _serves_a_client(ctx.memo(_client_hosts), vs.spec.hosts):
            continue
        for index, name in missing:
            namespace, gateway_name = gateway_ref(name, ref.namespace)
            # Decided from the reference alone, so a scoped analysis agrees with the full one.
            elsewhere = namespace != ref.namespace
            yield RULE.finding(
                ref, ("spec", "gateways", index),
                f"{ref} binds Gateway `{name}`, which does not exist in namespace {namespace}, so no gateway "
                f"applies its routes for {', '.join(vs.spec.hosts)}",
                fixes=[f"create Gateway {namespace}/{gateway_name}",
                       "or name an existing one (`namespace/name` for another namespace)"],
                severity=Severity.WARNING if elsewhere else None,
                assumptions=[f"the Gateway is expected in namespace {namespace}, which these inputs may not cover"]
                if elsewhere else [])


def _client_hosts(ctx: Context) -> set[str]:
    return {t.request.host.lower() for t in ctx.traces.client_traces()}


def _serves_a_client(client_hosts: set[str], hosts: list[str]) -> bool:
    return any(h.lower() in client_hosts or (h.startswith("*") and any(host_matches(h, c) for c in client_hosts))
               for h in hosts)
