"""The scan on the seed-shaped test sources: every event, room, field and option, at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from socketguard.inputs.scan.model import EventUse, FileScan
from socketguard.inputs.scan.source import scan_source

SOURCES = Path(__file__).parent.parent / "fixtures" / "sources"
FRONTEND = SOURCES / "frontend" / "mageagent-client.ts"
BACKEND_TS = SOURCES / "backend-ts" / "websocket-manager.ts"
BACKEND_PY = SOURCES / "backend-py" / "server.py"

FRONTEND_LISTENS = ["task:start", "task:complete", "task:failed", "agent:spawned", "agent:progress",
                    "agent:complete", "tool:executing", "tool:complete", "memory:recalled"]
STREAM_FIELDS = ("agentId", "content", "metadata", "timestamp", "type")


def line_of(path: Path, needle: str, occurrence: int = 0) -> int:
    lines = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    return lines[occurrence]


def scan(path: Path) -> FileScan:
    return scan_source(path.read_bytes(), str(path))


def by_event(uses: tuple[EventUse, ...]) -> dict[str | None, list[EventUse]]:
    out: dict[str | None, list[EventUse]] = {}
    for use in uses:
        out.setdefault(use.event, []).append(use)
    return out


def test_frontend_listens_for_every_seed_event_at_its_line() -> None:
    result = scan(FRONTEND)
    assert result.roles == {"client"}
    assert [use.event for use in result.listens] == FRONTEND_LISTENS  # connect/disconnect: reserved
    for use in result.listens:
        assert use.location.line == line_of(FRONTEND, f"this.socket.on('{use.event}'")
        assert use.location.file == str(FRONTEND)


def test_frontend_handler_fields() -> None:
    listens = by_event(scan(FRONTEND).listens)
    assert listens["agent:spawned"][0].fields == ("agentId", "model", "name")
    assert listens["task:start"][0].fields == ()  # passes data on whole: reads no field


def test_frontend_emits_and_room_requests() -> None:
    result = scan(FRONTEND)
    emits = by_event(result.emits)
    assert set(emits) == {"subscribe", "unsubscribe"}
    assert emits["subscribe"][0].location.line == line_of(FRONTEND, "emit('subscribe'")
    assert emits["unsubscribe"][0].location.line == line_of(FRONTEND, "emit('unsubscribe'")
    assert emits["subscribe"][0].fields == ("room",)
    [room] = result.requests  # unsubscribe is not a subscribe-like event
    assert room.pattern == "task:{taskId}"
    assert room.location.line == line_of(FRONTEND, "emit('subscribe'")


def test_frontend_options() -> None:
    options = {use.key: use for use in scan(FRONTEND).options}
    assert options["client-url"].value is None  # an env var: not a literal
    assert options["client-url"].expression == "process.env.NEXT_PUBLIC_MAGEAGENT_WS_URL"
    assert options["client-path"].value == "/mageagent/socket.io"
    assert options["client-path"].location.line == line_of(FRONTEND, "path: '/mageagent/socket.io'")
    assert options["client-transports"].value == "websocket,polling"


def test_typescript_backend_events_and_payloads() -> None:
    result = scan(BACKEND_TS)
    assert result.roles == {"server"}
    listens = by_event(result.listens)
    assert list(listens) == ["subscribe", "unsubscribe", "start_agent_task", "stop_agent"]
    for event, uses in listens.items():
        assert uses[0].location.line == line_of(BACKEND_TS, f"socket.on('{event}'")
    emits = by_event(result.emits)
    assert list(emits) == ["agent_stream", "competition_result", "orchestration_update",
                           "synthesis_progress"]  # this.emit(...) of the EventEmitter is not Socket.IO
    assert emits["agent_stream"][0].location.line == line_of(BACKEND_TS, "emit('agent_stream'")
    assert emits["agent_stream"][0].fields == STREAM_FIELDS  # resolved from `const streamData = {...}`
    assert emits["competition_result"][0].fields == ("competitionId", "results", "timestamp")
    assert emits["orchestration_update"][0].location.line == line_of(BACKEND_TS, "'orchestration_update'")


def test_typescript_backend_keeps_its_own_subscriptions() -> None:
    result = scan(BACKEND_TS)
    assert result.joins == ()
    assert [use.event for use in result.subscription_handlers] == ["subscribe"]


def test_typescript_backend_options() -> None:
    options = {use.key: use.value for use in scan(BACKEND_TS).options}
    assert options == {"cors-origins": "*", "transports": "websocket,polling",
                       "ping-timeout": "60000", "ping-interval": "25000"}


def test_python_backend() -> None:
    result = scan(BACKEND_PY)
    assert result.roles == {"server"}
    listens = by_event(result.listens)
    assert set(listens) == {"subscribe", "unsubscribe", "start_agent_task", "stop_agent"}
    assert listens["subscribe"][0].location.line == line_of(BACKEND_PY, '@sio.on("subscribe")')
    assert listens["subscribe"][0].fields == ("agentId",)
    assert listens["start_agent_task"][0].fields == ("task",)  # data.get("task")
    assert listens["stop_agent"][0].location.line == line_of(BACKEND_PY, 'sio.on("stop_agent"')
    assert listens["stop_agent"][0].fields == ("agentId",)  # handler resolved by name
    emits = by_event(result.emits)
    assert [u.location.line for u in emits["agent_stream"]] == [
        line_of(BACKEND_PY, 'sio.emit("agent_stream"', 0), line_of(BACKEND_PY, 'sio.emit("agent_stream"', 1)]
    assert all(u.fields == STREAM_FIELDS for u in emits["agent_stream"])
    assert emits["synthesis_progress"][0].fields == ("progress", "synthesisId")
    [join] = result.joins
    assert join.pattern == "agent:{agent_id}"
    assert join.location.line == line_of(BACKEND_PY, "enter_room")


def test_python_backend_options() -> None:
    options = {use.key: use.value for use in scan(BACKEND_PY).options}
    assert options == {"cors-origins": "https://adverant.ai", "stack": "python-asgi",
                       "path": "/mageagent/socket.io"}


@pytest.mark.parametrize("path", [FRONTEND, BACKEND_TS, BACKEND_PY])
def test_fixtures_parse_cleanly(path: Path) -> None:
    assert scan(path).notes == ()
