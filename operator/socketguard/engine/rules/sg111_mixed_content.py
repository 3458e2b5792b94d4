"""An https page connects with `ws://` or `http://`, or an https URL reaches a gateway port without TLS.

What it checks
--------------
Browsers block insecure requests from secure pages (mixed content). SocketGuard reports a
client whose page origin (`socketguard.io/client-origin`) is `https://` while its
`socketguard.io/client-url` is `ws://` or `http://` (loopback hosts excepted, which browsers
trust), and an `https://`/`wss://` client URL whose Gateway server for that host terminates no
TLS (protocol `HTTP` and no `tls` mode). When the Gateway has no server on the URL's port at
all, the finding is a warning: TLS may end at a load balancer in front of the gateway.

Why it matters
--------------
A blocked request never leaves the browser: the console shows "Mixed Content ... was loaded
over HTTPS, but requested an insecure XMLHttpRequest/WebSocket endpoint" and `io()` retries
forever. A gateway port without TLS fails the TLS handshake of every `https://` request.

How to fix
----------
Use the page's scheme (or give no URL at all, so `io()` uses the page origin), and terminate
TLS for the host at the gateway:

```yaml
metadata:
  annotations:
    socketguard.io/client-url: wss://app.example.com   # not ws://
---
servers:
- port: {number: 443, name: https, protocol: HTTPS}
  tls: {mode: SIMPLE, credentialName: app-tls}
  hosts: [app.example.com]
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules._routes import client_field
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.urls import split_url

RULE = Rule.define(__doc__, code="SG111", name="mixed-content", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client in ctx.clients.values():
        url = client.url if client.url and not client.url.startswith("/") else None
        parts = split_url(url) if url else None
        if (client.origin and client.origin.startswith("https://") and parts is not None
                and parts.scheme in ("ws", "http") and (parts.hostname or "") not in _LOOPBACK):
            secure = "wss" if parts.scheme == "ws" else "https"
            yield RULE.finding(
                client.workload, client_field(client, "client-url"),
                f"{client.workload}'s page on {client.origin} connects to {url}, an insecure {parts.scheme}:// URL "
                "that browsers block as mixed content",
                fixes=[f"use {secure}://{parts.netloc}{parts.path} (and annotate it)",
                       "or give io() no URL so it uses the page origin"])
    for trace in ctx.traces.client_traces():
        entrance = trace.routing.entrance
        if trace.request.scheme != "https" or entrance is None or entrance.via != "gateway" or entrance.tls:
            continue
        assert trace.client is not None and entrance.gateway is not None
        same_port = entrance.port == trace.request.port
        where = f"{entrance.gateway} server on port {entrance.port} ({entrance.protocol})"
        host, port = trace.request.host, trace.request.port
        yield RULE.finding(
            entrance.gateway, ("spec", "tls") if entrance.gateway.kind == "Ingress" else (
                entrance.server_path or ("spec",)),
            f"{trace.client.workload} connects to https://{host}:{port}, but the "
            f"{where} for {host} terminates no TLS"
            f"{'' if same_port else f' and nothing listens on port {port}'}",
            fixes=[_tls_fix(entrance.gateway, host, port)],
            related=[trace.client.workload],
            severity=None if same_port else Severity.WARNING,
            assumptions=[] if same_port else [
                "no load balancer in front of the gateway terminates TLS for this host"])


def _tls_fix(entrance: ObjectRef, host: str, port: int) -> str:
    if entrance.kind == "Ingress":
        return f"list {host} under `spec.tls` with a `secretName` holding its certificate"
    if entrance.group == GATEWAY_API_GROUP:
        return (f"serve {host} on a listener with `port: {port}`, `protocol: HTTPS` and "
                "`tls: {mode: Terminate, certificateRefs: [...]}`")
    return f"serve {host} on port {port} with `protocol: HTTPS` and `tls: {{mode: SIMPLE, credentialName: ...}}`"
