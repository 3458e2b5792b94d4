"""SG001 and SG002 report the annotation contract's own located issues, each its own code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules.base import Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context


def contract_findings(rule: Rule, context: Context) -> Iterator[Finding]:
    for issue in context.contracts.issues:
        if issue.code == rule.code:
            yield rule.finding(issue.subject, issue.path, issue.message, fixes=issue.fixes,
                               severity=Severity.WARNING if issue.warning else None)
