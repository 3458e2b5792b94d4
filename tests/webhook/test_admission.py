"""The admission core on the mageagent example: what is introduced, what acts, in every mode."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.rules.base import Admission
from socketguard.engine.rules.registry import get_rule
from socketguard.webhook.admission import VerdictCache, admission_classes, admit
from socketguard.webhook.modes import MODE_KEY, Mode, object_mode
from socketguard.webhook.review import build_response, parse_review

from .support import (
    NAMESPACE,
    State,
    annotate,
    documents,
    find,
    review,
    run,
    snapshot,
    working_state,
)

BROKEN_VS = find(documents("broken"), "VirtualService", "adverant")
FIXED_VS = find(documents("fixed-by-rewrite"), "VirtualService", "adverant")
SERVER = find(documents("broken"), "Deployment", "mageagent")
SERVER_SERVICE = find(documents("broken"), "Service", "mageagent")


def test_enforce_denies_the_broken_route_with_code_values_fix_and_explain() -> None:
    outcome = run(working_state("enforce"), review("UPDATE", BROKEN_VS, FIXED_VS))
    answer = outcome.answer
    assert not answer.allowed and answer.code == 403
    assert answer.message.startswith("SocketGuard: SG102 socket-path-mismatch")
    assert "/mageagent/socket.io/" in answer.message and "/socket.io/" in answer.message
    assert "Fix: " in answer.message and "rewrite" in answer.message
    assert "socketguard explain SG102" in answer.message
    assert "\n" not in answer.message
    assert answer.warnings and answer.warnings[0].startswith("SG102 ")


def test_the_fix_is_allowed() -> None:
    state = working_state("enforce")
    state.inventory.add(BROKEN_VS)
    outcome = run(state, review("UPDATE", FIXED_VS, BROKEN_VS))
    assert outcome.answer.allowed and not outcome.answer.warnings and not outcome.introduced


def test_warn_admits_with_warnings() -> None:
    outcome = run(working_state("warn"), review("UPDATE", BROKEN_VS, FIXED_VS))
    assert outcome.answer.allowed
    assert any(w.startswith("SG102 socket-path-mismatch") for w in outcome.answer.warnings)
    assert any(w.startswith("SG102 fix:") for w in outcome.answer.warnings)


def test_audit_admits_silently_but_records_what_it_saw() -> None:
    outcome = run(working_state("audit"), review("UPDATE", BROKEN_VS, FIXED_VS))
    assert outcome.answer.allowed and not outcome.answer.warnings
    assert [f.code for f in outcome.acting] == ["SG102"]


def test_off_is_not_evaluated() -> None:
    outcome = run(working_state("off"), review("UPDATE", BROKEN_VS, FIXED_VS))
    assert outcome.answer.allowed and outcome.skipped == "mode off"


def test_default_mode_applies_to_unlabelled_namespaces() -> None:
    state = working_state()
    state.namespace_labels.clear()
    assert not run(state, review("UPDATE", BROKEN_VS, FIXED_VS), default=Mode.ENFORCE).answer.allowed
    assert run(state, review("UPDATE", BROKEN_VS, FIXED_VS), default=Mode.WARN).answer.allowed


def test_the_object_annotation_only_lowers_the_mode() -> None:
    lowered = annotate(json.loads(json.dumps(BROKEN_VS)), MODE_KEY, "warn")
    outcome = run(working_state("enforce"), review("UPDATE", lowered, FIXED_VS))
    assert outcome.answer.allowed and outcome.answer.warnings
    raised = annotate(json.loads(json.dumps(BROKEN_VS)), MODE_KEY, "enforce")
    assert run(working_state("warn"), review("UPDATE", raised, FIXED_VS)).answer.allowed
    assert object_mode({"metadata": {"annotations": {MODE_KEY: "bogus"}}}, {MODE_KEY: "hold"}, Mode.WARN) is Mode.HOLD
    assert object_mode(None, {MODE_KEY: "nonsense"}, Mode.AUDIT) is Mode.AUDIT


def test_a_server_path_change_that_breaks_the_route_is_denied() -> None:
    changed = annotate(json.loads(json.dumps(SERVER)), "socketguard.io/path", "/other")
    outcome = run(working_state("enforce"), review("UPDATE", changed, SERVER))
    assert not outcome.answer.allowed
    assert "SG102" in outcome.answer.message and "/other" in outcome.answer.message


def test_the_inventory_is_restored_after_a_review() -> None:
    state = working_state("enforce")
    before = list(snapshot(state.inventory))
    run(state, review("UPDATE", BROKEN_VS, FIXED_VS))
    run(state, review("DELETE", None, SERVER_SERVICE))
    run(state, review("CREATE", annotate(json.loads(json.dumps(BROKEN_VS)), "x", "y") | {
        "metadata": {"name": "another", "namespace": NAMESPACE}}))
    assert list(snapshot(state.inventory)) == before


def test_dry_run_gets_the_same_answer() -> None:
    wet = run(working_state("enforce"), review("UPDATE", BROKEN_VS, FIXED_VS))
    dry = run(working_state("enforce"), review("UPDATE", BROKEN_VS, FIXED_VS, dry_run=True))
    assert dry.answer == wet.answer


def test_an_unrelated_change_next_to_an_existing_problem_is_allowed() -> None:
    state = working_state("enforce")
    state.inventory.add(BROKEN_VS)  # SG102 exists already
    dashboard = find(documents("broken"), "Service", "dashboard")
    relabelled = json.loads(json.dumps(dashboard))
    relabelled["metadata"]["labels"]["tier"] = "web"
    outcome = run(state, review("UPDATE", relabelled, dashboard))
    assert outcome.answer.allowed and not outcome.introduced
    # ...and so is a change to the very object with the problem that leaves the problem as it is.
    touched = annotate(json.loads(json.dumps(BROKEN_VS)), "team", "web")
    outcome = run(state, review("UPDATE", touched, BROKEN_VS))
    assert outcome.answer.allowed and not outcome.introduced


def test_reverse_order_apply_is_denied_only_for_the_real_contradiction() -> None:
    """Routes before workloads: only the object that completes the contradiction is denied."""
    state = State(Inventory()).mode("enforce")
    order = [*documents("broken", "virtualservice.yaml", "gateway.yaml"),
             *documents("broken", "dashboard.yaml", "mageagent.yaml")[::-1]]
    denied = []
    for doc in order:
        outcome = run(state, review("CREATE", doc))
        if outcome.answer.allowed:
            state.inventory.add(doc)
        else:
            denied.append((doc["kind"], doc["metadata"]["name"], outcome.answer.message))
    assert [(kind, name) for kind, name, _ in denied] == [("Deployment", "mageagent")]
    assert "SG102" in denied[0][2]


def test_deleting_the_socket_routes_service_is_denied_but_not_by_namespace_teardown() -> None:
    state = working_state("enforce")
    outcome = run(state, review("DELETE", None, SERVER_SERVICE))
    assert not outcome.answer.allowed and outcome.answer.warnings
    teardown = run(state, review("DELETE", None, SERVER_SERVICE,
                                 username="system:serviceaccount:kube-system:namespace-controller"))
    assert teardown.answer.allowed and teardown.answer.warnings


def test_a_route_to_a_service_not_created_yet_only_warns() -> None:
    state = working_state("enforce")
    route = json.loads(json.dumps(FIXED_VS))
    route["spec"]["http"][0]["route"][0]["destination"]["host"] = "mageagent-next"
    outcome = run(state, review("UPDATE", route, FIXED_VS))
    assert outcome.answer.allowed
    assert outcome.introduced and not outcome.acting
    assert any("not enforced" in w for w in outcome.answer.warnings)


def test_kubectl_scale_to_three_replicas_without_stickiness_is_denied() -> None:
    state = working_state("enforce")
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale",
             "metadata": {"name": "mageagent", "namespace": NAMESPACE}, "spec": {"replicas": 3}}
    body = review("UPDATE", scale, scale, sub_resource="scale")
    body["request"]["resource"] = {"group": "apps", "version": "v1", "resource": "deployments"}
    outcome = run(state, body)
    assert not outcome.answer.allowed and "SG301" in outcome.answer.message


def test_hold_pauses_a_deployment_update_and_the_validator_then_admits_it_quietly() -> None:
    state = working_state("hold")
    changed = annotate(json.loads(json.dumps(SERVER)), "socketguard.io/path", "/other", template=True)
    mutated = run(state, review("UPDATE", changed, SERVER), webhook="mutate")
    assert mutated.answer.allowed and mutated.held
    patch = json.loads(base64.b64decode(build_response("u", mutated.answer)["response"]["patch"]))
    assert {"op": "add", "path": "/spec/paused", "value": True} in patch
    held = next(op for op in patch if op["path"].endswith("socketguard.io~1held"))
    assert held["value"].startswith("SG102: ")
    assert any("held" in w for w in mutated.answer.warnings)

    paused = _apply_patch(changed, patch)
    validated = run(state, review("UPDATE", paused, SERVER))
    assert validated.answer.allowed and validated.held and not validated.answer.warnings


def test_hold_cannot_pause_a_route_so_it_warns() -> None:
    state = working_state("hold")
    assert run(state, review("UPDATE", BROKEN_VS, FIXED_VS), webhook="mutate").skipped == "nothing to mutate"
    outcome = run(state, review("UPDATE", BROKEN_VS, FIXED_VS))
    assert outcome.answer.allowed and any("hold mode cannot pause" in w for w in outcome.answer.warnings)


def test_the_mutating_path_leaves_other_modes_alone() -> None:
    changed = annotate(json.loads(json.dumps(SERVER)), "socketguard.io/path", "/other", template=True)
    outcome = run(working_state("enforce"), review("UPDATE", changed, SERVER), webhook="mutate")
    assert outcome.answer.allowed and not outcome.answer.patch


def test_unknown_kinds_subresources_and_nameless_objects_are_allowed_unreviewed() -> None:
    state = working_state("enforce")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": NAMESPACE}}
    assert run(state, review("CREATE", config_map)).skipped.startswith("kind ConfigMap")
    status = review("UPDATE", BROKEN_VS, FIXED_VS, sub_resource="status")
    assert run(state, status).skipped == "subresource status is not reviewed"
    nameless = json.loads(json.dumps(BROKEN_VS))
    nameless["metadata"] = {"generateName": "adverant-", "namespace": NAMESPACE}
    outcome = run(state, review("CREATE", nameless))
    assert outcome.answer.allowed and outcome.skipped.startswith("the object has no identity yet")


def test_each_rule_declares_its_admission_class() -> None:
    classes = admission_classes()
    acting = {code for code, admission in classes.items() if admission is Admission.CONTRADICTION}
    warning = {code for code, admission in classes.items() if admission is Admission.MISSING_REFERENCE}
    assert {"SG102", "SG103", "SG104", "SG107", "SG111", "SG201", "SG202", "SG301"} <= acting
    assert {"SG101", "SG106", "SG110"} <= warning
    assert classes["SG115"] is Admission.ADVISORY  # status the cluster reports, not a disagreement


@pytest.mark.parametrize(("admission", "note"), [
    (Admission.MISSING_REFERENCE, "(not enforced: it names an object that does not exist yet)"),
    (Admission.ADVISORY, "(not enforced: SG102 is advisory at admission)"),
])
def test_the_webhook_acts_on_the_class_the_rule_declares(
        monkeypatch: pytest.MonkeyPatch, admission: Admission, note: str) -> None:
    monkeypatch.setattr(get_rule("SG102"), "admission", admission)
    admission_classes.cache_clear()
    try:
        outcome = run(working_state("enforce"), review("UPDATE", BROKEN_VS, FIXED_VS))
    finally:
        monkeypatch.undo()
        admission_classes.cache_clear()
    assert outcome.answer.allowed and [f.code for f in outcome.introduced] == ["SG102"] and not outcome.acting
    assert any(w.startswith("SG102 ") and w.endswith(note) for w in outcome.answer.warnings)


def _apply_patch(obj: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    for op in patch:
        assert op["op"] == "add"
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        target = out
        for key in parents:
            target = target[key]
        target[last] = op["value"]
    return out


def test_the_verdict_cache_never_outlives_a_real_change() -> None:
    state = working_state("enforce")
    cache = VerdictCache()
    body = review("UPDATE", BROKEN_VS, FIXED_VS)
    first = admit(parse_review(body), state, webhook="validate", default_mode=Mode.WARN, cache=cache)
    again = admit(parse_review(body), state, webhook="validate", default_mode=Mode.WARN, cache=cache)
    assert not first.answer.allowed and again.answer == first.answer
    state.inventory.add(BROKEN_VS)  # a watch event: the problem now exists, so it is no longer new
    after_event = admit(parse_review(body), state, webhook="validate", default_mode=Mode.WARN, cache=cache)
    assert after_event.answer.allowed and not after_event.introduced


def test_an_update_that_changes_nothing_the_engine_reads_is_not_evaluated() -> None:
    state = working_state("enforce")
    same = json.loads(json.dumps(FIXED_VS))
    same["metadata"]["resourceVersion"] = "42"
    same["status"] = {"anything": True}
    outcome = run(state, review("UPDATE", same, FIXED_VS))
    assert outcome.answer.allowed and outcome.skipped == "nothing the engine reads changed"
