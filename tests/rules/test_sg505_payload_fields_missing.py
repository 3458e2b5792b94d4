from sg50x_support import client, events, ref, run, server

from socketguard.engine.rules.sg505_payload_fields_missing import RULE

STREAM = frozenset({"type", "agentId", "content", "metadata", "timestamp"})


def test_reports_fields_read_that_the_emitted_payload_lacks() -> None:
    frontend = client("frontend", listens=events("agent_stream"),
                      reads={"agent_stream": events("agentId", "name", "model")})
    backend = server("mageagent", emits=events("agent_stream"), payloads={"agent_stream": STREAM})
    [finding] = run(RULE, (frontend, backend))
    assert finding.code == "SG505" and finding.subject == ref("frontend")
    assert "'model', 'name'" in finding.message and "'agentId'" not in finding.message.split("only")[0]
    assert "send 'model', 'name'" in finding.fixes[0]


def test_an_event_no_server_emits_is_compared_with_its_nearest_emitted_event() -> None:
    frontend = client("frontend", listens=events("agent:spawned"),
                      reads={"agent:spawned": events("agentId", "name", "model")})
    backend = server("mageagent", emits=events("agent_stream", "orchestration_update"),
                     payloads={"agent_stream": STREAM, "orchestration_update": events("update")})
    [finding] = run(RULE, (frontend, backend))
    assert "'agent:spawned', which no server emits" in finding.message
    assert "'agent_stream'" in finding.message


def test_complete_or_unknown_payloads_are_fine() -> None:
    frontend = client("frontend", reads={"a": events("x", "y")})
    assert run(RULE, (frontend, server("s", emits=events("a"), payloads={"a": events("x", "y", "z")}))) == []
    assert run(RULE, (frontend, server("s", emits=events("a"), payloads={}))) == []  # payload unknown
    assert run(RULE, (frontend, server("s", emits=events("a")))) == []
    assert run(RULE, (frontend, server("s", emits=events("zzz"), payloads={"zzz": events()}))) == []


def test_any_server_sending_the_field_is_enough() -> None:
    frontend = client("frontend", reads={"a": events("x", "y")})
    one = server("one", emits=events("a"), payloads={"a": events("x")})
    two = server("two", emits=events("a"), payloads={"a": events("y")})
    assert run(RULE, (frontend, one), (frontend, two)) == []
