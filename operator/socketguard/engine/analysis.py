"""analyze(inventory) -> findings: runs every rule over one shared, lazily built context."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from socketguard.engine.context import Context
from socketguard.engine.contract import EventSources
from socketguard.engine.findings import Finding, Severity, order_key
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef, render_path
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
    return Analysis(_reported(found, context), context)


def _reported(findings: Iterable[Finding], context: Context) -> list[Finding]:
    """The findings as `sort_findings` orders them: each once (the first of a code, object, field
    and message), suppressions applied, those resting on an inferred server capped.

    One pass that renders each field path once: deduplication and the sort both key on it, and
    a large lint reports tens of thousands of findings.
    """
    seen: set[tuple[str, ObjectRef, str, str]] = set()
    kept: list[tuple[tuple[object, ...], Finding]] = []
    for finding in findings:
        field_path = render_path(finding.path)
        identity = (finding.code, finding.subject, field_path, finding.message)
        if identity in seen:
            continue
        seen.add(identity)
        if not context.is_suppressed(finding):
            finding = context.cap_inferred(finding)
            kept.append((order_key(finding, field_path), finding))
    kept.sort(key=itemgetter(0))  # each key holds an identity: no two are equal
    return [finding for _, finding in kept]


def exit_code_for(findings: Iterable[Finding], fail_on: Severity | None) -> int:
    """1 when any finding is at or above `fail_on` (None: never), else 0."""
    if fail_on is None:
        return 0
    return 1 if any(f.severity >= fail_on for f in findings) else 0
