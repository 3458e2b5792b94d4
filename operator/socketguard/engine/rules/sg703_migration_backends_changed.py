"""After the migration, other workloads, or the same ones with other weights, receive the handshake.

What it checks
--------------
`socketguard compare` only. It compares the workloads that receive the handshake in both
pictures (through each backend's Service selector) and their share of requests. Other
workloads are an error; the same workloads with other weights a warning; a new weighted split
across workloads is an error when the server polls and AFTER has no stickiness (each poll of
one session may land on the other workload, which does not know the session).

Why it matters
--------------
A rule that matches in both pictures may still send the handshake elsewhere: a catch-all `/`
rule that won because an HTTPRoute `PathPrefix` does not match as the old regex location did,
a backendRef to the wrong Service, or a canary weight that did not exist before.

How to fix
----------
Point the rule's `backendRefs` at the Services BEFORE used, with the same weights:

```yaml
backendRefs:
- {name: chat, port: 80, weight: 100}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import delivered
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Backend
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG703", name="migration-backends-changed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "backends"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before, after = delivered(pair.before_hop), delivered(pair.after_hop)
    if not before or not after or pair.after_hop is None:
        return
    was, now = _shares(before), _shares(after)
    hop = pair.after_hop
    if set(was) != set(now):
        yield pair.located(RULE, f"{pair.request.host}{pair.request.path} reaches {_names(now)} after the migration "
                           f"instead of {_names(was)}", aspect=ASPECT, before=_describe(was), after=_describe(now),
                           fixes=(f"send {hop.route} {hop.rule_path_text} to the Services BEFORE used: "
                                  f"{_services(before)}",))
        return
    if len(now) > 1 and len(was) == 1 and not any(b.affinity for b in after) and _polls(pair):
        yield pair.located(RULE, f"{pair.request.host}{pair.request.path} is split across {_names(now)} "
                           "after the migration, without stickiness: polls of one session land on workloads "
                           "that do not know it", aspect=ASPECT, before=_describe(was), after=_describe(now),
                           fixes=("keep a single backend for the socket path, or add `sessionPersistence: "
                                  "{sessionName: io, type: Cookie}` to the rule",))
        return
    if was != now:
        yield pair.located(RULE, f"{pair.request.host}{pair.request.path}: weights change from {_describe(was)} to "
                           f"{_describe(now)}", aspect=ASPECT, before=_describe(was), after=_describe(now),
                           severity=Severity.WARNING,
                           fixes=(f"set the backendRefs weights of {hop.route} {hop.rule_path_text} to BEFORE's",))


def _shares(backends: list[Backend]) -> dict[ObjectRef, int]:
    """Each workload's percentage of requests (a workload behind two backends adds up)."""
    total = sum(b.weight for b in backends) or 1
    shares: dict[ObjectRef, int] = {}
    for backend in backends:
        receivers = backend.workloads or ((backend.service,) if backend.service is not None else ())
        for receiver in receivers:
            shares[receiver] = shares.get(receiver, 0) + round(100 * backend.weight / total)
    return shares


def _polls(pair: RoutePair) -> bool:
    return any("polling" in s.transports for s in pair.servers)


def _names(shares: dict[ObjectRef, int]) -> str:
    return ", ".join(str(ref) for ref in sorted(shares)) or "nothing"


def _describe(shares: dict[ObjectRef, int]) -> str:
    return ", ".join(f"{ref} {share}%" for ref, share in sorted(shares.items())) or "nothing"


def _services(backends: list[Backend]) -> str:
    return ", ".join(f"{b.service or b.host} port {b.service_port or b.port_number} weight {b.weight}"
                     for b in backends)
