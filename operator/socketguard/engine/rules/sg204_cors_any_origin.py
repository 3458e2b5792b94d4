"""A Socket.IO server accepts any origin (`*` or `reflect`), so any website can open sockets to it.

What it checks
--------------
A server annotated `socketguard.io/cors-origins: "*"` or `reflect` (socket.io `cors: { origin:
"*" }` or `origin: true`; python-socketio `cors_allowed_origins="*"`).

Why it matters
--------------
Any page on any site can then connect from a visitor's browser. With `reflect` (and with `*` on
python-socketio, which echoes the origin) and credentials, those connections carry the visitor's
cookies: cross-site WebSocket hijacking. On node the Origin of a WebSocket upgrade is never
checked at all, whatever the `cors` option says; only `allowRequest` can refuse it.

How to fix
----------
List the origins of your own pages; on node, also check the Origin in `allowRequest`.

```yaml
# new Server(httpServer, { cors: { origin: ["https://app.example.com"] },
#   allowRequest: (req, callback) => callback(null, req.headers.origin === "https://app.example.com") })
# socketio.AsyncServer(cors_allowed_origins=["https://app.example.com"])
metadata:
  annotations:
    socketguard.io/cors-origins: https://app.example.com
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG204", name="cors-any-origin", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)

ANNOTATIONS: FieldPath = ("metadata", "annotations")


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server in ctx.servers.values():
        wildcard = next((o for o in server.cors_origins if o in ("*", "reflect")), None)
        if wildcard is not None:
            yield _finding(server, wildcard, sorted({p.client.origin for p in ctx.traces.pairs_of(server.workload)
                                                     if p.client.origin}))


def _finding(server: ServerSpec, wildcard: str, origins: list[str]) -> Finding:
    echoed = wildcard == "reflect" or server.stack != "node"
    if echoed and server.cors_credentials:
        exposure = "any website can open sockets to it with its visitors' cookies (the origin is echoed)"
    else:
        exposure = "any website can open sockets to it from its visitors' browsers"
    websocket = "; node never checks the Origin of a WebSocket upgrade" if server.stack == "node" else ""
    message = f"{server.workload} allows origin `{wildcard}`: {exposure}{websocket}"
    listed = ",".join(origins) or "https://app.example.com"
    quoted = ", ".join(f"'{o}'" for o in origins) or "'https://app.example.com'"
    code = (f"`cors: {{ origin: [{quoted}] }}`" if server.stack == "node"
            else f"`cors_allowed_origins=[{quoted}]`")
    fixes = [f"list your page origins: {code} and `socketguard.io/cors-origins: {listed}` on {server.workload}"]
    if server.stack == "node":
        fixes.append("and refuse other origins on WebSocket too: `allowRequest: (req, cb) => "
                     "cb(null, allowed.includes(req.headers.origin))`")
    path = server.sources.get("cors-origins", ANNOTATIONS)
    return RULE.finding(server.workload, path, message, fixes=fixes)
