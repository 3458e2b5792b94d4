"""The operator on a real control plane with Argo Rollouts' and KEDA's CRDs: a Rollout server gets its condition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sg_objects import ROLLOUTS_EXAMPLE, mageagent
from sg_operator import OperatorProcess, condition, operator_kubeconfig

from socketguard.testing import Cluster, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def operator(control_plane: Cluster, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(operator_kubeconfig(control_plane), tmp_path, "--standalone").start()
    yield process
    process.stop()


def test_rollout_server_gets_its_condition_and_loses_the_error_when_fixed(
        control_plane: Cluster, kube_namespace: str, operator: OperatorProcess) -> None:
    ns = kube_namespace
    control_plane.apply(mageagent("broken", ns, example=ROLLOUTS_EXAMPLE))

    def rollout_condition() -> dict[str, object] | None:
        return condition(control_plane, "rollout.argoproj.io", ns, "mageagent")

    broken = wait_for(lambda: (c := rollout_condition()) and c.get("status") == "False" and c,
                      timeout=60, what="Rollout condition False")
    assert broken["reason"] == "SocketPathMismatch", broken
    assert "rewrite: {uri: /socket.io/}" in str(broken["message"])
    assert broken["lastUpdateTime"], broken  # Argo's condition schema requires it
    route = wait_for(lambda: condition(control_plane, "virtualservice", ns, "adverant"), timeout=30,
                     what="VirtualService condition")
    assert route["status"] == "False"

    control_plane.apply(mageagent("fixed", ns, example=ROLLOUTS_EXAMPLE))
    control_plane.kubectl("delete", "service", "mageagent-canary", "-n", ns)
    fixed = wait_for(lambda: (c := rollout_condition()) and c.get("status") != "False" and c,
                     timeout=60, what="Rollout condition no longer False")
    assert fixed["reason"] != "SocketPathMismatch", fixed
