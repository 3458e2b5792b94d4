import pytest
from sg50x_support import client, ref, run, server

from socketguard.engine.rules._event_contract import rooms_overlap
from socketguard.engine.rules.sg504_room_pattern_mismatch import RULE


@pytest.mark.parametrize(("left", "right", "expected"), [
    ("task:{id}", "task:{taskId}", True),
    ("task:{id}", "task:42", True),
    ("task:{id}", "agent:{id}", False),
    ("task:{id}", "task:", False),  # a placeholder is never empty
    ("{room}", "agent:{id}", True),
    ("lobby", "lobby", True),
    ("lobby", "lobby2", False),
    ("a:{x}:b", "a:{y}", True),  # {y} can be "1:b"
    ("{a}-{b}", "x", False),
    ("{a}-{b}", "x-y", True),
])
def test_room_patterns_overlap_when_one_name_fits_both(left: str, right: str, expected: bool) -> None:
    assert rooms_overlap(left, right) is expected
    assert rooms_overlap(right, left) is expected


def test_reports_the_seed_room_mismatch() -> None:
    frontend = client("frontend", rooms=("task:{taskId}",))
    backend = server("mageagent", rooms=("agent:{agentId}",))
    [finding] = run(RULE, (frontend, backend))
    assert finding.code == "SG504" and finding.subject == ref("frontend")
    assert "'task:{taskId}'" in finding.message and "'agent:{agentId}'" in finding.message
    assert "join sockets to 'task:{taskId}' in Deployment web/mageagent" in finding.fixes[0]
    assert finding.field_path == "metadata.annotations['socketguard.io/rooms']"


def test_matching_rooms_and_unknown_rooms_are_fine() -> None:
    frontend = client("frontend", rooms=("task:{taskId}",))
    assert run(RULE, (frontend, server("s", rooms=("task:{id}",)))) == []
    assert run(RULE, (frontend, server("s"))) == []  # server keeps its own subscriptions
    assert run(RULE, (client("frontend", rooms=()), server("s", rooms=("a",)))) == []


def test_long_patterns_do_not_exhaust_the_stack() -> None:
    long = "{x}:" * 3000
    assert rooms_overlap(long + "a", long + "a") is True
    assert rooms_overlap("a" * 5000, "a" * 4999 + "b") is False
