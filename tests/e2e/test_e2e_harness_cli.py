"""`python -m socketguard.testing up/down`, and that no control-plane process outlives its owner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from socketguard.testing import find_toolset, wait_for
from socketguard.testing.pytest_plugin import KUBECONFIG_ENV

pytestmark = pytest.mark.e2e

OPERATOR_DIR = Path(__file__).resolve().parents[2] / "operator"


@pytest.fixture(autouse=True)
def _needs_own_binaries() -> None:
    if os.environ.get(KUBECONFIG_ENV):
        pytest.skip(f"tests the harness's own control plane; {KUBECONFIG_ENV} points at another cluster")
    if find_toolset() is None:
        pytest.fail(
            "control-plane binaries are not provisioned: run `python -m socketguard.testing build`",
            pytrace=False,
        )


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(OPERATOR_DIR), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "socketguard.testing", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _control_plane_pids(run_dir: Path) -> list[int]:
    state = json.loads((run_dir / "state.json").read_text())
    return [int(pid) for pid in state["pids"].values()]


def test_up_serves_a_kubeconfig_and_down_stops_every_process(tmp_path: Path) -> None:
    run_dir = tmp_path / "cp"
    started = _harness("up", "--dir", str(run_dir))
    assert started.returncode == 0, started.stderr
    try:
        assert started.stdout.strip() == f"KUBECONFIG={run_dir / 'kubeconfig'}"
        pids = _control_plane_pids(run_dir)
        toolset = find_toolset()
        assert toolset is not None
        namespaces = subprocess.run(
            [
                str(toolset.kubectl),
                "--kubeconfig",
                str(run_dir / "kubeconfig"),
                "get",
                "namespaces",
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "namespace/kube-system" in namespaces.stdout.split()
        second = _harness("up", "--dir", str(run_dir))
        assert second.returncode != 0
        assert "already running" in second.stderr
    finally:
        stopped = _harness("down", "--dir", str(run_dir))

    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in pids if _alive(pid)] == []
    assert (run_dir / "logs" / "kube-apiserver.log").stat().st_size > 0


def test_control_plane_dies_with_a_killed_supervisor(tmp_path: Path) -> None:
    run_dir = tmp_path / "cp"
    started = _harness("up", "--dir", str(run_dir))
    assert started.returncode == 0, started.stderr
    pids = _control_plane_pids(run_dir)
    supervisor = int((run_dir / "supervisor.pid").read_text())

    os.kill(supervisor, signal.SIGKILL)

    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=30, what="control-plane processes to exit")
    assert "no control plane running" in _harness("down", "--dir", str(run_dir)).stdout
