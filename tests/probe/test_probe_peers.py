"""The probe against real servers (socket.io on node, python-socketio) directly and through nginx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ENGINE_IO_PATH, EXTRA_NAMESPACE, GOOD_ORIGIN, SERVER_PATH, STACKS, Topology
from socketguard.probe import Cause, Outcome, ProbeOptions, ProbeReport, run_probe_blocking
from socketguard.probe.render import summary_line

pytestmark = pytest.mark.peers

REPO = Path(__file__).resolve().parents[2]
ALL_STEPS = [
    "polling-handshake", "cors", "namespace-connect", "poll-1", "poll-2", "poll-3",
    "websocket-upgrade", "websocket-handshake", "websocket-namespace",
]


def probe(url: str, **options: object) -> ProbeReport:
    options.setdefault("timeout_s", 5.0)
    return run_probe_blocking(ProbeOptions.create(url, **options))  # type: ignore[arg-type]


def causes(report: ProbeReport) -> list[Cause]:
    return [entry.diagnosis.cause for entry in report.diagnoses]


def outcome(report: ProbeReport, step: str) -> Outcome:
    result = report.step(step)
    assert result is not None, f"no step {step} in {[s.name for s in report.steps]}"
    return result.outcome


def socketguard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "operator"), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "socketguard", "probe", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


@pytest.mark.parametrize("stack", STACKS)
def test_direct_connection_passes_every_step(peers: Topology, stack: str) -> None:
    report = probe(peers.direct[stack], path=SERVER_PATH, origin=GOOD_ORIGIN, namespace=EXTRA_NAMESPACE)

    assert [step.name for step in report.steps] == ALL_STEPS
    assert report.ok, report.as_dict()
    assert report.handshake is not None
    assert report.handshake.upgrades == ("websocket",)
    assert report.handshake.ping_interval_ms == 25000
    assert all(step.duration_ms is not None for step in report.steps if step.name != "cors")
    assert report.diagnoses == ()


@pytest.mark.parametrize("stack", STACKS)
def test_prefix_rewrite_through_nginx_works(peers: Topology, stack: str) -> None:
    report = probe(f"{peers.proxy_http}/{stack}/app{SERVER_PATH}", origin=GOOD_ORIGIN)

    assert report.ok, report.as_dict()


@pytest.mark.parametrize("stack", STACKS)
def test_wrong_rewrite_is_diagnosed_as_a_path_problem(peers: Topology, stack: str) -> None:
    report = probe(f"{peers.proxy_http}/{stack}/wrong{SERVER_PATH}")

    assert not report.ok
    assert causes(report)[0] is Cause.WRONG_PATH
    handshake = report.step("polling-handshake")
    assert handshake is not None and handshake.http_status == 404
    assert outcome(report, "namespace-connect") is Outcome.SKIPPED
    assert "rewrite" in report.diagnoses[0].diagnosis.hint
    if stack == "node":
        # node's 404 page quotes the path it received: the rewritten one.
        assert "Cannot GET /api/ws/socket.io/" in report.diagnoses[0].diagnosis.summary


def test_route_that_no_location_serves_names_the_proxy_page(peers: Topology) -> None:
    report = probe(f"{peers.proxy_http}/nothing{SERVER_PATH}", transport="polling")

    assert causes(report) == [Cause.WRONG_PATH]
    assert "nginx's own" in report.diagnoses[0].diagnosis.summary


@pytest.mark.parametrize("stack", STACKS)
def test_round_robin_without_stickiness_is_diagnosed(peers: Topology, stack: str) -> None:
    report = probe(f"{peers.proxy_http}/{stack}/rr{SERVER_PATH}", polls=3)

    assert not report.ok
    assert Cause.NO_STICKY_SESSIONS in causes(report)
    failed = [step for step in report.steps if step.outcome is Outcome.FAILED]
    assert any(step.name.startswith("poll-") or step.name == "namespace-connect" for step in failed)
    # A WebSocket-only session lives on one connection, so it needs no stickiness.
    assert outcome(report, "websocket-handshake") is Outcome.OK


def test_sticky_diagnosis_in_plain_words_on_the_command_line(peers: Topology) -> None:
    result = socketguard(f"{peers.proxy_http}/node/rr{SERVER_PATH}", "--polls", "3", "--timeout", "5")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "no-sticky-sessions" in result.stdout
    assert "Session ID unknown" in result.stdout
    assert "affinity" in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_disallowed_origin_is_diagnosed_as_cors(peers: Topology, stack: str) -> None:
    report = probe(peers.direct[stack], path=SERVER_PATH, origin="https://evil.example")

    assert not report.ok
    assert causes(report)[0] is Cause.CORS
    assert "https://evil.example" in report.diagnoses[0].diagnosis.summary


def test_node_refuses_origin_only_by_leaving_out_the_cors_header(peers: Topology) -> None:
    report = probe(peers.direct["node"], path=SERVER_PATH, origin="https://evil.example")

    assert outcome(report, "polling-handshake") is Outcome.OK
    assert outcome(report, "cors") is Outcome.FAILED
    # node never checks Origin on WebSocket, which is why the CORS verdict comes from polling.
    assert outcome(report, "websocket-handshake") is Outcome.OK


def test_same_origin_page_needs_no_cors_headers(peers: Topology) -> None:
    report = probe(f"{peers.proxy_http}/node/app{SERVER_PATH}", origin=peers.proxy_http, transport="polling")

    assert report.ok, report.as_dict()
    cors = report.step("cors")
    assert cors is not None and cors.detail.startswith("same origin")


@pytest.mark.parametrize("stack", STACKS)
def test_unserved_namespace_is_refused(peers: Topology, stack: str) -> None:
    report = probe(peers.direct[stack], path=SERVER_PATH, namespace="/nope")

    assert causes(report) == [Cause.NAMESPACE_REFUSED]
    assert report.diagnoses[0].steps == ("namespace-connect", "websocket-namespace")
    assert outcome(report, "poll-1") is Outcome.OK


@pytest.mark.parametrize("stack", STACKS)
def test_proxy_without_upgrade_headers_refuses_the_upgrade(peers: Topology, stack: str) -> None:
    report = probe(f"{peers.proxy_http}/{stack}/noupgrade{SERVER_PATH}")

    assert causes(report) == [Cause.UPGRADE_REFUSED]
    assert outcome(report, "poll-3") is Outcome.OK
    assert outcome(report, "websocket-upgrade") is Outcome.FAILED
    assert outcome(report, "websocket-handshake") is Outcome.FAILED
    assert "Upgrade" in report.diagnoses[0].diagnosis.hint


def test_upstream_down_is_a_proxy_error(peers: Topology) -> None:
    report = probe(f"{peers.proxy_http}/down{SERVER_PATH}", transport="polling")

    assert causes(report) == [Cause.PROXY_ERROR]
    handshake = report.step("polling-handshake")
    assert handshake is not None and handshake.http_status == 502


def test_web_app_fallback_page_is_not_engineio(peers: Topology) -> None:
    report = probe(f"{peers.proxy_http}/spa{SERVER_PATH}")

    assert causes(report) == [Cause.NOT_ENGINEIO, Cause.UPGRADE_REFUSED]
    assert "an HTML page" in report.diagnoses[0].diagnosis.summary
    websocket = report.step("websocket-handshake")
    assert websocket is not None and websocket.http_status == 200


def test_redirect_is_reported_with_its_target(peers: Topology) -> None:
    report = probe(f"{peers.proxy_http}/moved{SERVER_PATH}", transport="polling")

    assert causes(report) == [Cause.REDIRECT]
    assert f"{peers.proxy_https}/node/app/" in report.diagnoses[0].diagnosis.summary


def test_engineio_without_socketio_never_answers_connect(peers: Topology) -> None:
    report = probe(peers.odd["engine.io only"], path=ENGINE_IO_PATH, timeout_s=2.0)

    assert causes(report) == [Cause.PROTOCOL]
    assert report.diagnoses[0].steps == ("namespace-connect", "websocket-namespace")
    assert "did not answer the Socket.IO CONNECT" in report.diagnoses[0].diagnosis.summary
    # The abandoned long poll ended the session: polling on would only fake "no sticky sessions".
    assert outcome(report, "poll-1") is Outcome.SKIPPED
    assert outcome(report, "websocket-handshake") is Outcome.OK


def test_websocket_accepted_then_silent_is_a_hang_up(peers: Topology) -> None:
    report = probe(peers.odd["silent websocket"], path="/", transport="websocket", timeout_s=2.0)

    assert causes(report) == [Cause.UPGRADE_HUNG_UP]
    assert "no open packet" in report.diagnoses[0].diagnosis.summary


def test_operator_summary_names_the_first_cause(peers: Topology) -> None:
    sticky = probe(f"{peers.proxy_http}/node/rr{SERVER_PATH}", transport="polling")
    working = probe(f"{peers.proxy_http}/node/app{SERVER_PATH}", transport="polling")

    assert summary_line(sticky).startswith("no-sticky-sessions: ")
    assert summary_line(working).startswith("every probe step")


@pytest.mark.parametrize("stack", STACKS)
def test_tls_with_the_ca_file_works(peers: Topology, stack: str) -> None:
    report = probe(
        f"{peers.proxy_https}/{stack}/app{SERVER_PATH}", ca_file=str(peers.tls.ca_cert), origin=GOOD_ORIGIN
    )

    assert report.ok, report.as_dict()


def test_tls_json_output_and_exit_zero(peers: Topology) -> None:
    result = socketguard(
        f"{peers.proxy_https}/node/app{SERVER_PATH}", "--ca-file", str(peers.tls.ca_cert), "-o", "json"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["target"].startswith("https://127.0.0.1:")
    assert [step["outcome"] for step in document["steps"]] == ["ok"] * 8


def test_untrusted_certificate_is_a_tls_failure(peers: Topology) -> None:
    result = socketguard(f"{peers.proxy_https}/node/app{SERVER_PATH}", "--timeout", "5")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "tls (in polling-handshake, websocket-handshake)" in result.stdout
    assert "--ca-file" in result.stdout


def test_insecure_skips_certificate_verification(peers: Topology) -> None:
    result = socketguard(f"{peers.proxy_https}/python/app{SERVER_PATH}", "--insecure", "--transport", "polling")

    assert result.returncode == 0, result.stdout + result.stderr


def test_closed_port_is_a_tcp_failure(peers: Topology) -> None:
    result = socketguard(f"http://127.0.0.1:{peers.closed_port}", "--timeout", "5")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "tcp (in polling-handshake, websocket-handshake)" in result.stdout


def test_unresolvable_name_is_a_dns_failure() -> None:
    # .invalid is reserved (RFC 2606): no resolver may answer it.
    result = socketguard("http://socketguard-probe.invalid", "--transport", "polling", "--timeout", "10")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "dns (in polling-handshake)" in result.stdout
