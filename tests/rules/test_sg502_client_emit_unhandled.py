from sg50x_support import client, events, ref, run, server

from socketguard.engine.rules.sg502_client_emit_unhandled import RULE


def test_reports_client_emits_without_a_server_handler() -> None:
    frontend = client("frontend", emits=events("subscribe", "unsubscribe", "ping_me"))
    backend = server("mageagent", listens=events("subscribe", "unsubscribe", "stop_agent"))
    [finding] = run(RULE, (frontend, backend))
    assert finding.code == "SG502" and finding.subject == ref("frontend")
    assert "'ping_me'" in finding.message and "Deployment web/mageagent" in finding.message
    assert "handle 'ping_me' in Deployment web/mageagent" in finding.fixes[0]
    assert finding.field_path == "metadata.annotations['socketguard.io/emits']"


def test_handled_by_any_of_several_servers_is_fine() -> None:
    frontend = client("frontend", emits=events("a", "b"))
    pairs = [(frontend, server("one", listens=events("a"))), (frontend, server("two", listens=events("b")))]
    assert run(RULE, *pairs) == []


def test_unknown_server_listens_skips() -> None:
    assert run(RULE, (client("frontend", emits=events("a")), server("s"))) == []
