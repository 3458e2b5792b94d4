"""The client URL has a path, which Socket.IO treats as a namespace, not the HTTP path.

What it checks
--------------
`io("https://example.com/mageagent")` does not request `/mageagent/socket.io/`: the URL's
pathname is the Socket.IO *namespace*, and the HTTP path is still the `path` option
(default `/socket.io`). SocketGuard reports a `socketguard.io/client-url` with a path that no
server the client reaches serves as a namespace (`socketguard.io/namespaces`) when the path
reads like an HTTP prefix (it contains `socket.io`, or the client's path or a socket route
starts with it), or when no server is known to check it against. SG112 reports the refused
namespace itself as an error.

Why it matters
--------------
The handshake goes to `/socket.io/` on the host, which the route for `/mageagent/...` never
sees; and if it arrives, the server refuses the unknown namespace (`44` CONNECT error). The
python client ignores the URL path altogether.

How to fix
----------
Give the HTTP path in the `path` option and keep the URL to scheme and host:

```yaml
# io("https://adverant.ai", { path: "/mageagent/socket.io" })
metadata:
  annotations:
    socketguard.io/client-url: https://adverant.ai
    socketguard.io/client-path: /mageagent/socket.io
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._routes import (
    client_field,
    looks_like_http_path,
    paired_servers,
    serves_namespace,
    url_namespace,
)
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG109", name="client-url-path-is-namespace", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client in ctx.clients.values():
        namespace = url_namespace(client)
        if namespace == "/":
            continue
        servers = paired_servers(ctx, client)
        if any(serves_namespace(s, namespace) for s in servers):
            continue
        if servers and not looks_like_http_path(ctx, client, namespace):
            continue  # meant as a namespace, and not served: SG112 says so
        wanted = namespace.rstrip("/") + "/socket.io" if "socket.io" not in namespace else namespace
        base = client.url[: -len(namespace)] if client.url and client.url.rstrip("/").endswith(namespace) else ""
        fixes = [f"if {namespace} is meant as the HTTP path: `io(\"{base or '<origin>'}\", {{ path: \"{wanted}\" }})` "
                 f"and annotate `socketguard.io/client-path: {wanted}`",
                 f"if {namespace} is a Socket.IO namespace: serve it on the server and list it in "
                 "`socketguard.io/namespaces`"]
        served = "; no server it reaches serves that namespace" if servers else ""
        message = (f"{client.workload} connects to {client.url}, whose path {namespace} is a Socket.IO namespace, "
                   f"not the HTTP path: the handshake still goes to {client.path.rstrip('/')}/{served}")
        yield RULE.finding(client.workload, client_field(client, "client-url"), message, fixes=fixes,
                           related=[s.workload for s in servers])
