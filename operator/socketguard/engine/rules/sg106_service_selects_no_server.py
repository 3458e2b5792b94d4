"""The Service a socket route reaches selects no pod template (selector and labels drifted apart).

What it checks
--------------
For every socket route and client handshake, SocketGuard matches the destination Service's
`spec.selector` against the pod template labels of the Deployments, StatefulSets and
DaemonSets in its namespace. A Service that selects none of them is reported, with the
closest workload and the labels that differ on both sides (`version: v2` in the selector,
`version: v1` on the pods). A Service without a selector (hand-made Endpoints) is a warning:
its endpoints are outside the manifests; so is a namespace with no workload in the inputs at
all.

Why it matters
--------------
A Service that selects no pods has no endpoints: the proxy answers 503 (`UH`, no healthy
upstream) and every handshake fails, although the route, the Service and the Deployment each
look valid. A relabelled Deployment or a copied selector causes it.

How to fix
----------
Make the selector a subset of the server's pod template labels:

```yaml
# Service
spec:
  selector:
    app: chat                 # must match spec.template.metadata.labels
---
# Deployment
spec:
  template:
    metadata:
      labels:
        app: chat
        version: v1
```
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.models.services import Service
from socketguard.engine.models.workloads import Workload
from socketguard.engine.routing import Backend
from socketguard.engine.rules._routes import live_backends, live_traces, service_of
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.trace import Trace

RULE = Rule.define(__doc__, code="SG106", name="service-selects-no-server", severity=Severity.ERROR,
                   admission=Admission.MISSING_REFERENCE)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for trace in live_traces(ctx):
        for backend in live_backends(trace):
            service = service_of(ctx, backend.service)
            if service is not None and not backend.workloads and service.spec.type != "ExternalName":
                yield _finding(ctx, trace, backend, service)


def _finding(ctx: Context, trace: Trace, backend: Backend, service: Service) -> Finding:
    assert backend.service is not None
    ref = backend.service
    related = [*([trace.hop.route] if trace.hop else []), *([trace.client.workload] if trace.client else [])]
    selector = service.spec.selector
    if not selector:
        return RULE.finding(
            ref, ("spec",), f"{ref} has no selector, so its endpoints are managed outside these manifests and "
            "SocketGuard cannot tell which server the handshake reaches", severity=Severity.WARNING,
            fixes=["add a selector matching the server's pod template labels"], related=related,
            assumptions=["the hand-made Endpoints point at a Socket.IO server"])
    shown = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
    closest = _closest(ctx, ref.namespace, selector)
    if closest is None:
        message = f"{ref} selects no pod template in namespace {ref.namespace} (selector {shown})"
        fixes = ["fix the selector, or deploy the server's workload in this namespace"]
        if not any(True for _ in ctx.inventory.workloads(ref.namespace)):
            return RULE.finding(ref, ("spec", "selector"), message, fixes=fixes, related=related,
                                severity=Severity.WARNING, assumptions=[
                                    f"the inputs hold no workload in namespace {ref.namespace}: the server may be "
                                    "deployed from other manifests"])
    else:
        labels = closest.pod_labels
        differs = ", ".join(f"{k}={v} vs {labels.get(k, '(missing)')}"
                            for k, v in sorted(selector.items()) if labels.get(k) != v)
        workload = ctx.inventory.ref_of(closest)
        message = (f"{ref} selects no pod template in namespace {ref.namespace}: selector {shown}; the closest, "
                   f"{workload}, differs in {differs}")
        fixes = [f"set the selector to labels that {workload}'s pod template carries",
                 f"or add the labels to {workload}'s spec.template.metadata.labels"]
        related.append(workload)
    return RULE.finding(ref, ("spec", "selector"), message, fixes=fixes, related=related)


def _closest(ctx: Context, namespace: str, selector: dict[str, str]) -> Workload | None:
    """The workload sharing the most selector labels (servers first), if it shares any.

    Scoring every workload of the namespace for every such Service would be squared work in a
    namespace of many; only two kinds of workload can win (see `_Labels`)."""
    candidates = ctx.memo_for(_Labels, namespace).candidates(selector)
    best = _best(ctx, candidates, selector)
    return None if best is None else candidates[best]


def _best(ctx: Context, workloads: Sequence[Workload], selector: dict[str, str]) -> int | None:
    """Index of the first of `workloads` with the highest score, among those sharing a key or a label."""
    best: tuple[int, int] | None = None
    found: int | None = None
    for position, workload in enumerate(workloads):
        score = _score(ctx, workload, selector)
        if score is not None and (best is None or score > best):
            best, found = score, position
    return found


def _score(ctx: Context, workload: Workload, selector: dict[str, str]) -> tuple[int, int] | None:
    """Shared labels count twice, shared keys once, a server once more; fewer labels first."""
    labels = workload.pod_labels
    shared = sum(1 for k, v in selector.items() if labels.get(k) == v)
    keys = sum(1 for k in selector if k in labels)
    if not (shared or keys):
        return None
    is_server = ctx.inventory.ref_of(workload) in ctx.servers
    return shared * 2 + keys + (1 if is_server else 0), -len(labels)


class _Labels:
    """A namespace's workloads in scan order, indexed by label.

    The winner either shares a label with the selector (found through the index), or shares
    none: then its score counts keys only, and it is the best workload scored on the selector's
    keys alone (`_keys_only`, one scan per distinct key set). A workload that shares a label
    scores two more than on keys alone, so if the best on keys alone shares one, no workload that
    shares none can win. Candidates are scored in scan order, so ties go to the first, as a scan
    of every workload would.
    """

    def __init__(self, ctx: Context, namespace: str) -> None:
        self.ctx = ctx
        self.workloads = list(ctx.inventory.workloads(namespace))
        self.by_label: dict[tuple[str, str], list[int]] = {}
        for position, workload in enumerate(self.workloads):
            for label in workload.pod_labels.items():
                self.by_label.setdefault(label, []).append(position)
        self.by_keys: dict[frozenset[str], int | None] = {}

    def candidates(self, selector: dict[str, str]) -> list[Workload]:
        positions = {p for label in selector.items() for p in self.by_label.get(label, ())}
        keys_only = self._keys_only(frozenset(selector))
        if keys_only is not None:
            positions.add(keys_only)
        return [self.workloads[p] for p in sorted(positions)]

    def _keys_only(self, keys: frozenset[str]) -> int | None:
        """Position of the best workload scored on `keys` alone, as if no value matched."""
        if keys not in self.by_keys:
            self.by_keys[keys] = _best(self.ctx, self.workloads, dict.fromkeys(keys, _NO_VALUE))
        return self.by_keys[keys]


# A selector value no label has: scoring with it counts shared keys only.
_NO_VALUE = "\x00socketguard: no label has this value"
