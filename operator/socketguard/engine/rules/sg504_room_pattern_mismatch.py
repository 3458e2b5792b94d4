"""The client subscribes to rooms that match no room its servers join sockets to.

What it checks
--------------
Room patterns use `{placeholders}`, each standing for any non-empty text. Every room the
client asks for (`rooms` on a client: the rooms in its subscribe payloads) must match some
room pattern one of its servers joins sockets to (`rooms` on the server: its `socket.join`
or `enter_room` calls). Two patterns match when one room name fits both: `task:{id}` and
`task:42` do, `task:{id}` and `agent:{id}` do not. Skipped when either side's rooms are
unknown, for example a server that keeps its own subscription sets instead of joining.

Why it matters
--------------
Broadcasts go to rooms (`io.to("agent:7").emit(...)`). A client that subscribes to
`task:7` while the server puts sockets in `agent:7` is in no room the server ever
addresses, so it receives nothing, with no error anywhere. This is the seed's mismatch 2.

How to fix
----------
Join the room the client asks for on the server, or subscribe to the room the server uses:

```js
// server: on 'subscribe', join what the client asks for
socket.on("subscribe", ({ room }) => socket.join(room));
```

```yaml
# then record it on the server Deployment mageagent
metadata:
  annotations:
    socketguard.io/rooms: "task:{taskId}"
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._event_contract import listing, names, rooms_overlap, servers_by_client, source_path
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG504", name="room-pattern-mismatch", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client, servers in servers_by_client(ctx):
        wanted = client.events.rooms
        if not wanted or any(server.events.rooms is None for server in servers):
            continue
        joined = [room for server in servers for room in server.events.rooms or ()]
        refs = [server.workload for server in servers]
        for room in wanted:
            if any(rooms_overlap(room, pattern) for pattern in joined):
                continue
            yield RULE.finding(
                client.workload,
                source_path(client.events, "rooms"),
                f"{client.workload} subscribes to room '{room}', which matches no room "
                f"{names(refs)} joins sockets to ({listing(joined, 'none')})",
                fixes=(
                    f"join sockets to '{room}' in {names(refs)}",
                    f"or subscribe {client.workload} to a room the server joins "
                    f"({listing(joined, 'it joins none')})",
                ),
                related=refs,
            )
