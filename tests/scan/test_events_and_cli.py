"""From scan to EventContract and annotations; the CLI; the seed's mismatches end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from socketguard.cli import main
from socketguard.engine.context import Context
from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.findings import Finding
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules import sg501_event_never_emitted as sg501
from socketguard.engine.rules import sg504_room_pattern_mismatch as sg504
from socketguard.engine.rules import sg505_payload_fields_missing as sg505
from socketguard.engine.rules.base import Rule
from socketguard.engine.trace import Pairing, TraceSet
from socketguard.inputs.scan.events import annotations_for, events_from_scan, split_by_role
from socketguard.inputs.scan.source import scan_paths, scan_source

SOURCES = Path(__file__).parent.parent / "fixtures" / "sources"
FRONTEND, BACKEND_TS, BACKEND_PY = SOURCES / "frontend", SOURCES / "backend-ts", SOURCES / "backend-py"


class _Pairs:
    def __init__(self, client: ClientSpec, server: ServerSpec) -> None:
        self.traces = TraceSet(pairs=[Pairing(client, server)])


def ref(name: str) -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", "web", name)


def run(rule: Rule, pair: tuple[ClientSpec, ServerSpec]) -> list[Finding]:
    assert rule.check is not None
    return list(rule.check(cast(Context, _Pairs(*pair))))


SEED_ONLY_FRONTEND = {"agent:spawned", "agent:progress", "agent:complete", "tool:executing",
                      "tool:complete", "task:start", "task:complete", "task:failed", "memory:recalled"}


def test_client_contract_from_the_frontend() -> None:
    events = events_from_scan(scan_paths([FRONTEND]), "client")
    assert events.listens == SEED_ONLY_FRONTEND
    assert events.emits == {"subscribe", "unsubscribe"}
    assert events.rooms == ("task:{taskId}",)
    assert events.reads is not None and events.reads["agent:spawned"] == {"agentId", "name", "model"}
    assert events.sources["listens"] == ("metadata", "annotations", "socketguard.io/client-listens")


def test_server_contracts_from_both_backends() -> None:
    ts = events_from_scan(scan_paths([BACKEND_TS]), "server")
    assert ts.emits == {"agent_stream", "orchestration_update", "competition_result", "synthesis_progress"}
    assert ts.listens == {"subscribe", "unsubscribe", "start_agent_task", "stop_agent"}
    assert ts.rooms is None  # subscriptions kept in a Set, no join
    assert ts.payloads is not None
    assert ts.payloads["agent_stream"] == {"type", "agentId", "content", "metadata", "timestamp"}
    py = events_from_scan(scan_paths([BACKEND_PY]), "server", key_prefix="")
    assert py.rooms == ("agent:{agent_id}",)
    assert py.emits == ts.emits


def test_unknowns_make_the_set_unknown_and_empty_scans_say_nothing() -> None:
    result = scan_paths([])
    assert events_from_scan(result, "server").emits is None
    dynamic = scan_source("socket.emit(name, {a: 1});\nsocket.emit('b', {...x});\nsocket.on('c', f);\n", "x.js")
    contract = events_from_scan(result.subset([dynamic]), "server")
    assert contract.emits is None and contract.listens == {"c"}
    assert contract.payloads == {} and contract.reads == {}


def test_seed_mismatches_are_reported_from_scanned_sources() -> None:
    frontend = ClientSpec(workload=ref("frontend"), events=events_from_scan(scan_paths([FRONTEND]), "client"))
    for backend_dir in (BACKEND_TS, BACKEND_PY):
        backend = ServerSpec(workload=ref("mageagent"), inferred=False,
                             events=events_from_scan(scan_paths([backend_dir]), "server"))
        missing = [f.message.split("'")[1] for f in run(sg501.RULE, (frontend, backend))]
        assert set(missing) == SEED_ONLY_FRONTEND
        [fields] = run(sg505.RULE, (frontend, backend))
        assert "'model', 'name'" in fields.message and "'agent_stream'" in fields.message
        rooms = run(sg504.RULE, (frontend, backend))
        if backend_dir == BACKEND_PY:
            assert [f.message for f in rooms] == [
                "Deployment web/frontend subscribes to room 'task:{taskId}', which matches no room "
                "Deployment web/mageagent joins sockets to ('agent:{agent_id}')"]
        else:
            assert rooms == []  # its rooms are unknown: the rule skips


def test_split_by_role_and_annotations_for_a_server_client_tree() -> None:
    sides = split_by_role(scan_paths([BACKEND_PY, FRONTEND]), None)
    assert set(sides) == {"server", "client"}
    values = annotations_for(sides).values
    assert values["role"] == "server,client"
    assert values["client-rooms"] == "task:{taskId}" and values["rooms"] == "agent:{agent_id}"
    assert values["path"] == "/mageagent/socket.io" and values["client-path"] == "/mageagent/socket.io"


def test_cli_prints_annotations_for_a_client() -> None:
    result = CliRunner().invoke(main, ["contract", "scan", str(FRONTEND), "--role", "client"])
    assert result.exit_code == 0, result.output
    assert "socketguard.io/role" not in result.output  # client-* keys alone make it a client
    assert 'socketguard.io/client-rooms: "task:{taskId}"' in result.output
    assert 'socketguard.io/client-emits: "subscribe,unsubscribe"' in result.output
    assert "socketguard.io/client-listens: \"agent:complete,agent:progress,agent:spawned," in result.output
    assert "# client-url: set in code by `process.env.NEXT_PUBLIC_MAGEAGENT_WS_URL`" in result.output


def test_cli_explains_unknown_rooms_of_a_server() -> None:
    result = CliRunner().invoke(main, ["contract", "scan", str(BACKEND_TS)])
    assert result.exit_code == 0, result.output
    assert "rooms: unknown, it handles 'subscribe' at" in result.output
    assert "socketguard.io/rooms" not in result.output


def test_cli_json_has_every_item_with_its_location() -> None:
    result = CliRunner().invoke(main, ["contract", "scan", str(BACKEND_PY), "-o", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["annotations"]["socketguard.io/rooms"] == "agent:{agent_id}"
    joined = document["sides"]["server"]["rooms"]["joined"]
    assert joined[0]["pattern"] == "agent:{agent_id}" and joined[0]["file"].endswith("server.py")
    assert all(isinstance(item["line"], int) for item in document["sides"]["server"]["emits"])


def test_cli_missing_path_exits_2_with_a_located_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["contract", "scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope'}: no such file or directory" in result.output


def test_cli_without_tree_sitter_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter", None)
    for module in ("source", "collect", "javascript", "python"):
        monkeypatch.delitem(sys.modules, f"socketguard.inputs.scan.{module}", raising=False)
    result = CliRunner().invoke(main, ["contract", "scan", str(FRONTEND)])
    assert result.exit_code == 2
    assert "pip install 'socketguard[scan]'" in result.output
