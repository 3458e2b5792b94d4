"""Reports: a namespace's results in PolicyReports (or Reports), kept in step with the evaluations.

Results are kept per object; an evaluation replaces its objects' results, and a namespace whose
results changed is written again, apart from the condition writes: its reports hold a whole
namespace and can be large, so they are written at most every `report_interval` seconds, with
everything that changed meanwhile. A namespace's results are split over as many reports as
their size needs (`shards.plan`); only the reports whose results changed are written, new and
changed ones before the ones no longer needed are deleted, so no result is ever missing from
the cluster's reports meanwhile. After a restart the reports are read back first, so an
unchanged cluster gets no write, and findings they list are not announced again by Events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from socketguard.cluster import metrics
from socketguard.cluster.feed import Feed
from socketguard.cluster.kube import API_ERRORS, Kube, KubeError, collection_path, transient
from socketguard.cluster.retry import rounds
from socketguard.controller.evaluate import Evaluation
from socketguard.controller.settings import Settings
from socketguard.controller.shards import Layout, ObjectKey, ResultKey, is_shard_name, plan, results_bytes
from socketguard.controller.verdict import finding_result, pass_result, result_key, same_result
from socketguard.controller.writers import MANAGED_SELECTOR, REPORT_KINDS, SHARDS_ANNOTATION, ReportKind, Writers
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

ObjectResults = dict[ResultKey, dict[str, Any]]


@dataclass(frozen=True)
class Written:
    """One report as last written or read: the namespace's bucket count then, and its results."""

    shards: int
    results: list[dict[str, Any]]


def refused_as_too_large(error: BaseException) -> bool:
    """The API server's answer to a body over its limit (413), or etcd's to an object over its
    own (a 500 that asking again will not change)."""
    return isinstance(error, KubeError) and (error.status == 413 or any(
        text in str(error) for text in ("request is too large", "trying to send message larger than max")))


class Reports:
    def __init__(self, feed: Feed, kube: Kube, writers: Writers, settings: Settings) -> None:
        self.feed = feed
        self.kube = kube
        self.writers = writers
        self.settings = settings
        # namespace -> (kind, name) -> that object's results, and their size in a report
        self.results: dict[str, dict[ObjectKey, ObjectResults]] = defaultdict(dict)
        self.sizes: dict[str, dict[ObjectKey, int]] = defaultdict(dict)
        self.written: dict[str, dict[str, Written]] = defaultdict(dict)  # namespace -> report name -> report
        self.shards: dict[str, int] = {}  # namespace -> bucket count of its last layout
        self.pending: set[str] = set()
        self._due = asyncio.Event()

    # -- bookkeeping ---------------------------------------------------------------------------
    def record(self, evaluation: Evaluation) -> set[str]:
        """Takes in `evaluation`'s results; returns the namespaces whose report changed."""
        stamp = int(time.time())
        touched: set[str] = set()
        for ref in evaluation.evaluated:
            if not ref.namespace or not self.settings.in_scope(ref):
                continue
            table = self.results[ref.namespace]
            old = table.get((ref.kind, ref.name), {})
            new = self._results_for(ref, evaluation, old, stamp)
            if set(old) != set(new) or any(not same_result(old[k], new[k]) for k in new):
                self._store(ref.namespace, (ref.kind, ref.name), new)
                touched.add(ref.namespace)
        return touched

    def _store(self, namespace: str, key: ObjectKey, results: ObjectResults) -> None:
        if results:
            self.results[namespace][key] = results
            self.sizes[namespace][key] = results_bytes(results.values())
        else:
            self.results[namespace].pop(key, None)
            self.sizes[namespace].pop(key, None)

    def _results_for(self, ref: ObjectRef, evaluation: Evaluation, old: Mapping[ResultKey, dict[str, Any]],
                     stamp: int) -> ObjectResults:
        if ref not in self.feed.inventory:
            return {}
        observed = self.feed.observed.get(ref)
        uid = observed.uid if observed else None
        new: ObjectResults = {}
        # Findings with one key (one per event name, say) make one result: the first, and a count.
        for finding in evaluation.by_subject.get(ref, ()):
            result = finding_result(finding, uid, stamp)
            key = result_key(result)
            if key in new:
                new[key]["properties"]["count"] = str(int(new[key]["properties"].get("count", "1")) + 1)
            else:
                new[key] = result
        if ref in evaluation.clean:
            result = pass_result(ref, uid, stamp)
            new[result_key(result)] = result
        if ref not in evaluation.servers and ref not in evaluation.conditions:
            return new  # not (or no longer) a server or route: only its current findings stay
        for key, previous in old.items():
            if key not in new and previous.get("result") in ("fail", "warn") and key[0].startswith("SG"):
                cleared = pass_result(ref, uid, stamp, policy=str(previous.get("policy")),
                                      rule=str(previous.get("rule")), message="no longer found")
                cleared["properties"] = dict(previous.get("properties") or {})
                new[key] = cleared
            elif key not in new and previous.get("result") == "pass" and key[0].startswith("SG"):
                new[key] = previous
        for key, result in new.items():
            if key in old and same_result(old[key], result):
                new[key] = old[key]  # keeps the timestamp of the last change
        return new

    # -- writing -------------------------------------------------------------------------------
    def schedule(self, namespaces: set[str]) -> None:
        if namespaces:
            self.pending |= namespaces
            self._due.set()

    async def run(self) -> None:
        await rounds(self._round, self._due)

    async def _round(self) -> bool:
        await asyncio.sleep(self.settings.report_interval)
        self._due.clear()
        due, self.pending = self.pending, set()
        await self._write(due)
        return bool(self.pending)

    def kind(self) -> ReportKind | None:
        for candidate in REPORT_KINDS:
            if self.feed.has_kind(candidate[0], candidate[1]):
                return candidate
        return None

    def layout(self, namespace: str) -> Layout:
        return plan(self.results.get(namespace, {}), self.sizes.get(namespace, {}), self.shards.get(namespace, 1))

    async def _write(self, namespaces: set[str]) -> None:
        kind = self.kind()
        if kind is None:
            return
        for namespace in sorted(namespaces):
            try:
                await self._write_layout(kind, namespace, self.layout(namespace))
            except API_ERRORS as error:
                metrics.WRITE_ERRORS.labels(what="report").inc()
                if refused_as_too_large(error):  # not retried: the next change in the namespace tries again
                    log.error("a report in %s was refused as too large: %s", namespace, error)
                    continue
                log.warning("report in %s not written: %s", namespace, error)
                if transient(error):
                    self.pending.add(namespace)
                continue
            self.pending.discard(namespace)

    async def _write_layout(self, kind: ReportKind, namespace: str, layout: Layout) -> None:
        """Writes the reports whose results changed, then deletes the ones no longer needed."""
        written = self.written[namespace]
        for shard in layout.shards:
            wanted = Written(layout.count, shard.results)
            if written.get(shard.name) != wanted:
                await self.writers.write_report(kind, namespace, shard.name, shard.results, layout.count,
                                                shard.name in written)
                written[shard.name] = wanted
        for name in sorted(set(written) - {shard.name for shard in layout.shards}):
            await self.writers.delete_report(kind, namespace, name)
            del written[name]
        self.shards[namespace] = layout.count

    # -- read-back after a restart -------------------------------------------------------------
    async def read_back(self, namespace: str | None) -> set[str]:
        """Our reports as the cluster holds them (`namespace` None: all); returns the ids of the
        findings they list as failing or warning. A namespace whose reports are not what the
        layout of their results would write (a restart in the middle of writing them) is due."""
        kind = self.kind()
        if kind is None:
            return set()
        try:
            reports = await self.kube.list_all(collection_path(kind[2], kind[3], namespace),
                                               {"labelSelector": MANAGED_SELECTOR})
        except KubeError as error:
            log.warning("could not read back reports: %s", error)
            return set()
        reported: set[str] = set()
        read: dict[str, dict[ObjectKey, ObjectResults]] = defaultdict(dict)
        for report in reports:
            meta = report.get("metadata") or {}
            if not is_shard_name(str(meta.get("name"))):
                continue
            ns = str(meta.get("namespace"))
            results = sorted((r for r in report.get("results") or [] if isinstance(r, dict)), key=result_key)
            shards = _shard_count(meta)
            self.written[ns][str(meta["name"])] = Written(shards, results)
            self.shards[ns] = max(self.shards.get(ns, 1), shards)
            for result in results:
                key = result_key(result)
                read[ns].setdefault((key[1], key[2]), {})[key] = result
                ident = (result.get("properties") or {}).get("id")
                if ident and result.get("result") in ("fail", "warn"):
                    reported.add(str(ident))
        for ns, objects in read.items():
            for object_key, by_key in objects.items():
                self._store(ns, object_key, by_key)
            layout = self.layout(ns)
            if {s.name: Written(layout.count, s.results) for s in layout.shards} != self.written[ns]:
                self.schedule({ns})
        return reported


def _shard_count(meta: Mapping[str, Any]) -> int:
    """The bucket count a report was written for (1 for a report written before reports were split)."""
    text = str((meta.get("annotations") or {}).get(SHARDS_ANNOTATION, "1"))
    return int(text) if text.isdigit() and int(text) > 0 else 1
