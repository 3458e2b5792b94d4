"""The debounced loop: changed objects -> the part of the cluster they touch -> verdicts -> writes.

Each evaluation runs the engine on a small inventory holding one connected part of the cluster
(a route, its Services, their workloads, the clients of its hosts, ...), so a change costs in
proportion to what it touches, not to the cluster. Every write is preceded by a comparison
with what the cluster already shows; after a restart, Events and reports are read back first,
so an unchanged cluster gets no write at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from socketguard.cluster import metrics
from socketguard.cluster.feed import GLOBAL_CHANGE, Feed, Observed
from socketguard.cluster.kube import Kube, KubeError, collection_path
from socketguard.controller.relations import Relations
from socketguard.controller.verdict import (
    OK_REASON,
    Condition,
    applies_to,
    condition_for,
    event_message,
    event_targets,
    finding_id,
    finding_result,
    pass_result,
    result_key,
    same_result,
)
from socketguard.controller.writers import (
    FINDING_ANNOTATION,
    HELD_ANNOTATION,
    MANAGED_SELECTOR,
    REPORT_KINDS,
    REPORT_NAME,
    Writers,
)
from socketguard.engine.analysis import analyze
from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

RETRY_MIN = 1.0
RETRY_MAX = 30.0
PostedKey = tuple[str, str, str, str]  # finding id, involved kind, namespace, name
ResultKey = tuple[str, str, str, str]


@dataclass
class Unit:
    """One connected part of the cluster: `objects` go into the engine, `evaluated` get verdicts."""

    objects: set[ObjectRef]
    evaluated: set[ObjectRef]


@dataclass
class Outcome:
    """Verdicts of one unit, before comparison with the cluster."""

    findings: list[Finding]
    by_subject: dict[ObjectRef, list[Finding]]
    conditions: dict[ObjectRef, Condition]
    servers: set[ObjectRef]
    clean: set[ObjectRef]
    evaluated: set[ObjectRef]


@dataclass
class Settings:
    debounce: float = 0.3
    max_delay: float = 2.0
    report_interval: float = 1.0
    namespaces: frozenset[str] = frozenset()  # empty: all


@dataclass
class State:
    findings: dict[ObjectRef, list[Finding]] = field(default_factory=dict)  # by subject
    posted: set[PostedKey] = field(default_factory=set)
    reported_ids: set[str] = field(default_factory=set)  # found in reports at start-up
    # namespace -> (kind, name) -> that object's results
    results: dict[str, dict[tuple[str, str], dict[ResultKey, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(dict))
    report_exists: set[str] = field(default_factory=set)
    written_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def transient(error: BaseException) -> bool:
    """Worth retrying: the API server was unreachable or overloaded. A 404 (object or namespace
    gone), 403 or 422 will not change by asking again; the next change re-evaluates anyway."""
    if isinstance(error, KubeError):
        return error.status >= 500 or error.status in (409, 429)
    return isinstance(error, OSError | aiohttp.ClientError | asyncio.TimeoutError)


class Reconciler:
    def __init__(self, feed: Feed, kube: Kube, writers: Writers, settings: Settings | None = None) -> None:
        self.feed = feed
        self.kube = kube
        self.writers = writers
        self.settings = settings or Settings()
        self.relations = Relations()
        self.state = State()
        self.dirty: set[ObjectRef] = set()
        self.full = True
        self.changes = 0
        self.pending_reports: set[str] = set()
        self.first_done = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._ready = asyncio.Event()
        self._reports_due = asyncio.Event()
        # Findings from outside the engine (live probes, SG601), by workload: merged into its verdict.
        self.extra_findings: Mapping[ObjectRef, list[Finding]] = {}
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

    def in_scope(self, ref: ObjectRef) -> bool:
        return not self.settings.namespaces or ref.namespace in self.settings.namespaces

    @property
    def ready(self) -> bool:
        return self.first_done.is_set()

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        await self._ready.wait()
        await self._read_back_until_done()
        reports = asyncio.create_task(self._report_loop(), name="socketguard reports")
        try:
            await self._loop()
        finally:
            reports.cancel()

    async def _loop(self) -> None:
        backoff = RETRY_MIN
        while True:
            await self._settle()
            try:
                await self.reconcile_pending()
            except Exception:  # one bad evaluation must not stop the operator
                log.exception("evaluation failed")
                self.full = True
            self.first_done.set()
            metrics.READY.set(1)
            if self.dirty or self.full:
                # Some write failed (API server restarting, ...): try again, a little later each time.
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX)
                self._wakeup.set()
                continue
            backoff = RETRY_MIN
            await self._wakeup.wait()

    async def _read_back_until_done(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                await self.read_back()
                return
            except (KubeError, OSError, aiohttp.ClientError) as error:
                log.warning("reading back Events and reports failed, retrying: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

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
            changed: set[ObjectRef] = {e.ref for e in self.feed.inventory.entries()} | set(self.state.findings)
        else:
            changed, self.dirty = self.dirty, set()
        if not changed:
            return
        outcomes = []
        for unit in self.units(changed):
            outcomes.append(self.evaluate(unit))
            await asyncio.sleep(0)  # lets the watch streams in between the parts of a big batch
        await self.deliver(outcomes)

    # -- evaluation ----------------------------------------------------------------------------
    def units(self, changed: set[ObjectRef]) -> list[Unit]:
        """Splits the touched part into independent pieces (the engine's cost grows with size)."""
        units: list[Unit] = []
        covered: set[ObjectRef] = set()
        # Changed Gateways first: their units take in all their routes, which then need no other.
        for start in sorted(changed, key=lambda r: (r.kind != "Gateway", r)):
            if start in covered:
                continue
            objects = self.relations.affected([start]) | {start}
            # A Gateway is context for its routes; only a changed Gateway gets verdicts of its own.
            evaluated = {r for r in objects if r.kind != "Gateway"} | ({start} if start.kind == "Gateway" else set())
            evaluated -= covered
            covered |= evaluated
            units.append(Unit(objects, evaluated))
        return units

    def evaluate(self, unit: Unit) -> Outcome:
        began = time.perf_counter()
        inventory = Inventory()
        for ref in unit.objects:
            raw = self.feed.inventory.raw(ref)
            if raw is not None:
                inventory.add(raw)
        present = {ref for ref in unit.evaluated if ref in inventory}
        findings = analyze(inventory, scope=present) if present else []
        findings += [f for ref in sorted(present) for f in self.extra_findings.get(ref, ())]
        traces = Context(inventory).traces if present else None
        servers = set(traces.servers) if traces else set()
        annotated = {ref for ref in servers if traces and ref not in traces.inferred}
        routes = self._routes_to(traces, annotated) if traces else set()
        routing_known = self.feed.istio_installed
        conditions = {ref: condition_for(ref, findings, routing_known=routing_known or ref.kind == "VirtualService")
                      for ref in (annotated | routes) & present if self.in_scope(ref)}
        by_subject: dict[ObjectRef, list[Finding]] = {ref: [] for ref in unit.evaluated}
        for finding in findings:
            if finding.subject in by_subject:
                by_subject[finding.subject].append(finding)
        clean = {ref for ref in (servers | routes) & present
                 if not any(f.severity >= Severity.WARNING for f in findings if applies_to(f, ref))}
        metrics.EVALUATIONS.inc()
        metrics.EVALUATED_OBJECTS.inc(len(unit.evaluated))
        metrics.EVALUATION_SECONDS.observe(time.perf_counter() - began)
        return Outcome(findings, by_subject, conditions, servers & present, clean, unit.evaluated)

    @staticmethod
    def _routes_to(traces: Any, annotated: set[ObjectRef]) -> set[ObjectRef]:
        routes: set[ObjectRef] = set()
        for trace in traces.traces:
            if not any(d.workload in annotated for d in trace.deliveries):
                continue
            for hop in (trace.origin, trace.hop):
                if hop is not None and hop.route.kind == "VirtualService":
                    routes.add(hop.route)
        return routes

    # -- delivery ------------------------------------------------------------------------------
    async def deliver(self, outcomes: list[Outcome]) -> None:
        touched_namespaces: set[str] = set()
        tasks: list[Any] = []
        for outcome in outcomes:
            tasks.extend(self._condition_writes(outcome))
            tasks.extend(self._event_writes(outcome))
            tasks.extend(self._resumes(outcome))
            touched_namespaces |= self._update_results(outcome)
            for ref in outcome.evaluated:
                if outcome.by_subject.get(ref):
                    self.state.findings[ref] = outcome.by_subject[ref]
                else:
                    self.state.findings.pop(ref, None)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        for error in failed:
            log.warning("write failed: %s", error)
            metrics.WRITE_ERRORS.labels(what="object").inc()
        if any(transient(error) for error in failed):  # the next round compares again, writes what is missing
            for outcome in outcomes:
                self.dirty |= outcome.evaluated
        if touched_namespaces:
            self.pending_reports |= touched_namespaces
            self._reports_due.set()
        self._update_gauges()

    def _condition_writes(self, outcome: Outcome) -> Iterable[Any]:
        for ref in outcome.evaluated:
            observed = self.feed.observed.get(ref)
            if observed is None or not self.in_scope(ref):
                continue
            wanted = outcome.conditions.get(ref)
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
        self.feed.observed[ref] = updated
        if wanted.status == "True" and before in ("False", "Unknown"):
            await self.writers.post_event(ref, observed.uid, kind="Normal", reason=OK_REASON,
                                          message="SocketRouteReady is True: " + wanted.message)

    async def _remove_condition(self, ref: ObjectRef, observed: Observed) -> None:
        updated = await self.writers.remove_condition(ref, observed)
        if updated is not None:
            self.feed.observed[ref] = updated

    async def _post_warning(self, key: PostedKey, target: ObjectRef, uid: str, finding: Finding) -> None:
        await self.writers.post_event(target, uid, kind="Warning", reason=finding.reason,
                                      message=event_message(finding), finding_id=key[0])
        self.state.posted.add(key)

    def _event_writes(self, outcome: Outcome) -> Iterable[Any]:
        current: set[str] = set()
        scheduled: set[PostedKey] = set()
        for ref in outcome.evaluated:
            for finding in outcome.by_subject.get(ref, ()):
                ident = finding_id(finding)
                current.add(ident)
                if ident in self.state.reported_ids or finding.severity < Severity.WARNING:
                    continue
                for target in event_targets(finding, outcome.servers):
                    key = (ident, target.kind, target.namespace, target.name)
                    observed = self.feed.observed.get(target)
                    if key in self.state.posted or key in scheduled or observed is None or not self.in_scope(target):
                        continue
                    scheduled.add(key)
                    yield self._post_warning(key, target, observed.uid, finding)
        # A finding that cleared may come back later: it then deserves a new Event.
        for ref in outcome.evaluated:
            for finding in self.state.findings.get(ref, ()):
                ident = finding_id(finding)
                if ident not in current:
                    self.state.reported_ids.discard(ident)
                    self.state.posted = {key for key in self.state.posted if key[0] != ident}

    def _resumes(self, outcome: Outcome) -> Iterable[Any]:
        for ref in outcome.evaluated:
            if ref.kind != "Deployment" or not self.in_scope(ref):
                continue
            raw = self.feed.inventory.raw(ref) or {}
            annotations = (raw.get("metadata") or {}).get("annotations") or {}
            paused = (raw.get("spec") or {}).get("paused") is True
            if HELD_ANNOTATION not in annotations or not paused:
                continue
            if any(f.severity == Severity.ERROR and applies_to(f, ref) for f in outcome.findings):
                continue
            yield self.writers.resume_held(ref)

    # -- reports -------------------------------------------------------------------------------
    def _update_results(self, outcome: Outcome) -> set[str]:
        stamp = int(time.time())
        touched: set[str] = set()
        for ref in outcome.evaluated:
            if not ref.namespace or not self.in_scope(ref):
                continue
            table = self.state.results[ref.namespace]
            old = table.get((ref.kind, ref.name), {})
            new = self._results_for(ref, outcome, old, stamp)
            if set(old) != set(new) or any(not same_result(old[k], new[k]) for k in new):
                if new:
                    table[(ref.kind, ref.name)] = new
                else:
                    table.pop((ref.kind, ref.name), None)
                touched.add(ref.namespace)
        return touched

    def _results_for(self, ref: ObjectRef, outcome: Outcome, old: Mapping[ResultKey, dict[str, Any]],
                     stamp: int) -> dict[ResultKey, dict[str, Any]]:
        if ref not in self.feed.inventory:
            return {}
        observed = self.feed.observed.get(ref)
        uid = observed.uid if observed else None
        new: dict[ResultKey, dict[str, Any]] = {}
        # Findings with one key (one per event name, say) make one result: the first, and a count.
        for finding in outcome.by_subject.get(ref, ()):
            result = finding_result(finding, uid, stamp)
            key = result_key(result)
            if key in new:
                new[key]["properties"]["count"] = str(int(new[key]["properties"].get("count", "1")) + 1)
            else:
                new[key] = result
        if ref in outcome.clean:
            result = pass_result(ref, uid, stamp)
            new[result_key(result)] = result
        if ref not in outcome.servers and ref not in outcome.conditions:
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

    def report_kind(self) -> tuple[str, str, str, str] | None:
        for candidate in REPORT_KINDS:
            if self.feed.has_kind(candidate[0], candidate[1]):
                return candidate
        return None

    async def _report_loop(self) -> None:
        """Writes reports apart from conditions: a report holds a whole namespace and can be large,
        so it is written at most every `report_interval` seconds, with everything that changed."""
        backoff = RETRY_MIN
        while True:
            await self._reports_due.wait()
            await asyncio.sleep(self.settings.report_interval)
            self._reports_due.clear()
            due, self.pending_reports = self.pending_reports, set()
            await self._write_reports(due)
            if self.pending_reports:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX)
                self._reports_due.set()
            else:
                backoff = RETRY_MIN

    async def _write_reports(self, namespaces: set[str]) -> None:
        kind = self.report_kind()
        if kind is None:
            return
        for namespace in sorted(namespaces):
            results = sorted((r for by_key in self.state.results.get(namespace, {}).values() for r in by_key.values()),
                             key=lambda r: result_key(r))
            written = self.state.written_results.get(namespace)
            if written is not None and len(written) == len(results) and all(
                    same_result(a, b) and a.get("timestamp") == b.get("timestamp") for a, b in zip(written, results,
                                                                                               strict=True)):
                continue
            try:
                await self.writers.write_report(kind, namespace, results, namespace in self.state.report_exists)
            except (KubeError, OSError, aiohttp.ClientError) as error:
                log.warning("report in %s not written: %s", namespace, error)
                metrics.WRITE_ERRORS.labels(what="report").inc()
                if transient(error):
                    self.pending_reports.add(namespace)
                continue
            self.pending_reports.discard(namespace)
            self.state.written_results[namespace] = results
            if results:
                self.state.report_exists.add(namespace)
            else:
                self.state.report_exists.discard(namespace)

    def _update_gauges(self) -> None:
        counts = Counter((f.code, f.severity.label) for fs in self.state.findings.values() for f in fs)
        metrics.FINDINGS.clear()
        for (code, severity), count in counts.items():
            metrics.FINDINGS.labels(code=code, severity=severity).set(count)
        metrics.INVENTORY_OBJECTS.set(len(self.feed.inventory))

    # -- read-back after a restart -------------------------------------------------------------
    async def read_back(self) -> None:
        """Our Events and reports as the cluster holds them, so nothing is posted twice."""
        for namespace in self._list_namespaces():
            try:
                events = await self.kube.list_all(collection_path("v1", "events", namespace),
                                                  {"labelSelector": MANAGED_SELECTOR})
            except KubeError as error:
                log.warning("could not read back Events: %s", error)
                events = []
            for event in events:
                ident = ((event.get("metadata") or {}).get("annotations") or {}).get(FINDING_ANNOTATION)
                involved = event.get("involvedObject") or {}
                if ident:
                    self.state.posted.add((ident, str(involved.get("kind")), str(involved.get("namespace")),
                                           str(involved.get("name"))))
            await self._read_reports(namespace)

    async def _read_reports(self, namespace: str | None) -> None:
        kind = self.report_kind()
        if kind is None:
            return
        try:
            reports = await self.kube.list_all(collection_path(kind[2], kind[3], namespace),
                                               {"labelSelector": MANAGED_SELECTOR})
        except KubeError as error:
            log.warning("could not read back reports: %s", error)
            return
        for report in reports:
            meta = report.get("metadata") or {}
            if meta.get("name") != REPORT_NAME:
                continue
            ns = str(meta.get("namespace"))
            self.state.report_exists.add(ns)
            results = [r for r in report.get("results") or [] if isinstance(r, dict)]
            self.state.written_results[ns] = sorted(results, key=lambda r: result_key(r))
            for result in results:
                key = result_key(result)
                self.state.results[ns].setdefault((key[1], key[2]), {})[key] = result
                ident = (result.get("properties") or {}).get("id")
                if ident and result.get("result") in ("fail", "warn"):
                    self.state.reported_ids.add(str(ident))

    def _list_namespaces(self) -> list[str | None]:
        if self.settings.namespaces:
            namespaces: list[str | None] = [*sorted(self.settings.namespaces)]
            return namespaces
        return [None]
