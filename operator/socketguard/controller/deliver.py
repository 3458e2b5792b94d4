"""Delivery: an evaluation's verdicts -> the writes the cluster is missing.

Conditions are compared with what each object shows; a Warning Event is posted once per
finding and object (Events already in the cluster are read back after a restart, and findings
a report already lists count as told); a Normal Event marks a condition turning True; a
Deployment the webhook held is resumed when no error holds it any more.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from socketguard.cluster.feed import Feed, Observed
from socketguard.cluster.kube import Kube, KubeError, collection_path
from socketguard.controller.evaluate import Evaluation
from socketguard.controller.settings import Settings
from socketguard.controller.verdict import OK_REASON, Condition, event_message, event_targets, finding_id
from socketguard.controller.writers import FINDING_ANNOTATION, MANAGED_SELECTOR, Writers
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

PostedKey = tuple[str, str, str, str]  # finding id, involved kind, namespace, name


class Delivery:
    def __init__(self, feed: Feed, kube: Kube, writers: Writers, settings: Settings) -> None:
        self.feed = feed
        self.kube = kube
        self.writers = writers
        self.settings = settings
        self.posted: set[PostedKey] = set()
        self.reported_ids: set[str] = set()  # failing or warning in a report at start-up: told already

    def writes(self, evaluation: Evaluation, previous: Mapping[ObjectRef, list[Finding]]) -> list[Awaitable[None]]:
        """The writes `evaluation` needs; `previous` holds the last findings by subject (to forget
        Events of findings that cleared, so they are posted again if they come back)."""
        return [*self._condition_writes(evaluation), *self._event_writes(evaluation, previous),
                *(self.writers.resume_held(ref) for ref in sorted(evaluation.resumable))]

    # -- conditions ----------------------------------------------------------------------------
    def _condition_writes(self, evaluation: Evaluation) -> Iterable[Awaitable[None]]:
        for ref in evaluation.evaluated:
            observed = self.feed.observed.get(ref)
            if observed is None or not self.settings.in_scope(ref):
                continue
            wanted = evaluation.conditions.get(ref)
            if wanted is not None:
                view = self.feed.inventory.raw(ref) or {}
                generation = (view.get("metadata") or {}).get("generation")
                if not wanted.matches(observed.condition, generation):
                    yield self._write_condition(ref, observed, wanted, generation)
            elif observed.condition is not None:
                yield self._remove_condition(ref, observed)

    async def _write_condition(self, ref: ObjectRef, observed: Observed, wanted: Condition,
                               generation: int | None) -> None:
        before = (observed.condition or {}).get("status")
        updated = await self.writers.upsert_condition(ref, observed, wanted, generation)
        if updated is None:
            return
        self._remember(ref, updated)
        if wanted.status == "True" and before in ("False", "Unknown"):
            await self.writers.post_event(ref, observed.uid, kind="Normal", reason=OK_REASON,
                                          message="SocketRouteReady is True: " + wanted.message)

    async def _remove_condition(self, ref: ObjectRef, observed: Observed) -> None:
        updated = await self.writers.remove_condition(ref, observed)
        if updated is not None:
            self._remember(ref, updated)

    def _remember(self, ref: ObjectRef, updated: Observed) -> None:
        """What our write left on the object, unless the object was deleted (and maybe created
        again under the same name) while the write was under way: the new one has not our condition."""
        current = self.feed.observed.get(ref)
        if current is not None and current.uid == updated.uid:
            self.feed.observed[ref] = updated

    # -- Events --------------------------------------------------------------------------------
    def _event_writes(self, evaluation: Evaluation,
                      previous: Mapping[ObjectRef, list[Finding]]) -> list[Awaitable[None]]:
        writes: list[Awaitable[None]] = []
        current: set[str] = set()
        scheduled: set[PostedKey] = set()
        for ref in evaluation.evaluated:
            for finding in evaluation.by_subject.get(ref, ()):
                ident = finding_id(finding)
                current.add(ident)
                if ident in self.reported_ids or finding.severity < Severity.WARNING:
                    continue
                for target in event_targets(finding, evaluation.servers):
                    key = (ident, target.kind, target.namespace, target.name)
                    observed = self.feed.observed.get(target)
                    if key in self.posted or key in scheduled or observed is None or not self.settings.in_scope(target):
                        continue
                    scheduled.add(key)
                    writes.append(self._post_warning(key, target, observed.uid, finding))
        # A finding that cleared may come back later: it then deserves a new Event.
        for ref in evaluation.evaluated:
            for finding in previous.get(ref, ()):
                ident = finding_id(finding)
                if ident not in current:
                    self.reported_ids.discard(ident)
                    self.posted = {key for key in self.posted if key[0] != ident}
        return writes

    async def _post_warning(self, key: PostedKey, target: ObjectRef, uid: str, finding: Finding) -> None:
        await self.writers.post_event(target, uid, kind="Warning", reason=finding.reason,
                                      message=event_message(finding), finding_id=key[0])
        self.posted.add(key)

    async def read_back(self, namespace: str | None) -> None:
        """Our Events as the cluster holds them (`namespace` None: all), so none is posted twice."""
        try:
            events = await self.kube.list_all(collection_path("v1", "events", namespace),
                                              {"labelSelector": MANAGED_SELECTOR})
        except KubeError as error:
            log.warning("could not read back Events: %s", error)
            return
        for event in events:
            ident = ((event.get("metadata") or {}).get("annotations") or {}).get(FINDING_ANNOTATION)
            involved: dict[str, Any] = event.get("involvedObject") or {}
            if ident:
                self.posted.add((ident, str(involved.get("kind")), str(involved.get("namespace")),
                                 str(involved.get("name"))))
