"""The client connects to a Socket.IO namespace that the server does not serve.

What it checks
--------------
The pathname of the URL given to `io()` is the namespace the client joins
(`io("https://h/admin")` joins `/admin`). SocketGuard compares it with the
`socketguard.io/namespaces` of every server the client's handshake reaches (default `/`;
patterns such as `/tenant-*` are allowed). When the URL path was meant as the HTTP path,
SG109 explains that too.

Why it matters
--------------
The Engine.IO connection opens, then the server answers the namespace CONNECT with
`44{"message":"Invalid namespace"}`; the client emits `connect_error` and no event is ever
delivered, although the route and the handshake are fine.

How to fix
----------
Serve the namespace on the server (`io.of("/admin")`) and list it, or connect to one it serves:

```yaml
# server
metadata:
  annotations:
    socketguard.io/namespaces: /,/admin
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._routes import (
    client_field,
    paired_servers,
    serves_namespace,
    url_namespace,
)
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG112", name="unknown-namespace", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client in ctx.clients.values():
        namespace = url_namespace(client)
        servers = paired_servers(ctx, client)
        if namespace == "/" or not servers:
            continue
        for server in servers:
            if serves_namespace(server, namespace):
                continue
            served = ", ".join(server.namespaces)
            annotated = server.sources.get("namespaces", ())[-1:] == ("socketguard.io/namespaces",)
            assumptions = [] if annotated else [f"{server.workload} serves only the default namespace /"]
            yield RULE.finding(
                client.workload, client_field(client, "client-url"),
                f"{client.workload} joins namespace {namespace} (the path of {client.url}), but {server.workload} "
                f"serves only {served}, so the CONNECT is refused with `Invalid namespace`",
                fixes=[f"serve {namespace} on the server (`io.of(\"{namespace}\")`) and add it to "
                       f"`socketguard.io/namespaces` on {server.workload}",
                       f"or connect to a namespace it serves: `io(\"{(client.url or '')[: -len(namespace)]}\")`"],
                related=[server.workload], assumptions=assumptions)
