"""The rule type: code, name, default severity, documentation and checker in one place."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef

if TYPE_CHECKING:
    from socketguard.engine.context import Context

Checker = Callable[["Context"], Iterable[Finding]]


@dataclass
class Rule:
    """A coded check, modelled on Istio's analyzers: it reads the context, reports findings."""

    code: str
    name: str
    severity: Severity
    doc: str
    check: Checker | None = field(default=None, repr=False)

    @classmethod
    def define(cls, doc: str | None, *, code: str, name: str, severity: Severity) -> Rule:
        if not doc or "What it checks" not in doc:
            raise ValueError(f"{code}: the rule module needs a What/Why/How docstring")
        return cls(code=code, name=name, severity=severity, doc=inspect.cleandoc(doc))

    def checker(self, function: Checker) -> Checker:
        """Decorator: registers the function that yields this rule's findings."""
        self.check = function
        return function

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0].strip().rstrip(".")

    def finding(
        self,
        subject: ObjectRef,
        path: FieldPath,
        message: str,
        *,
        fixes: Iterable[str] = (),
        related: Iterable[ObjectRef] = (),
        assumptions: Iterable[str] = (),
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            subject=subject,
            path=path,
            fixes=tuple(fixes),
            related=tuple(dict.fromkeys(r for r in related if r != subject)),
            assumptions=tuple(assumptions),
        )
