"""From findings to what the operator shows: conditions, Events and report results (pure).

Nothing here talks to the API: the reconciler compares these values with what the cluster
already shows and writes only the differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from socketguard.engine.findings import Finding, Severity, sort_findings
from socketguard.engine.objects import ObjectRef

CONDITION_TYPE = "SocketRouteReady"
OK_REASON = "SocketRouteOK"
NOT_EVALUATED_REASON = "RoutingNotEvaluated"
SOURCE = "socketguard"
MESSAGE_LIMIT = 1000
EVENT_MESSAGE_LIMIT = 1000
UNRESOLVED = "SG002"
PASS_POLICY = "socketguard"
PASS_RULE = "socket-route-ready"

_RESULT = {Severity.ERROR: "fail", Severity.WARNING: "warn", Severity.INFO: "warn"}
_CATEGORY = {"SG0": "contract", "SG1": "routing", "SG2": "cors", "SG3": "sessions", "SG5": "events",
             "SG6": "probe"}
_SEVERITY = {Severity.ERROR: "high", Severity.WARNING: "medium", Severity.INFO: "info"}


@dataclass(frozen=True)
class Condition:
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str

    def as_dict(self, generation: int | None, transition_time: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": CONDITION_TYPE,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": transition_time,
        }
        if generation is not None:
            out["observedGeneration"] = generation
        return out

    def matches(self, existing: Mapping[str, Any] | None, generation: int | None) -> bool:
        """True when writing would change nothing the API server keeps.

        Deployment conditions have no observedGeneration field (the API server drops it), so
        it is only compared where the stored condition carries it.
        """
        if existing is None:
            return False
        same = (existing.get("status"), existing.get("reason"), existing.get("message")) == (
            self.status, self.reason, self.message)
        if "observedGeneration" in existing and generation is not None:
            same = same and existing.get("observedGeneration") == generation
        return same


def applies_to(finding: Finding, ref: ObjectRef) -> bool:
    return finding.subject == ref or ref in finding.related


def condition_for(ref: ObjectRef, findings: Iterable[Finding], *, routing_known: bool = True) -> Condition:
    """SocketRouteReady for one server workload or route, from the findings that involve it."""
    relevant = sort_findings(f for f in findings if applies_to(f, ref))
    errors = [f for f in relevant if f.severity == Severity.ERROR and f.code != UNRESOLVED]
    warnings = [f for f in relevant if f.severity == Severity.WARNING]
    if errors:
        return Condition("False", errors[0].reason, bounded(_failure_message(errors[0], relevant)))
    unresolved = [f for f in relevant if f.code == UNRESOLVED]
    if unresolved:
        return Condition("Unknown", unresolved[0].reason, bounded(_failure_message(unresolved[0], relevant)))
    if not routing_known:
        return Condition("Unknown", NOT_EVALUATED_REASON, bounded(
            "routing cannot be evaluated: the Istio CRDs (networking.istio.io) are not installed"))
    message = "the Socket.IO route checks pass"
    if warnings:
        message += "; warnings: " + ", ".join(f"{f.code} {f.name}" for f in _unique_codes(warnings))
    return Condition("True", OK_REASON, bounded(message))


def _failure_message(first: Finding, relevant: Sequence[Finding]) -> str:
    text = f"{first.code} {first.name}: {first.message}"
    if first.fixes:
        text += ". Fix: " + "; ".join(first.fixes)
    others = [f for f in _unique_codes(relevant) if f.code != first.code and f.severity >= Severity.WARNING]
    if others:
        text += ". Also: " + ", ".join(f"{f.code} ({f.severity.label})" for f in others)
    return text


def _unique_codes(findings: Iterable[Finding]) -> list[Finding]:
    return list({f.code: f for f in reversed(list(findings))}.values())[::-1]


def bounded(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- Events ------------------------------------------------------------------------------------
def finding_id(finding: Finding) -> str:
    """A stable text form of `Finding.key`, stored on Events and report results to read back."""
    subject = finding.subject
    return "|".join((finding.code, subject.kind, subject.namespace, subject.name, finding.field_path))


def event_message(finding: Finding) -> str:
    text = f"{finding.code} {finding.message}"
    if finding.fixes:
        text += ". Fix: " + "; ".join(finding.fixes)
    return bounded(text, EVENT_MESSAGE_LIMIT)


def event_targets(finding: Finding, servers: Iterable[ObjectRef]) -> list[ObjectRef]:
    """The finding's subject, and the server workloads it involves (their owners read describe)."""
    server_set = set(servers)
    return [finding.subject, *(r for r in finding.related if r in server_set and r != finding.subject)]


# -- Report results ----------------------------------------------------------------------------
def resource_of(ref: ObjectRef, uid: str | None) -> dict[str, str]:
    out = ref.as_dict()
    if uid:
        out["uid"] = uid
    return out


def finding_result(finding: Finding, uid: str | None, timestamp: int) -> dict[str, Any]:
    properties = {"path": finding.field_path, "id": finding_id(finding)}
    if finding.fixes:
        properties["fix"] = bounded(" | ".join(finding.fixes), 2000)
    return {
        "source": SOURCE,
        "policy": finding.code,
        "rule": finding.name,
        "category": _CATEGORY.get(finding.code[:3], "routing"),
        "severity": _SEVERITY[finding.severity],
        "result": _RESULT[finding.severity],
        "scored": True,
        "message": bounded(finding.message, 2000),
        "resources": [resource_of(finding.subject, uid)],
        "properties": properties,
        "timestamp": {"seconds": timestamp, "nanos": 0},
    }


def pass_result(ref: ObjectRef, uid: str | None, timestamp: int, *, policy: str = PASS_POLICY,
                rule: str = PASS_RULE, message: str = "the Socket.IO route checks pass") -> dict[str, Any]:
    return {
        "source": SOURCE,
        "policy": policy,
        "rule": rule,
        "severity": "info",
        "result": "pass",
        "scored": True,
        "message": message,
        "resources": [resource_of(ref, uid)],
        "timestamp": {"seconds": timestamp, "nanos": 0},
    }


def result_key(result: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(policy, kind, name, field path): one result per rule, object and field."""
    resources = result.get("resources") or [{}]
    first = resources[0] if isinstance(resources[0], Mapping) else {}
    properties = result.get("properties") or {}
    return (str(result.get("policy", "")), str(first.get("kind", "")), str(first.get("name", "")),
            str(properties.get("path", "")) if isinstance(properties, Mapping) else "")


def same_result(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal apart from the timestamp, which only moves when the result changes."""
    return {k: v for k, v in a.items() if k != "timestamp"} == {k: v for k, v in b.items() if k != "timestamp"}


def summary(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    for result in results:
        outcome = str(result.get("result", ""))
        if outcome in counts:
            counts[outcome] += 1
    return counts
