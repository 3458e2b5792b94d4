"""`socketguard lint --source`: events and rooms from the seed's source code, stale annotations flagged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from socketguard.cli.lint import lint

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "manifests/examples/mageagent/broken"
SOURCES = ROOT / "tests/fixtures/sources"
SEED_LISTENS = {"agent:spawned", "agent:progress", "agent:complete", "tool:executing", "tool:complete",
                "task:start", "task:complete", "task:failed", "memory:recalled"}


def run(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(lint, [*args, "-o", "json"])
    findings = json.loads(result.stdout) if result.stdout.strip().startswith("[") else []
    return result.exit_code, findings, result.stderr


def by_code(findings: list[dict[str, object]], code: str) -> list[dict[str, object]]:
    return [f for f in findings if f["code"] == code]


def test_the_seed_sources_give_every_event_room_and_field_mismatch() -> None:
    status, findings, _ = run(str(BROKEN), "--source", f"mageagent/dashboard={SOURCES / 'frontend'}",
                              "--source", f"mageagent/mageagent={SOURCES / 'backend-py'}")
    assert status == 1  # SG102 is still an error
    never_emitted = {str(f["message"]).split("'")[1] for f in by_code(findings, "SG501")}
    assert never_emitted == SEED_LISTENS
    rooms = by_code(findings, "SG504")
    assert len(rooms) == 1 and "task:{taskId}" in str(rooms[0]["message"])
    assert "agent:{agent_id}" in str(rooms[0]["message"])
    fields = by_code(findings, "SG505")
    assert fields and "'model'" in str(fields[0]["message"]) and "'name'" in str(fields[0]["message"])


def test_a_server_that_keeps_its_own_subscriptions_has_unknown_rooms() -> None:
    _, findings, _ = run(str(BROKEN), "--source", f"mageagent/dashboard={SOURCES / 'frontend'}",
                         "--source", f"mageagent/mageagent={SOURCES / 'backend-ts'}")
    assert by_code(findings, "SG504") == []  # no join(): rooms unknown, the rule skips
    assert by_code(findings, "SG501")


def test_an_annotation_that_disagrees_with_the_code_is_stale(tmp_path: Path) -> None:
    manifests = tmp_path / "broken"
    shutil.copytree(BROKEN, manifests)
    dashboard = manifests / "dashboard.yaml"
    dashboard.write_text(dashboard.read_text().replace("memory:recalled", "memory:forgotten"))
    _, findings, _ = run(str(manifests), "--source", f"mageagent/dashboard={SOURCES / 'frontend'}")
    stale = [f for f in by_code(findings, "SG001") if "stale" in str(f["message"])]
    assert len(stale) == 1
    assert "memory:forgotten" in str(stale[0]["message"]) and "memory:recalled" in str(stale[0]["message"])
    assert stale[0]["path"] == "metadata.annotations['socketguard.io/client-listens']"


def test_bad_bindings_are_usage_errors() -> None:
    for binding, expected in ((f"nope/x={SOURCES / 'frontend'}", "no Deployment"),
                              ("client=/does/not/exist", "no such file"),
                              ("just-a-name", "expected NAMESPACE/NAME=DIR")):
        status, _, stderr = run(str(BROKEN), "--source", binding)
        assert status == 2 and expected in stderr


def test_client_shorthand_needs_exactly_one_client() -> None:
    status, findings, _ = run(str(BROKEN), "--source", f"client={SOURCES / 'frontend'}")
    assert status == 1 and by_code(findings, "SG501")
