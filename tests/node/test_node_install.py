"""The chart's pods run from the project's image on a real node; the webhook is reached through its Service;
one operator replica works at a time and the other takes over when it goes."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import yaml

from socketguard.testing import KubectlError, versions, wait_for
from socketguard.testing.node import NodeCluster

from .sg_node import (
    NAMESPACE,
    apply_admitted,
    create_namespace,
    dry_run_denied,
    mageagent,
    operator_pods,
    pods,
    ready,
    readyz,
    rollout,
    split_route,
    wait_condition,
)

pytestmark = [pytest.mark.e2e, pytest.mark.node]

HANDOVER_LIMIT = 90.0


def _active_and_standby(cluster: NodeCluster) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The working operator pod (``/readyz`` 200) and the one kopf peering pauses, when that is the state."""
    answers = [(pod, *readyz(pod)) for pod in operator_pods(cluster)]
    active = [pod for pod, status, _ in answers if status == 200]
    standby = [pod for pod, status, body in answers if status == 503 and "standing by" in body]
    if len(answers) == 2 and len(active) == 1 and len(standby) == 1:
        return active[0], standby[0]
    return None


def test_a_pod_runs_and_reaches_the_api_through_the_kubernetes_service(node_cluster: NodeCluster) -> None:
    node_cluster.kubectl("create", "namespace", "smoke")
    node_cluster.kubectl("run", "pause", "-n", "smoke", f"--image={versions.PAUSE_IMAGE}", "--image-pull-policy=Never")
    wait_for(lambda: [p for p in pods(node_cluster, "smoke", "run=pause") if ready(p)], timeout=120, what="pod Ready")


def test_helm_install_under_restricted_pod_security(node_cluster: NodeCluster, release: str) -> None:
    installed = pods(node_cluster, NAMESPACE, f"app.kubernetes.io/instance={release}")
    assert len(installed) == 4
    assert all(ready(pod) for pod in installed)


def test_exactly_one_operator_replica_is_active(node_cluster: NodeCluster, release: str) -> None:
    active, standby = wait_for(
        lambda: _active_and_standby(node_cluster), timeout=120, interval=2, what="one active and one standby operator"
    )
    peering = json.loads(node_cluster.kubectl("get", "clusterkopfpeering", "socketguard", "-o", "json").stdout)
    peers = peering.get("status") or {}
    # kopf names a peer user@host/...: the host is the pod's name.
    names = sorted(pod["metadata"]["name"] for pod in (active, standby))
    assert sorted(name for identity in peers for name in names if f"@{name}" in identity) == names, peers
    standby_log = node_cluster.kubectl("logs", "-n", NAMESPACE, standby["metadata"]["name"]).stdout
    assert "standing by" in standby_log


def test_kubectl_describe_shows_the_route_condition_of_a_real_server(node_cluster: NodeCluster, release: str) -> None:
    namespace = "describe"
    create_namespace(node_cluster, namespace)
    for variant, status, reason in (
        ("broken", "False", "SocketPathMismatch"),
        ("fixed-by-path", "True", "SocketRouteOK"),
    ):
        node_cluster.apply(mageagent(variant, namespace))
        rollout(node_cluster, namespace, "mageagent")
        wait_condition(node_cluster, namespace, "mageagent", status, reason)
        described = node_cluster.kubectl("describe", "deployment", "mageagent", "-n", namespace).stdout
        assert re.search(rf"^\s*SocketRouteReady\s+{status}\s+{reason}\s*$", described, re.MULTILINE), described


def test_the_webhook_is_called_through_its_service_and_denies_sg102(node_cluster: NodeCluster, release: str) -> None:
    configurations = json.loads(node_cluster.kubectl("get", "validatingwebhookconfiguration", "-o", "json").stdout)
    client_configs = [hook["clientConfig"] for item in configurations["items"] for hook in item["webhooks"]]
    assert client_configs and all("service" in config and "url" not in config for config in client_configs)
    create_namespace(node_cluster, "mageagent", "socketguard.io/enforce=enforce")
    workloads, route = split_route(mageagent("broken", "mageagent"))
    node_cluster.apply(workloads)
    # The webhook learns the namespace's mode and the workloads from its watch; until then it would
    # warn or see no server.
    wait_for(
        lambda: dry_run_denied(node_cluster, yaml.safe_dump_all(route)),
        timeout=60,
        interval=1,
        what="the webhook denying the broken route",
    )
    with pytest.raises(KubectlError) as denied:
        node_cluster.apply(route)
    assert "SG102" in denied.value.stderr
    for fixed in split_route(mageagent("fixed-by-path", "mageagent")):
        apply_admitted(node_cluster, fixed)
    node_cluster.kubectl("get", "virtualservice", "adverant", "-n", "mageagent")
    assert "failing open" not in (node_cluster.work_dir / "logs" / "kube-apiserver.log").read_text()


def test_the_webhook_fails_open_without_pods_and_denies_again_once_ready(
    node_cluster: NodeCluster, release: str
) -> None:
    # The route stays; the server's path (its Deployment) is what breaks and fixes it.
    broken_server = mageagent("broken", "mageagent", "mageagent.yaml")
    fixed_server = mageagent("fixed-by-path", "mageagent", "mageagent.yaml")
    webhook = f"deployment/{release}-webhook"
    for fixed in split_route(mageagent("fixed-by-path", "mageagent")):
        apply_admitted(node_cluster, fixed)
    node_cluster.kubectl("scale", webhook, "-n", NAMESPACE, "--replicas=0")
    wait_for(
        lambda: not pods(node_cluster, NAMESPACE, "app.kubernetes.io/component=webhook"),
        timeout=120,
        what="webhook pods gone",
    )
    node_cluster.apply(broken_server)
    node_cluster.apply(fixed_server)

    node_cluster.kubectl("scale", webhook, "-n", NAMESPACE, "--replicas=2")
    node_cluster.kubectl("rollout", "status", webhook, "-n", NAMESPACE, "--timeout=180s", timeout=200)

    def broken_server_denied() -> str | None:
        try:
            node_cluster.apply(broken_server)
        except KubectlError as error:
            return error.stderr if "SG102" in error.stderr else None
        node_cluster.apply(fixed_server)
        return None

    assert "SG102" in wait_for(broken_server_denied, timeout=60, interval=2, what="SG102 denial after the restart")


def test_another_operator_takes_over_when_the_active_pod_is_deleted(
    node_cluster: NodeCluster, release: str, capsys: pytest.CaptureFixture[str]
) -> None:
    active, standby = wait_for(
        lambda: _active_and_standby(node_cluster), timeout=120, interval=2, what="one active and one standby operator"
    )
    gone = active["metadata"]["name"]
    namespace = "handover"
    create_namespace(node_cluster, namespace)
    started = time.monotonic()
    node_cluster.kubectl("delete", "pod", gone, "-n", NAMESPACE, "--wait=false")
    # Made while no replica may be working: the one that takes over must still see it.
    node_cluster.apply(mageagent("broken", namespace))

    def new_active() -> dict[str, Any] | None:
        others = [pod for pod in operator_pods(node_cluster) if pod["metadata"]["name"] != gone]
        working = [pod for pod in others if readyz(pod)[0] == 200]
        return working[0] if working else None

    successor = wait_for(new_active, timeout=HANDOVER_LIMIT, interval=0.5, what=f"an operator working after {gone}")
    took_over = time.monotonic() - started
    wait_condition(
        node_cluster, namespace, "mageagent", "False", "SocketPathMismatch", timeout=max(HANDOVER_LIMIT - took_over, 5)
    )
    conditioned = time.monotonic() - started
    which = "the standby" if successor["metadata"]["name"] == standby["metadata"]["name"] else "the replacement pod"
    with capsys.disabled():  # the measured time belongs in the run's output
        print(f"\nhand-over: {which} works {took_over:.1f} s after the delete; condition after {conditioned:.1f} s")
