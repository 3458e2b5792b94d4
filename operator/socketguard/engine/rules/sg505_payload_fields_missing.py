"""The client reads payload fields that the server's emitted payload does not contain.

What it checks
--------------
A source scan records, per event, the fields a client's handler reads from its payload
(`data.name`, `({agentId, model}) => ...`) and the keys of the object literal each server
emits it with. Every field read must be among the keys some paired server sends. When no
server emits the event at all (SG501), the rule compares with the emitted event whose name
shares the most words with it (`agent:spawned` -> `agent_stream`), the message a rename
would most likely reuse, and says so. Skipped when either side's fields are unknown (a
payload built elsewhere or spread from another object, a handler defined elsewhere).

Why it matters
--------------
The handler gets `undefined` for each missing field and renders or stores it without an
error. In the seed, the frontend's `agent:spawned` handler reads `agentId`, `name` and
`model`, while the backend's `agent_stream` payload carries `type`, `agentId`, `content`,
`metadata` and `timestamp`: structured fields against a `content` string (mismatch 3).

How to fix
----------
Send the fields the client reads, or read the fields the server sends:

```js
io.emit("agent:spawned", { agentId, name, model, status: "spawned" });
```

Then re-run `socketguard contract scan` on both source trees.
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
    from socketguard.engine.contract import ClientSpec, ServerSpec

RULE = Rule.define(__doc__, code="SG505", name="payload-fields-missing", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for client, servers in servers_by_client(ctx):
        for event, read in sorted((client.events.reads or {}).items()):
            finding = _check_event(client, servers, event, read)
            if finding is not None:
                yield finding


def _check_event(client: ClientSpec, servers: tuple[ServerSpec, ...], event: str,
                 read: frozenset[str]) -> Finding | None:
    emitted = union_known(server.events.emits for server in servers)
    if not read or emitted is None:
        return None
    sent_as = event if event in emitted else counterpart(event, emitted)
    if sent_as is None:
        return None
    senders = [s for s in servers if s.events.emits is not None and sent_as in s.events.emits]
    payloads = [(s.events.payloads or {}).get(sent_as) for s in senders]
    sent = union_known(payloads)
    if sent is None:
        return None
    missing = read - sent
    if not missing:
        return None
    refs = [server.workload for server in senders]
    if sent_as == event:
        message = (f"{client.workload} reads {listing(missing)} from '{event}', but {names(refs)} "
                   f"emits it with only {listing(sent, 'no fields')}")
    else:
        message = (f"{client.workload} reads {listing(missing)} from '{event}', which no server emits; "
                   f"the nearest event {names(refs)} emits, '{sent_as}', carries only "
                   f"{listing(sent, 'no fields')}")
    return RULE.finding(
        client.workload,
        source_path(client.events, "listens"),
        message,
        fixes=(
            f"send {listing(missing)} in the payload {names(refs)} emits as '{event}', or stop "
            f"reading them in {client.workload}",
        ),
        related=refs,
    )
