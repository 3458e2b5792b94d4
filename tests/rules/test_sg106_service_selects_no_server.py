from __future__ import annotations

from routing_kit import SERVICE, lint, of, where, world

from socketguard.engine.rules.sg106_service_selects_no_server import RULE


def test_selector_subset_of_the_pod_labels_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_selector_drift_names_the_differing_labels() -> None:
    service = SERVICE.replace("selector: {app: chat}", "selector: {app: chat, version: v2}")
    findings = lint(world(service=service))
    [finding] = of(findings, "SG106")
    assert where(finding) == ("Service", "web/chat", "spec.selector", "error")
    assert "app=chat, version=v2" in finding.message
    assert "Deployment web/chat, differs in version=v2 vs v1" in finding.message
    assert not of(findings, "SG101")


def test_selector_matching_nothing_at_all() -> None:
    service = SERVICE.replace("selector: {app: chat}", "selector: {tier: realtime}")
    [finding] = lint(world(service=service), RULE)
    assert "selects no pod template in namespace web (selector tier=realtime)" in finding.message


def test_service_without_selector_is_a_warning_with_its_assumption() -> None:
    service = SERVICE.replace("  selector: {app: chat}\n", "")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec", "warning")
    assert finding.assumptions


def test_namespace_without_any_workload_in_the_inputs_is_a_warning() -> None:
    [finding] = lint(world(client=None, server=None), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.selector", "warning")
    assert "other manifests" in finding.assumptions[0]
