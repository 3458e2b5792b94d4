from sg50x_support import client, events, ref, run, server

from socketguard.engine.findings import Severity
from socketguard.engine.rules.sg503_event_never_handled import RULE


def test_reports_server_emits_no_client_listens_for_on_the_server() -> None:
    backend = server("mageagent", emits=events("agent_stream", "synthesis_progress"))
    frontend = client("frontend", listens=events("agent_stream", "agent:spawned"))
    [finding] = run(RULE, (frontend, backend))
    assert finding.code == "SG503" and finding.severity is Severity.INFO
    assert finding.subject == ref("mageagent") and finding.related == (ref("frontend"),)
    assert "'synthesis_progress'" in finding.message and "Deployment web/frontend" in finding.message
    assert finding.field_path == "metadata.annotations['socketguard.io/emits']"


def test_listened_by_any_client_is_fine_and_unknown_client_skips() -> None:
    backend = server("mageagent", emits=events("a", "b"))
    assert run(RULE, (client("one", listens=events("a")), backend),
               (client("two", listens=events("b")), backend)) == []
    assert run(RULE, (client("one", listens=events("a")), backend), (client("two"), backend)) == []
