"""The rule type: code, name, default severity, documentation and checker in one place."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef

if TYPE_CHECKING:
    from socketguard.engine.context import Context

Checker = Callable[["Context"], Iterable[Finding]]


class Admission(enum.Enum):
    """What an introduced error of a rule does to a CREATE or UPDATE at the admission webhook.

    Apply order must not matter (`kubectl apply -f dir/` creates a route before its Service), so
    only a disagreement between objects that all exist may deny or hold a change. A DELETE is
    judged apart: every introduced error acts there, whatever the class.
    """

    CONTRADICTION = "contradiction"
    MISSING_REFERENCE = "missing-reference"
    ADVISORY = "advisory"

    @property
    def label(self) -> str:
        return self.value

    @property
    def acts(self) -> bool:
        return self is Admission.CONTRADICTION

    @property
    def meaning(self) -> str:
        return _ADMISSION_MEANINGS[self]


_ADMISSION_MEANINGS = {
    Admission.CONTRADICTION: "objects that all exist disagree; an error a change introduces denies the change "
                             "in `enforce` mode and holds the rollout in `hold` mode",
    Admission.MISSING_REFERENCE: "something named does not exist yet; an error a change introduces only warns, "
                                 "since the object may come next in the same apply",
    Admission.ADVISORY: "never denies or holds a create or update; its findings only warn",
}


@dataclass
class Rule:
    """A coded check, modelled on Istio's analyzers: it reads the context, reports findings."""

    code: str
    name: str
    severity: Severity
    doc: str
    admission: Admission
    check: Checker | None = field(default=None, repr=False)

    @classmethod
    def define(cls, doc: str | None, *, code: str, name: str, severity: Severity, admission: Admission) -> Rule:
        if not doc or "What it checks" not in doc:
            raise ValueError(f"{code}: the rule module needs a What/Why/How docstring")
        return cls(code=code, name=name, severity=severity, doc=inspect.cleandoc(doc), admission=admission)

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
        # Built positionally, related refs deduplicated without a generator: a large lint makes
        # tens of thousands of findings, most of them here.
        unique = dict.fromkeys(related)
        unique.pop(subject, None)
        return Finding(self.code, self.name, severity or self.severity, message, subject, path, tuple(fixes),
                       tuple(unique), tuple(assumptions))
