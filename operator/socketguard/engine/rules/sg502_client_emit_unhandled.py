"""The client emits an event that none of its servers handles.

What it checks
--------------
For every client and the servers it is paired with, each event in the client's `emits`
must be in the `listens` of at least one of those servers. Skipped when the client's
`emits` or any server's `listens` is unknown.

Why it matters
--------------
A Socket.IO server drops events it has no handler for, silently: the client's request
(subscribe, start a task, stop an agent) never happens, and no error reaches either side.

How to fix
----------
Add a handler on the server (`socket.on('subscribe', ...)`, `@sio.on("subscribe")`), or
emit an event the server handles. Record both sides:

```yaml
# server Deployment mageagent
socketguard.io/listens: "subscribe,unsubscribe,start_agent_task,stop_agent"
# client Deployment frontend
socketguard.io/emits: "subscribe,unsubscribe"
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._event_contract import listing, names, servers_by_client, source_path, union_known
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG502", name="client-emit-unhandled", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client, servers in servers_by_client(ctx):
        emits = client.events.emits
        handled = union_known(server.events.listens for server in servers)
        if emits is None or handled is None:
            continue
        unhandled = sorted(emits - handled)
        if not unhandled:
            continue
        refs = [server.workload for server in servers]
        client_named, servers_named, handled_listed = str(client.workload), names(refs), listing(handled)
        path = source_path(client.events, "emits")
        for event in unhandled:
            yield RULE.finding(
                client.workload,
                path,
                f"{client_named} emits '{event}', but {servers_named} has no handler for it "
                f"(it handles {handled_listed})",
                fixes=(
                    f"handle '{event}' in {servers_named} (socket.on('{event}', ...)), or stop "
                    f"emitting it from {client_named}",
                ),
                related=refs,
            )
