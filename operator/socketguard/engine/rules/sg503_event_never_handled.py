"""The server emits an event that none of its clients listens for.

What it checks
--------------
For every server and the clients paired with it, each event in the server's `emits` must
be in the `listens` of at least one of those clients. Skipped when the server's `emits` or
any client's `listens` is unknown, and for servers no known client reaches.

Why it matters
--------------
Usually harmless, hence info: but an event nobody receives is either dead code or the
other half of a rename (the seed's backend emits `agent_stream` while the frontend waits
for `agent:spawned`), and the bandwidth is spent either way.

How to fix
----------
Listen for the event in the client, or stop emitting it. Record both sides:

```yaml
# client Deployment frontend
socketguard.io/listens: "agent_stream,orchestration_update"
# server Deployment mageagent
socketguard.io/emits: "agent_stream,orchestration_update"
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._event_contract import clients_by_server, listing, names, source_path, union_known
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG503", name="event-never-handled", severity=Severity.INFO,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server, clients in clients_by_server(ctx):
        emits = server.events.emits
        heard = union_known(client.events.listens for client in clients)
        if emits is None or heard is None:
            continue
        unheard = sorted(emits - heard)
        if not unheard:
            continue
        refs = [client.workload for client in clients]
        server_named, clients_named, heard_listed = str(server.workload), names(refs), listing(heard)
        path = source_path(server.events, "emits")
        for event in unheard:
            yield RULE.finding(
                server.workload,
                path,
                f"{server_named} emits '{event}', but {clients_named} never listens for it "
                f"(it listens for {heard_listed})",
                fixes=(
                    f"listen for '{event}' in {clients_named}, or stop emitting it from {server_named}",
                ),
                related=refs,
            )
