"""The operator's live probes against a real control plane and a real python-socketio server.

A test machine has no cluster DNS, so the operator gets the hidden test seam
`--probe-test-address <service host>=127.0.0.1:<port>`: the URL it builds and checks against the
allow-list is the in-cluster Service name; only the TCP connection goes to the local peer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sg_objects import server, service
from sg_operator import OperatorProcess, condition, events, operator_kubeconfig, report_results

from socketguard.testing import Cluster, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probe"))
from peer_harness import Peer, require_peers, start_socketio_server

pytestmark = pytest.mark.e2e

SERVER_PATH = "/chat/socket.io"


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    require_peers()
    started = start_socketio_server("python", tmp_path, path=SERVER_PATH, label="chat")
    yield started
    started.stop()


def test_a_probed_server_with_the_wrong_path_gets_sg601_until_fixed(
        control_plane: Cluster, kube_namespace: str, peer: Peer, tmp_path: Path) -> None:
    ns = kube_namespace
    host = f"chat.{ns}.svc.cluster.local"
    kubeconfig = operator_kubeconfig(control_plane)
    process = OperatorProcess(kubeconfig, tmp_path, "--standalone", "--namespace", ns, "--probes",
                              "--probe-interval", "1", "--probe-rate", "5",
                              "--probe-test-address", f"{host}=127.0.0.1:{peer.port}").start()
    try:
        control_plane.apply(_fresh(server("chat", ns, path="/wrong/socket.io", probe="true")))
        control_plane.apply(_fresh(server("quiet", ns, path="/nothing-listens/socket.io")))
        control_plane.apply(_fresh(service("chat", ns)))
        control_plane.apply(_fresh(service("quiet", ns)))

        failed = wait_for(lambda: _with_reason(control_plane, ns, "chat", "ProbeHandshakeFailed"),
                          timeout=60, what=f"SG601 on the probed server (log {process.log_path})")
        assert failed["status"] == "False"
        assert failed["message"].startswith(
            f"SG601 probe-handshake-failed: probe of http://{host}:8080/wrong/socket.io failed: wrong-path")
        warning = wait_for(lambda: [e for e in events(control_plane, ns) if e.get("reason") == "ProbeHandshakeFailed"],
                           timeout=30, what="the SG601 Warning Event")
        assert warning[0]["type"] == "Warning" and warning[0]["involvedObject"]["name"] == "chat"
        sg601 = wait_for(lambda: [r for r in report_results(control_plane, ns) if r.get("policy") == "SG601"],
                         timeout=30, what="SG601 in the PolicyReport")
        assert sg601[0]["result"] == "fail"
        # Not annotated socketguard.io/probe: never probed, so never SG601.
        quiet = condition(control_plane, "deployment", ns, "quiet") or {}
        assert "SG601" not in quiet.get("message", "")

        control_plane.apply(_fresh(server("chat", ns, path=SERVER_PATH, probe="true")))
        cleared = wait_for(lambda: _cleared(control_plane, ns), timeout=60,
                           what=f"SG601 cleared (log {process.log_path})")
        assert (cleared["status"], cleared["reason"]) == ("True", "SocketRouteOK"), cleared
        assert f"probed http://{host}:8080{SERVER_PATH}: every probe step" in process.log()
    finally:
        process.stop()


def _fresh(obj: dict[str, Any]) -> dict[str, Any]:
    for key in ("uid", "generation"):
        obj["metadata"].pop(key, None)
    return obj


def _with_reason(cluster: Cluster, ns: str, name: str, reason: str) -> dict[str, str] | None:
    found = condition(cluster, "deployment", ns, name)
    return found if found is not None and found.get("reason") == reason else None


def _cleared(cluster: Cluster, ns: str) -> dict[str, str] | None:
    found = condition(cluster, "deployment", ns, "chat")
    return found if found is not None and found.get("reason") != "ProbeHandshakeFailed" else None
