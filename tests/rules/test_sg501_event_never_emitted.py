from sg50x_support import client, events, ref, run, server

from socketguard.engine.findings import Severity
from socketguard.engine.rules.sg501_event_never_emitted import RULE


def test_reports_each_listened_event_no_server_emits() -> None:
    frontend = client("frontend", listens=events("agent:spawned", "agent_stream", "task:complete"))
    backend = server("mageagent", emits=events("agent_stream", "orchestration_update"))
    findings = run(RULE, (frontend, backend))
    assert [f.code for f in findings] == ["SG501", "SG501"]
    assert all(f.subject == ref("frontend") and f.severity is Severity.WARNING for f in findings)
    spawned, complete = findings
    assert "'agent:spawned'" in spawned.message and "Deployment web/mageagent" in spawned.message
    assert "'task:complete'" in complete.message
    assert spawned.fixes[0].startswith("emit 'agent:spawned' from Deployment web/mageagent")
    assert "'agent_stream'" in spawned.fixes[0]  # the similarly named event it does emit
    assert spawned.related == (ref("mageagent"),)
    assert spawned.field_path == "metadata.annotations['socketguard.io/listens']"


def test_an_event_counts_as_emitted_when_any_paired_server_emits_it() -> None:
    frontend = client("frontend", listens=events("a", "b"))
    pairs = [(frontend, server("one", emits=events("a"))), (frontend, server("two", emits=events("b")))]
    assert run(RULE, *pairs) == []


def test_skipped_when_any_side_is_unknown() -> None:
    frontend = client("frontend", listens=events("a"))
    assert run(RULE, (frontend, server("one", emits=events("b")), ), (frontend, server("two"))) == []
    assert run(RULE, (client("frontend"), server("one", emits=events("b")))) == []


def test_path_comes_from_the_annotation_that_set_listens() -> None:
    path = ("spec", "template", "metadata", "annotations", "socketguard.io/client-listens")
    frontend = client("frontend", listens=events("x"), sources={"listens": path})
    [finding] = run(RULE, (frontend, server("s", emits=events())))
    assert finding.path == path
