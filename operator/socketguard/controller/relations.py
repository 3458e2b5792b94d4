"""Which objects a change touches: the part of the cluster one evaluation has to look at.

The edges are the engine's relation model (`socketguard.engine.relations`: a Service and the
workloads it selects, a route and the Services it names or mirrors to, routes sharing a host, a
client and the host of its URL or page origin, a DestinationRule and its host or Service, an HPA
and its target, a ReferenceGrant and the routes it admits), read from the raw objects the watches
deliver, so an object the engine rejected still routes its changes. They are walked in both
directions, so a new Service joins a route to its workloads. A Gateway is a hub that many routes
share: it is pulled in as context for a route, but its other routes are only re-evaluated when
the Gateway itself changes, so one route's edit does not re-evaluate the whole ingress.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from socketguard.engine.objects import ObjectRef
from socketguard.engine.relations import RelationIndex, links_of, role_of


class Relations:
    """The relation index over raw objects, kept in step with the inventory one object at a time."""

    def __init__(self) -> None:
        self._index = RelationIndex()

    def update(self, ref: ObjectRef, raw: Mapping[str, Any] | None) -> None:
        self._index.update(ref, None if raw is None else links_of(ref, raw))

    def neighbours(self, ref: ObjectRef, *, hub: bool) -> set[ObjectRef]:
        """Objects whose verdicts may depend on `ref`; with `hub`, a Gateway's routes too."""
        if role_of(ref) == "gateway" and not hub:
            return set()
        return self._index.related(ref)

    def affected(self, changed: Iterable[ObjectRef], limit: int = 20000) -> set[ObjectRef]:
        """The closure of `changed` under `neighbours`; hubs expand only when they changed."""
        start = set(changed)
        seen = set(start)
        queue = deque(start)
        while queue and len(seen) < limit:
            ref = queue.popleft()
            for other in self.neighbours(ref, hub=ref in start):
                if other not in seen:
                    seen.add(other)
                    if role_of(other) != "gateway":
                        queue.append(other)
        return seen

    def __contains__(self, ref: ObjectRef) -> bool:
        return ref in self._index
