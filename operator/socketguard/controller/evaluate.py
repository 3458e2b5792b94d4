"""Evaluation: the changed objects -> independent units of the cluster -> each unit's verdicts.

Each unit is one connected part of the cluster (a route, its Services, their workloads, the
clients of its hosts, ...), so a change costs in proportion to what it touches, not to the
cluster. The engine runs once per unit; its traces (which workloads are servers, which routes
reach them) come from the same run as the findings. Nothing here talks to the API.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from socketguard.cluster import metrics
from socketguard.cluster.feed import Feed
from socketguard.controller.relations import Relations
from socketguard.controller.settings import Settings
from socketguard.controller.verdict import Condition, applies_to, condition_for
from socketguard.controller.writers import HELD_ANNOTATION
from socketguard.engine.analysis import analyze_with_context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.trace import TraceSet


@dataclass
class Unit:
    """One connected part of the cluster: `objects` go into the engine, `evaluated` get verdicts."""

    objects: set[ObjectRef]
    evaluated: set[ObjectRef]


@dataclass(frozen=True)
class Evaluation:
    """Verdicts of one unit, before comparison with what the cluster shows."""

    evaluated: frozenset[ObjectRef]  # the unit's objects this evaluation decides (deleted ones too)
    findings: list[Finding]  # all of the run's, also about context objects (related to evaluated ones)
    by_subject: Mapping[ObjectRef, list[Finding]]  # each evaluated object's own findings
    conditions: Mapping[ObjectRef, Condition]  # SocketRouteReady wanted on servers and their routes
    servers: frozenset[ObjectRef]  # server workloads (annotated or inferred), Events also go to them
    clean: frozenset[ObjectRef]  # servers and routes without warnings: a passing report result
    resumable: frozenset[ObjectRef]  # Deployments held by the webhook that no error holds any more


class Evaluator:
    def __init__(self, feed: Feed, relations: Relations, settings: Settings) -> None:
        self.feed = feed
        self.relations = relations
        self.settings = settings
        # Findings from outside the engine (live probes, SG601), by workload: merged into its verdict.
        self.extra_findings: Mapping[ObjectRef, list[Finding]] = {}

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

    def evaluate(self, unit: Unit) -> Evaluation:
        began = time.perf_counter()
        inventory = self._inventory_of(unit)
        present = {ref for ref in unit.evaluated if ref in inventory}
        findings: list[Finding] = []
        servers: set[ObjectRef] = set()
        annotated: set[ObjectRef] = set()
        routes: set[ObjectRef] = set()
        if present:
            analysis = analyze_with_context(inventory, scope=present)
            findings = analysis.findings + [f for ref in sorted(present) for f in self.extra_findings.get(ref, ())]
            traces = analysis.context.traces
            servers = set(traces.servers) & present
            # Servers outside the evaluated part count too: a route to one still gets its verdict.
            annotated = set(traces.servers) - traces.inferred
            routes = _routes_to(traces, annotated)
        routing_known = self.feed.istio_installed
        conditions = {ref: condition_for(ref, findings, routing_known=routing_known or ref.kind == "VirtualService")
                      for ref in (annotated | routes) & present if self.settings.in_scope(ref)}
        by_subject: dict[ObjectRef, list[Finding]] = {ref: [] for ref in unit.evaluated}
        for finding in findings:
            if finding.subject in by_subject:
                by_subject[finding.subject].append(finding)
        clean = {ref for ref in (servers | routes) & present
                 if not any(f.severity >= Severity.WARNING for f in findings if applies_to(f, ref))}
        metrics.EVALUATIONS.inc()
        metrics.EVALUATED_OBJECTS.inc(len(unit.evaluated))
        metrics.EVALUATION_SECONDS.observe(time.perf_counter() - began)
        return Evaluation(frozenset(unit.evaluated), findings, by_subject, conditions, frozenset(servers),
                          frozenset(clean), frozenset(self._resumable(inventory, present, findings)))

    def _inventory_of(self, unit: Unit) -> Inventory:
        inventory = Inventory()
        for ref in unit.objects:
            raw = self.feed.inventory.raw(ref)
            if raw is not None:
                inventory.add(raw)
        return inventory

    def _resumable(self, inventory: Inventory, present: set[ObjectRef], findings: list[Finding]) -> set[ObjectRef]:
        """Deployments the webhook paused (held) that no error applies to any more."""
        resumable = set()
        for ref in present:
            if ref.kind != "Deployment" or not self.settings.in_scope(ref):
                continue
            raw = inventory.raw(ref) or {}
            annotations = (raw.get("metadata") or {}).get("annotations") or {}
            paused = (raw.get("spec") or {}).get("paused") is True
            if HELD_ANNOTATION not in annotations or not paused:
                continue
            if not any(f.severity == Severity.ERROR and applies_to(f, ref) for f in findings):
                resumable.add(ref)
        return resumable


def _routes_to(traces: TraceSet, annotated: set[ObjectRef]) -> set[ObjectRef]:
    """The VirtualServices whose rules deliver to an annotated server."""
    routes: set[ObjectRef] = set()
    for trace in traces.traces:
        if not any(d.workload in annotated for d in trace.deliveries):
            continue
        for hop in (trace.origin, trace.hop):
            if hop is not None and hop.route.kind == "VirtualService":
                routes.add(hop.route)
    return routes
