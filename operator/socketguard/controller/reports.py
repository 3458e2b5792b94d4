"""Reports: one PolicyReport (or Report) per namespace, kept in step with the evaluations.

Results are kept per object; an evaluation replaces its objects' results, and a namespace whose
results changed is written again, apart from the condition writes: a report holds a whole
namespace and can be large, so it is written at most every `report_interval` seconds, with
everything that changed meanwhile. After a restart the reports are read back first, so an
unchanged cluster gets no write, and findings they list are not announced again by Events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from socketguard.cluster import metrics
from socketguard.cluster.feed import Feed
from socketguard.cluster.kube import API_ERRORS, Kube, KubeError, collection_path, transient
from socketguard.cluster.retry import rounds
from socketguard.controller.evaluate import Evaluation
from socketguard.controller.settings import Settings
from socketguard.controller.verdict import finding_result, pass_result, result_key, same_result
from socketguard.controller.writers import MANAGED_SELECTOR, REPORT_KINDS, REPORT_NAME, Writers
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

ResultKey = tuple[str, str, str, str]  # policy, kind, name, field path
ObjectResults = dict[ResultKey, dict[str, Any]]


class Reports:
    def __init__(self, feed: Feed, kube: Kube, writers: Writers, settings: Settings) -> None:
        self.feed = feed
        self.kube = kube
        self.writers = writers
        self.settings = settings
        # namespace -> (kind, name) -> that object's results
        self.results: dict[str, dict[tuple[str, str], ObjectResults]] = defaultdict(dict)
        self.exists: set[str] = set()  # namespaces that have our report
        self.written: dict[str, list[dict[str, Any]]] = {}  # by namespace, as last written or read
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
                if new:
                    table[(ref.kind, ref.name)] = new
                else:
                    table.pop((ref.kind, ref.name), None)
                touched.add(ref.namespace)
        return touched

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

    def kind(self) -> tuple[str, str, str, str] | None:
        for candidate in REPORT_KINDS:
            if self.feed.has_kind(candidate[0], candidate[1]):
                return candidate
        return None

    async def _write(self, namespaces: set[str]) -> None:
        kind = self.kind()
        if kind is None:
            return
        for namespace in sorted(namespaces):
            results = sorted((r for by_key in self.results.get(namespace, {}).values() for r in by_key.values()),
                             key=lambda r: result_key(r))
            if self._unchanged(namespace, results):
                continue
            try:
                await self.writers.write_report(kind, namespace, results, namespace in self.exists)
            except API_ERRORS as error:
                log.warning("report in %s not written: %s", namespace, error)
                metrics.WRITE_ERRORS.labels(what="report").inc()
                if transient(error):
                    self.pending.add(namespace)
                continue
            self.pending.discard(namespace)
            self.written[namespace] = results
            if results:
                self.exists.add(namespace)
            else:
                self.exists.discard(namespace)

    def _unchanged(self, namespace: str, results: list[dict[str, Any]]) -> bool:
        written = self.written.get(namespace)
        return written is not None and len(written) == len(results) and all(
            same_result(a, b) and a.get("timestamp") == b.get("timestamp")
            for a, b in zip(written, results, strict=True))

    # -- read-back after a restart -------------------------------------------------------------
    async def read_back(self, namespace: str | None) -> set[str]:
        """Our reports as the cluster holds them (`namespace` None: all); returns the ids of the
        findings they list as failing or warning."""
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
        for report in reports:
            meta = report.get("metadata") or {}
            if meta.get("name") != REPORT_NAME:
                continue
            ns = str(meta.get("namespace"))
            self.exists.add(ns)
            results = [r for r in report.get("results") or [] if isinstance(r, dict)]
            self.written[ns] = sorted(results, key=lambda r: result_key(r))
            for result in results:
                key = result_key(result)
                self.results[ns].setdefault((key[1], key[2]), {})[key] = result
                ident = (result.get("properties") or {}).get("id")
                if ident and result.get("result") in ("fail", "warn"):
                    reported.add(str(ident))
        return reported
