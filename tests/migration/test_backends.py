"""SG703: the same workloads receive the handshake, with the same weights."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, only, server, service

from socketguard.engine.findings import Severity


def _other_server() -> dict[str, object]:
    other = server()
    other["metadata"]["name"] = "chat-next"  # type: ignore[index]
    other["spec"]["selector"] = {"matchLabels": {"app": "chat-next"}}  # type: ignore[index]
    other["spec"]["template"]["metadata"]["labels"] = {"app": "chat-next"}  # type: ignore[index]
    return other


def test_other_workloads_are_an_error() -> None:
    after = [*faithful_after(backendRefs=[{"name": "chat-next", "port": 80}]), _other_server(),
             service("chat-next")]
    difference = only(compared(before(), after), "SG703")
    assert "Deployment web/chat-next" in difference.after
    assert difference.finding.severity is Severity.ERROR


def test_the_same_service_is_not_flagged() -> None:
    assert "SG703" not in codes(compared(before(), faithful_after()))


def test_a_new_weighted_split_is_reported() -> None:
    split = [{"name": "chat", "port": 80, "weight": 90}, {"name": "chat-next", "port": 80, "weight": 10}]
    after = [*faithful_after(backendRefs=split), _other_server(), service("chat-next")]
    difference = only(compared(before(), after), "SG703")
    assert "Deployment web/chat 90%" in difference.after
