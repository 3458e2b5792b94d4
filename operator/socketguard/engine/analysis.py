"""analyze(inventory) -> findings: runs every rule over one shared, lazily built context."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from socketguard.engine.context import Context
from socketguard.engine.contract import EventSources
from socketguard.engine.findings import Finding, Severity, sort_findings
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Rule
from socketguard.engine.rules.registry import all_rules
from socketguard.engine.scope import neighbourhood


@dataclass(frozen=True)
class Analysis:
    """Findings and the context they were computed on, whose traces a front-end reads as well
    (which workloads are servers, which routes reach them) without routing a second time."""

    findings: list[Finding]
    context: Context


def analyze(
    inventory: Inventory,
    *,
    scope: Collection[ObjectRef] | None = None,
    rules: Sequence[Rule] | None = None,
    ignore: Collection[str] = (),
    event_sources: EventSources | None = None,
) -> list[Finding]:
    """Every finding of `rules` (default: all) on `inventory`, suppressions applied (see `analyze_with_context`)."""
    return analyze_with_context(inventory, scope=scope, rules=rules, ignore=ignore,
                                event_sources=event_sources).findings


def analyze_with_context(
    inventory: Inventory,
    *,
    scope: Collection[ObjectRef] | None = None,
    rules: Sequence[Rule] | None = None,
    ignore: Collection[str] = (),
    event_sources: EventSources | None = None,
) -> Analysis:
    """Every finding of `rules` (default: all) on `inventory`, suppressions applied, with its context.

    With `scope` (the objects that changed), only their neighbourhood is evaluated: every object
    whose findings the change can alter (see `socketguard.engine.scope`). The result is then exactly
    the full analysis's findings about those objects, at a cost proportional to the change.
    `event_sources` carries events read from source code (`socketguard lint --source`) for
    workloads, in place of their event annotations.
    """
    if scope is not None:
        inventory = inventory.subset(neighbourhood(inventory, scope))
    context = Context(inventory, event_sources)
    ignored = {code.upper() for code in ignore}
    found: list[Finding] = []
    for rule in rules if rules is not None else all_rules():
        if rule.check is None or rule.code in ignored:
            continue
        found.extend(rule.check(context))
    kept = (f for f in _deduplicate(found) if not context.is_suppressed(f))
    return Analysis(sort_findings(context.cap_inferred(f) for f in kept), context)


def _deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    unique: dict[tuple[str, ObjectRef, str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.code, finding.subject, finding.field_path, finding.message), finding)
    return list(unique.values())


def exit_code_for(findings: Iterable[Finding], fail_on: Severity | None) -> int:
    """1 when any finding is at or above `fail_on` (None: never), else 0."""
    if fail_on is None:
        return 0
    return 1 if any(f.severity >= fail_on for f in findings) else 0
