"""SG302: several replicas without an adapter."""

from __future__ import annotations

from topology import GATEWAY, SERVER, hpa, lint, only, route, server, service

from socketguard.engine.findings import Severity


def test_replicas_without_adapter() -> None:
    [finding] = only(lint(server(replicas=3)), "SG302")
    assert finding.severity is Severity.WARNING
    assert (finding.subject, finding.field_path) == (SERVER, "metadata.annotations")
    assert "3 replicas" in finding.message and "adapter `none`" in finding.message
    assert any("@socket.io/redis-adapter" in fix for fix in finding.fixes)


def test_explicit_none_points_at_the_annotation_and_python_gets_its_manager() -> None:
    [finding] = only(lint(server({"adapter": "none", "stack": "python"}, replicas=2)), "SG302")
    assert finding.field_path == "metadata.annotations['socketguard.io/adapter']"
    assert any("RedisManager" in fix for fix in finding.fixes)


def test_hpa_counts_and_an_adapter_or_one_replica_is_fine() -> None:
    assert only(lint(server(replicas=1), hpa(5)), "SG302")
    assert not only(lint(server({"adapter": "redis"}, replicas=3)), "SG302")
    assert not only(lint(server(replicas=1)), "SG302")


def test_inferred_server_assumes_no_adapter() -> None:
    [finding] = only(lint(server(annotated=False, replicas=2), service(), GATEWAY, route()), "SG302")
    assert any("no adapter assumed" in text for text in finding.assumptions)
