"""The debounced loop: changed objects -> the part of the cluster they touch -> verdicts -> writes.

Stages, each in its own module: `evaluate` (units and their verdicts, one engine run per unit),
`deliver` (conditions, Events, resumes: only what the cluster does not show yet) and `reports`
(PolicyReports, written apart on their own interval). This module takes the changes in from the
feed, batches them, drives the stages and retries, with the one backoff, what failed. After a
restart, Events and reports are read back first, so an unchanged cluster gets no write at all.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any

from socketguard.cluster import metrics
from socketguard.cluster.feed import GLOBAL_CHANGE, Feed
from socketguard.cluster.kube import API_ERRORS, Kube, transient
from socketguard.cluster.retry import rounds, until_done
from socketguard.controller.deliver import Delivery
from socketguard.controller.evaluate import Evaluation, Evaluator
from socketguard.controller.relations import Relations
from socketguard.controller.reports import Reports
from socketguard.controller.settings import Settings
from socketguard.controller.writers import Writers
from socketguard.engine.findings import Finding
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)


WRITERS = 32  # writes under way at once: twice the API client's connections, so none waits idle


async def run_bounded(jobs: Sequence[Awaitable[object]], limit: int) -> list[Exception]:
    """Awaits `jobs`, at most `limit` at a time; returns their errors (their results are dropped).

    Not one task per job: a round after a restart has a write for each of tens of thousands of
    objects, and their tasks and responses all at once left the heap fragmented (measured: 70 MiB
    of resident memory that stayed after the round)."""
    pending = iter(jobs)
    failed: list[Exception] = []

    async def worker() -> None:
        for job in pending:
            try:
                await job
            except Exception as error:  # one failed write must not stop the others
                failed.append(error)

    try:
        await asyncio.gather(*(worker() for _ in range(min(limit, len(jobs)))))
    finally:
        for job in pending:  # cancelled: never started, closed so none warns that it was not awaited
            if inspect.iscoroutine(job):
                job.close()
    return failed


class Reconciler:
    def __init__(self, feed: Feed, kube: Kube, writers: Writers, settings: Settings | None = None) -> None:
        self.feed = feed
        self.settings = settings or Settings()
        self.relations = Relations()
        self.evaluator = Evaluator(feed, self.relations, self.settings)
        self.delivery = Delivery(feed, kube, writers, self.settings)
        self.reports = Reports(feed, kube, writers, self.settings)
        self.findings: dict[ObjectRef, list[Finding]] = {}  # by subject, as last delivered
        self.dirty: set[ObjectRef] = set()
        self.full = True
        self.changes = 0
        self.first_done = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._ready = asyncio.Event()
        feed.listeners.append(self._changed)
        feed.on_ready.append(self._ready.set)
        for entry in feed.inventory.entries():
            self.relations.update(entry.ref, entry.raw)

    # -- change intake (synchronous, from the feed's handlers) --------------------------------------
    def _changed(self, ref: ObjectRef, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if ref == GLOBAL_CHANGE:
            self.full = True
        else:
            if old is not None:
                self.dirty |= self.relations.neighbours(ref, hub=True)
            self.relations.update(ref, new)
            self.dirty.add(ref)
        self.changes += 1
        self._wakeup.set()

    def refresh(self, refs: set[ObjectRef]) -> None:
        """Re-evaluates `refs` although no object changed (their extra findings did)."""
        self.dirty |= refs
        self.changes += 1
        self._wakeup.set()

    @property
    def ready(self) -> bool:
        return self.first_done.is_set()

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        await self._ready.wait()
        await until_done(self.read_back, API_ERRORS, "reading back Events and reports")
        reports = asyncio.create_task(self.reports.run(), name="socketguard reports")
        self._wakeup.set()  # the first round evaluates everything
        try:
            await rounds(self._round, self._wakeup)
        finally:
            reports.cancel()

    async def _round(self) -> bool:
        """One batch; True when something is left to do (a write failed: API server restarting, ...)."""
        await self._settle()
        try:
            await self.reconcile_pending()
        except Exception:  # one bad evaluation must not stop the operator
            log.exception("evaluation failed")
            self.full = True
        self.first_done.set()
        metrics.READY.set(1)
        return bool(self.dirty or self.full)

    async def _settle(self) -> None:
        """Waits until changes stop for `debounce` seconds (at most `max_delay`), batching an apply."""
        started = time.monotonic()
        while True:
            seen = self.changes
            await asyncio.sleep(self.settings.debounce)
            if seen == self.changes or time.monotonic() - started >= self.settings.max_delay:
                return

    async def reconcile_pending(self) -> None:
        self._wakeup.clear()
        if self.full:
            self.full = False
            self.dirty.clear()
            changed: set[ObjectRef] = {e.ref for e in self.feed.inventory.entries()} | set(self.findings)
        else:
            changed, self.dirty = self.dirty, set()
        if not changed:
            return
        evaluations = []
        for unit in self.evaluator.units(changed):
            evaluations.append(self.evaluator.evaluate(unit))
            await asyncio.sleep(0)  # lets the watch streams in between the parts of a big batch
        await self.deliver(evaluations)

    async def deliver(self, evaluations: list[Evaluation]) -> None:
        writes = []
        touched_namespaces: set[str] = set()
        for evaluation in evaluations:
            writes.extend(self.delivery.writes(evaluation, self.findings))
            touched_namespaces |= self.reports.record(evaluation)
            for ref in evaluation.evaluated:
                if evaluation.by_subject.get(ref):
                    self.findings[ref] = evaluation.by_subject[ref]
                else:
                    self.findings.pop(ref, None)
        failed = await run_bounded(writes, WRITERS)
        for error in failed:
            log.warning("write failed: %s", error)
            metrics.WRITE_ERRORS.labels(what="object").inc()
        if any(transient(error) for error in failed):  # the next round compares again, writes what is missing
            for evaluation in evaluations:
                self.dirty |= evaluation.evaluated
        self.reports.schedule(touched_namespaces)
        self._update_gauges()

    def _update_gauges(self) -> None:
        counts = Counter((f.code, f.severity.label) for fs in self.findings.values() for f in fs)
        metrics.FINDINGS.clear()
        for (code, severity), count in counts.items():
            metrics.FINDINGS.labels(code=code, severity=severity).set(count)
        metrics.INVENTORY_OBJECTS.set(len(self.feed.inventory))

    # -- read-back after a restart -------------------------------------------------------------
    async def read_back(self) -> None:
        """Our Events and reports as the cluster holds them, so nothing is posted twice."""
        for namespace in self._list_namespaces():
            await self.delivery.read_back(namespace)
            self.delivery.reported_ids |= await self.reports.read_back(namespace)

    def _list_namespaces(self) -> list[str | None]:
        if self.settings.namespaces:
            return [*sorted(self.settings.namespaces)]
        return [None]
