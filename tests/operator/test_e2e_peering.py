"""Replicas and kopf peering on a real control plane: a replica never waits in silence, and one
that resumes forgets what was deleted while it was paused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sg_objects import mageagent
from sg_operator import PEERING_CRDS, OperatorProcess, condition, install_peering, operator_kubeconfig

from socketguard.testing import ControlPlane, find_toolset, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of its own: the session's gets kopf's peering CRDs from other tests."""
    toolset = find_toolset()
    if toolset is None:
        pytest.fail("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    with ControlPlane(run_dir=tmp_path_factory.mktemp("no-peering"), toolset=toolset,
                      controller_manager=False) as plane:
        yield plane


def _fresh(objects: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    for obj in objects:
        for key in ("uid", "generation"):
            obj["metadata"].pop(key, None)
    return objects


def test_without_peering_objects_a_replica_says_what_it_waits_for_and_works_once_they_exist(
        bare: ControlPlane, tmp_path: Path) -> None:
    bare.kubectl("delete", "--ignore-not-found", "-f", str(PEERING_CRDS), timeout=90)
    kubeconfig = operator_kubeconfig(bare, peering=False)
    bare.create_namespace("waiting")
    bare.apply(_fresh(mageagent("broken", "waiting")))

    began = time.monotonic()
    process = OperatorProcess(kubeconfig, tmp_path, "--log-format", "plain").launch()
    try:
        wait_for(lambda: "waiting for peering" in process.log(), timeout=max(1.0, 10 - (time.monotonic() - began)),
                 what="the waiting message in the log")
        print(f"\nstart to waiting message: {time.monotonic() - began:.1f} s")
        logged = process.log()
        assert "no ClusterKopfPeering CRD" in logged and "--standalone" in logged
        assert f"kubectl apply -f {PEERING_CRDS}" in logged
        status, body = process.readyz()
        assert status == 503 and "no ClusterKopfPeering CRD" in body and "--standalone" in body
        assert condition(bare, "deployment", "waiting", "mageagent") is None

        # Half done: the CRD without the object. The message follows.
        bare.kubectl("apply", "-f", str(PEERING_CRDS))
        bare.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(PEERING_CRDS), timeout=90)
        wait_for(lambda: "no ClusterKopfPeering named 'socketguard'" in process.readyz()[1], timeout=30,
                 what="/readyz naming the missing peering object")

        # What the message says to do is enough: the replica leads and writes its verdicts.
        install_peering(bare)
        wait_for(process.ready, timeout=60, what="ready once peering exists")
        wait_for(lambda: (condition(bare, "deployment", "waiting", "mageagent") or {}).get("status") == "False",
                 timeout=30, what="the broken example's condition")
    finally:
        process.stop()


def test_a_standalone_replica_needs_no_peering(bare: ControlPlane, tmp_path: Path) -> None:
    kubeconfig = operator_kubeconfig(bare, peering=False)
    bare.create_namespace("standalone")
    bare.apply(_fresh(mageagent("broken", "standalone")))
    began = time.monotonic()
    process = OperatorProcess(kubeconfig, tmp_path, "--standalone").launch()
    try:
        wait_for(lambda: (condition(bare, "deployment", "standalone", "mageagent") or {}).get("status") == "False",
                 timeout=max(1.0, 5 - (time.monotonic() - began)), interval=0.1,
                 what="the broken example's condition within 5 s of start")
        print(f"\nstart to condition written (--standalone): {time.monotonic() - began:.1f} s")
        assert "waiting for peering" not in process.log()
    finally:
        process.stop()
