from __future__ import annotations

from socketguard.controller.verdict import (
    MESSAGE_LIMIT,
    Condition,
    condition_for,
    event_targets,
    finding_id,
    finding_result,
    pass_result,
    result_key,
    same_result,
    summary,
)
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef

VS = ObjectRef("networking.istio.io/v1", "VirtualService", "demo", "web")
DEPLOY = ObjectRef("apps/v1", "Deployment", "demo", "api")
OTHER = ObjectRef("apps/v1", "Deployment", "demo", "other")


def finding(code: str, name: str, severity: Severity, subject: ObjectRef = VS, **extra: object) -> Finding:
    return Finding(code, name, severity, f"{code} happened", subject, ("spec", "http", 0),
                   fixes=("do this", "or that"), related=(DEPLOY,), **extra)  # type: ignore[arg-type]


def test_error_makes_the_condition_false_with_the_worst_reason_and_fixes() -> None:
    found = [finding("SG108", "route-timeout-too-short", Severity.WARNING),
             finding("SG102", "socket-path-mismatch", Severity.ERROR)]
    for ref in (VS, DEPLOY):
        condition = condition_for(ref, found)
        assert (condition.status, condition.reason) == ("False", "SocketPathMismatch")
        assert "Fix: do this; or that" in condition.message
        assert "SG108 (warning)" in condition.message


def test_warnings_only_is_true_and_lists_them() -> None:
    condition = condition_for(DEPLOY, [finding("SG108", "route-timeout-too-short", Severity.WARNING)])
    assert (condition.status, condition.reason) == ("True", "SocketRouteOK")
    assert "SG108 route-timeout-too-short" in condition.message


def test_findings_of_other_objects_do_not_count() -> None:
    assert condition_for(OTHER, [finding("SG102", "socket-path-mismatch", Severity.ERROR)]).status == "True"


def test_unknown_when_routing_cannot_be_known_or_a_reference_is_unresolved() -> None:
    assert condition_for(DEPLOY, [], routing_known=False).status == "Unknown"
    unresolved = condition_for(DEPLOY, [finding("SG002", "unresolved-reference", Severity.ERROR)])
    assert (unresolved.status, unresolved.reason) == ("Unknown", "UnresolvedReference")


def test_message_is_bounded() -> None:
    long = Finding("SG102", "socket-path-mismatch", Severity.ERROR, "x" * 5000, VS)
    assert len(condition_for(VS, [long]).message) == MESSAGE_LIMIT


def test_condition_comparison_ignores_a_dropped_observed_generation() -> None:
    wanted = Condition("False", "SocketPathMismatch", "m")
    deployment_view = {"type": "SocketRouteReady", "status": "False", "reason": "SocketPathMismatch", "message": "m"}
    assert wanted.matches(deployment_view, 3)
    assert not wanted.matches({**deployment_view, "observedGeneration": 2}, 3)
    assert not wanted.matches({**deployment_view, "status": "True"}, 3)
    assert not wanted.matches(None, 3)


def test_events_go_to_the_subject_and_the_servers_involved() -> None:
    assert event_targets(finding("SG102", "socket-path-mismatch", Severity.ERROR), [DEPLOY]) == [VS, DEPLOY]
    assert event_targets(finding("SG102", "socket-path-mismatch", Severity.ERROR), []) == [VS]


def test_report_results_are_keyed_per_rule_object_and_field() -> None:
    failing = finding_result(finding("SG102", "socket-path-mismatch", Severity.ERROR), "uid-1", 100)
    assert failing["result"] == "fail" and failing["severity"] == "high"
    assert failing["resources"][0] == {**VS.as_dict(), "uid": "uid-1"}
    assert failing["properties"]["id"] == finding_id(finding("SG102", "socket-path-mismatch", Severity.ERROR))
    assert result_key(failing) == ("SG102", "VirtualService", "web", "spec.http[0]")
    later = finding_result(finding("SG102", "socket-path-mismatch", Severity.ERROR), "uid-1", 200)
    assert same_result(failing, later)
    passing = pass_result(DEPLOY, "uid-2", 100)
    assert summary([failing, passing]) == {"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 0}
