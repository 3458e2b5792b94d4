"""The client listens for an event that none of its servers ever emits.

What it checks
--------------
For every client paired with its servers (by routing, or pinned with
`socketguard.io/client-server`), each event in the client's `listens` must be in the
`emits` of at least one of those servers. The rule is skipped when the client's `listens`
or any server's `emits` is unknown (annotation unset, or a source scan found an event named
by a variable).

Why it matters
--------------
Socket.IO never complains about an event nobody sends: the handler just never runs, and
the page waits forever. In the seed, the frontend listens for `agent:spawned`,
`agent:progress` and `task:complete` while the backend only emits `agent_stream`.

How to fix
----------
Emit the event the client expects from the server, or listen for the one the server sends.
Then keep both annotations (or `socketguard contract scan` output) in step:

```yaml
# server Deployment mageagent
socketguard.io/emits: "agent:spawned,agent:progress,agent:complete,task:complete"
# client Deployment frontend
socketguard.io/listens: "agent:spawned,agent:progress,agent:complete,task:complete"
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._event_contract import (
    counterpart,
    listing,
    names,
    servers_by_client,
    source_path,
    union_known,
)
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG501", name="event-never-emitted", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client, servers in servers_by_client(ctx):
        listens = client.events.listens
        emitted = union_known(server.events.emits for server in servers)
        if listens is None or emitted is None:
            continue
        unheard = sorted(listens - emitted)
        if not unheard:
            continue
        refs = [server.workload for server in servers]
        client_named, servers_named, emitted_listed = str(client.workload), names(refs), listing(emitted)
        path = source_path(client.events, "listens")
        for event in unheard:
            similar = counterpart(event, emitted)
            hint = f" (it emits '{similar}', which looks like the same message)" if similar else ""
            yield RULE.finding(
                client.workload,
                path,
                f"{client_named} listens for '{event}', but {servers_named} never emits it "
                f"(it emits {emitted_listed})",
                fixes=(
                    f"emit '{event}' from {servers_named}{hint}, or stop listening for it in "
                    f"{client_named}",
                ),
                related=refs,
            )
