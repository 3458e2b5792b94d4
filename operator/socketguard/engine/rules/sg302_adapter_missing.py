"""Several replicas serve Socket.IO without an adapter, so broadcasts reach one pod's sockets only.

What it checks
--------------
A server workload that may run more than one pod (`spec.replicas` > 1, a HorizontalPodAutoscaler
with `maxReplicas` > 1, or a DaemonSet) whose `socketguard.io/adapter` is `none` (the default).
A server inferred from routing alone is assumed to have no adapter.

Why it matters
--------------
Each pod keeps its own sockets and rooms in memory. `io.emit(...)` or `io.to(room).emit(...)` on
one pod reaches only the clients connected to that pod; the others miss the event silently. It
works in development with one replica and loses messages in production. Sticky sessions (SG301)
do not help: they keep one client on one pod, not one room on one pod.

How to fix
----------
Use an adapter that relays events between the pods, and say so in the annotation.

```yaml
# node:   io.adapter(createAdapter(pubClient, subClient))   // @socket.io/redis-adapter
# python: socketio.AsyncServer(client_manager=socketio.AsyncRedisManager("redis://redis:6379"))
metadata:
  annotations:
    socketguard.io/adapter: redis
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.scale import Replicas, server_replicas

RULE = Rule.define(__doc__, code="SG302", name="adapter-missing", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)

ANNOTATIONS: FieldPath = ("metadata", "annotations")


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for server in ctx.servers.values():
        if server.adapter != "none":
            continue
        replicas = server_replicas(ctx, server.workload)
        if replicas is not None and replicas.several:
            yield _finding(server, replicas)


def _finding(server: ServerSpec, replicas: Replicas) -> Finding:
    message = (f"{replicas.describe} runs Socket.IO with adapter `none`: io.emit and room broadcasts on one pod "
               "reach only the sockets connected to that pod")
    if server.stack == "node":
        code = "`io.adapter(createAdapter(pubClient, subClient))` from @socket.io/redis-adapter"
    else:
        code = "`client_manager=socketio.AsyncRedisManager('redis://redis:6379')` (or socketio.RedisManager)"
    fixes = [f"add an adapter: {code}, and annotate `socketguard.io/adapter: redis` on {server.workload}",
             f"or run a single replica if the server never broadcasts across clients ({replicas.cause[0]} "
             f"{'.'.join(map(str, replicas.cause[1]))})"]
    assumptions = ["no adapter assumed (no socketguard.io/adapter on an inferred server)"] if server.inferred else []
    return RULE.finding(server.workload, server.sources.get("adapter", ANNOTATIONS), message, fixes=fixes,
                        related=replicas.related, assumptions=assumptions)
