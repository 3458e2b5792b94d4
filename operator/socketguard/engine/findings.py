"""Findings: what the engine says about the objects, with everything needed to act on it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

from socketguard.engine.objects import FieldPath, ObjectRef, render_path


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: expected error, warning or info") from None


class Finding(NamedTuple):
    """One coded message about one object and the field to change.

    `key` identifies a finding across evaluations (the webhook's "introduced" test, the
    operator's "already reported" test, the baseline file); the message may carry values that
    change without making it a new finding. A named tuple: a large lint makes tens of thousands,
    and a tuple is built in C where a frozen dataclass sets each field through Python.
    """

    code: str
    name: str
    severity: Severity
    message: str
    subject: ObjectRef
    path: FieldPath = ()
    fixes: tuple[str, ...] = ()
    related: tuple[ObjectRef, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def field_path(self) -> str:
        return render_path(self.path)

    @property
    def key(self) -> tuple[str, ObjectRef, str]:
        return (self.code, self.subject, self.field_path)

    @property
    def reason(self) -> str:
        """CamelCase name used as Event reason and condition reason: `SocketPathMismatch`."""
        return camel_case(self.name)

    def with_severity(self, severity: Severity) -> Finding:
        return Finding(
            self.code, self.name, severity, self.message, self.subject, self.path,
            self.fixes, self.related, self.assumptions,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.label,
            "message": self.message,
            "object": self.subject.as_dict(),
            "path": self.field_path,
            "fixes": list(self.fixes),
            "related": [ref.as_dict() for ref in self.related],
            "assumptions": list(self.assumptions),
        }


def camel_case(kebab: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in kebab.split("-") if part)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Stable order for every output: worst first, then by object and field."""
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[object, ...]:
    return order_key(f, f.field_path)


def order_key(f: Finding, field_path: str) -> tuple[object, ...]:
    """`sort_findings`'s key, for a caller that has rendered the finding's field path already."""
    return (-f.severity, f.subject, field_path, f.code, f.message)


def worst(findings: Iterable[Finding]) -> Finding | None:
    ordered = sort_findings(findings)
    return ordered[0] if ordered else None
