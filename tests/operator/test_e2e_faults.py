"""The operator under faults on a real control plane of its own: an API server that restarts while
objects change, an operator killed in the middle of a burst. After each, every condition equals
what a fresh analysis of the cluster gives, and no Event is posted twice."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from sg_objects import mageagent, route, server, service
from sg_operator import (
    OperatorProcess,
    converge,
    difference,
    events,
    fresh,
    operator_kubeconfig,
    own_control_plane,
    posted_twice,
    settled,
    shown_conditions,
    wanted_conditions,
)

from socketguard.testing import ControlPlane, wait_for

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def kubeconfig(own_plane: ControlPlane) -> Path:
    return operator_kubeconfig(own_plane)


def test_an_api_server_restart_while_objects_change(
        own_plane: ControlPlane, kubeconfig: Path, tmp_path: Path) -> None:
    ns = "restart"
    own_plane.create_namespace(ns)
    own_plane.apply(fresh(*mageagent("broken", ns), server("a", ns), service("a", ns), route("a", ns),
                      server("b", ns, path="/ws"), service("b", ns), route("b", ns)))
    operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
    try:
        converge(own_plane, ns, 60, "first verdicts")
        settled(operator)
        before = {(e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"])
                  for e in events(own_plane, ns)}

        # Changes right before the stop and right after the start, before the operator reconnects.
        own_plane.apply(fresh(route("b", ns, rewrite="/ws/")))  # fixes b
        own_plane.restart_apiserver(down=3.0)
        back = time.monotonic()
        own_plane.apply(fresh(server("a", ns, path="/ws")))  # breaks a
        own_plane.kubectl("delete", "virtualservice", "adverant", "-n", ns)  # the example's route goes

        converge(own_plane, ns, 90, "after the restart")
        print(f"\nAPI server back to conditions converged: {time.monotonic() - back:.1f} s")
        assert operator.process is not None and operator.process.poll() is None  # reconnected, not restarted
        settled(operator)
        assert difference(own_plane, ns) == {}
        assert posted_twice(own_plane, ns) == []
        after = {(e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"])
                 for e in events(own_plane, ns)}
        # New Events only where verdicts changed: b turned OK, a broke, the example lost its route
        # (its server and client, and its Gateway, which now serves the host with no route: SG110).
        assert {name for _, name, _ in after - before} <= {"a", "b", "mageagent", "dashboard", "adverant-gateway"}
    finally:
        operator.stop()


def test_an_operator_killed_mid_burst_is_replaced_without_lost_verdicts_or_repeats(
        own_plane: ControlPlane, kubeconfig: Path, tmp_path: Path) -> None:
    ns = "killed"
    own_plane.create_namespace(ns)
    own_plane.apply(fresh(*mageagent("broken", ns)))
    operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
    replacement = None
    try:
        converge(own_plane, ns, 60, "first verdicts")
        settled(operator)
        kept = shown_conditions(own_plane, ns)

        burst = [obj for i in range(40) for obj in fresh(server(f"s{i}", ns, path="/ws" if i % 2 else None),
                                                         service(f"s{i}", ns), route(f"s{i}", ns))]
        before = operator.writes()
        own_plane.apply(burst)
        wait_for(lambda: operator.writes() > before, timeout=60, interval=0.05, what="the first writes of the burst")
        assert operator.process is not None
        operator.process.kill()  # SIGKILL: no shutdown, writes cut where they are
        operator.process.wait(timeout=10)
        partial = len(shown_conditions(own_plane, ns))

        killed = time.monotonic()
        replacement = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
        converge(own_plane, ns, 120, "the replacement's verdicts")
        print(f"\nkilled with {partial} of {len(wanted_conditions(own_plane, ns))} conditions written; "
              f"converged {time.monotonic() - killed:.1f} s after the kill")
        settled(replacement)
        assert posted_twice(own_plane, ns) == []
        shown = shown_conditions(own_plane, ns)
        for key, condition in kept.items():  # untouched by the burst: not even a new transition time
            assert shown[key]["lastTransitionTime"] == condition["lastTransitionTime"], key
    finally:
        operator.stop()
        if replacement is not None:
            replacement.stop()



def test_a_watch_that_expires_with_410_gone_relists_to_exactly_the_cluster(tmp_path: Path) -> None:
    """Watches served by etcd itself (no watch cache); the operator is frozen while its watches
    are cut, objects are deleted and updated, and etcd's history is compacted past the watches'
    resourceVersion: resuming them is `410 Gone`, and kopf lists again."""
    with own_control_plane(tmp_path / "no-watch-cache", apiserver_args=["--watch-cache=false"]) as plane:
        ns = "expiry"
        plane.create_namespace(ns)
        plane.apply(fresh(server("a", ns), service("a", ns), route("a", ns),
                          server("b", ns, path="/ws"), service("b", ns), route("b", ns),
                          server("c", ns), service("c", ns), route("c", ns)))
        operator = OperatorProcess(operator_kubeconfig(plane), tmp_path, "--standalone").start()
        try:
            converge(plane, ns, 60, "first verdicts")
            settled(operator)
            assert operator.process is not None
            operator.process.send_signal(signal.SIGSTOP)
            try:
                plane.restart_apiserver()  # cuts the frozen operator's watch connections
                plane.kubectl("delete", "virtualservice", "b", "-n", ns)
                plane.kubectl("delete", "service", "c", "-n", ns)
                plane.apply(fresh(server("a", ns, path="/ws")))
                revision = plane.compact_etcd()
            finally:
                operator.process.send_signal(signal.SIGCONT)
            thawed = time.monotonic()
            converge(plane, ns, 90, "after the watches expired")
            print(f"\nwatches expired (etcd compacted at revision {revision}): converged "
                  f"{time.monotonic() - thawed:.1f} s after the operator resumed")
            gone = wait_for(lambda: re.search(r"forgot (\d+) objects deleted", operator.log()), timeout=30,
                            what="the deleted objects forgotten")
            assert gone.group(1) == "2" and "VirtualService expiry/b" in operator.log()
            assert "Service expiry/c" in operator.log()
            assert posted_twice(plane, ns) == []
        finally:
            operator.stop()
