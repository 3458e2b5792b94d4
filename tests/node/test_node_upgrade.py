"""The release's later life on the node: `helm upgrade` with hold and live probes on, both at work
through real pods, then `helm uninstall` and its cleanup Job. Runs after test_node_install.py."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from typing import Any

import pytest
import yaml

from socketguard.testing import wait_for
from socketguard.testing.node import NodeCluster
from socketguard.webhook.modes import HELD_ANNOTATION

from .sg_node import (
    CHART,
    NAMESPACE,
    create_namespace,
    dry_run_denied,
    get,
    handshake_probe,
    mageagent,
    pods,
    rollout,
    route_condition,
    serve_socketio,
    server_args,
    wait_condition,
)

pytestmark = [pytest.mark.e2e, pytest.mark.node]

PROBE_PATH = "/chat/socket.io"
# Values the upgrade turns on; the pod annotation changes both pod templates, so both Deployments roll.
UPGRADE_VALUES = (
    "hold.enabled=true",
    "operator.probes.enabled=true",
    "operator.probes.intervalSeconds=5",
    "operator.probes.ratePerSecond=5",
    "webhook.podAnnotations.socketguard-test/upgraded=yes",
    "operator.podAnnotations.socketguard-test/upgraded=yes",
)
UPGRADE_ATTEMPTS_LIMIT = 400


def _webhook_pod_names(cluster: NodeCluster) -> set[str]:
    return {pod["metadata"]["name"] for pod in pods(cluster, NAMESPACE, "app.kubernetes.io/component=webhook")}


def _tls_secret(cluster: NodeCluster) -> dict[str, str]:
    data: dict[str, str] = get(cluster, "secret", "socketguard-webhook-tls", NAMESPACE)["data"]
    return data


def _ca_bundles(cluster: NodeCluster) -> set[str]:
    bundles = set()
    for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        listing = json.loads(
            cluster.kubectl("get", kind, "-l", "app.kubernetes.io/instance=socketguard", "-o", "json").stdout
        )
        bundles |= {hook["clientConfig"]["caBundle"] for item in listing["items"] for hook in item["webhooks"]}
    return bundles


def test_helm_upgrade_keeps_the_certificate_and_leaves_no_denial_gap(
    node_cluster: NodeCluster, release: str, image_reference: str, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = "upgrade"
    create_namespace(node_cluster, namespace, "socketguard.io/enforce=enforce")
    node_cluster.apply(mageagent("fixed-by-path", namespace))
    breaking = yaml.safe_dump_all(mageagent("broken", namespace, "mageagent.yaml"))
    wait_for(lambda: dry_run_denied(node_cluster, breaking), timeout=60, interval=1, what="the breaking change denied")
    before = _tls_secret(node_cluster)

    repository, _, tag = image_reference.rpartition(":")
    settings = [
        arg
        for value in (f"image.repository={repository}", f"image.tag={tag}", *UPGRADE_VALUES)
        for arg in ("--set", value)
    ]
    argv = [
        node_cluster.helm_binary,
        "--kubeconfig",
        str(node_cluster.kubeconfig),
        "upgrade",
        release,
        str(CHART),
        "--namespace",
        NAMESPACE,
        *settings,
        "--wait",
        "--timeout",
        "5m",
    ]
    old_webhooks = _webhook_pod_names(node_cluster)
    started = time.monotonic()
    upgrade = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    answers: list[bool] = []
    try:
        # Until Helm is done and the old webhook pods are gone (terminating ones may still be endpoints).
        while (upgrade.poll() is None or old_webhooks & _webhook_pod_names(node_cluster)) and (
            len(answers) < UPGRADE_ATTEMPTS_LIMIT
        ):
            answers.append(bool(dry_run_denied(node_cluster, breaking)))
    finally:
        output, _ = upgrade.communicate(timeout=320)
    assert upgrade.returncode == 0, output
    assert not old_webhooks & _webhook_pod_names(node_cluster), "the webhook pods did not roll"
    with capsys.disabled():
        print(
            f"\nhelm upgrade: {time.monotonic() - started:.0f} s; breaking dry-runs during it: "
            f"{answers.count(True)} denied, {answers.count(False)} allowed"
        )
    assert answers and all(answers), f"{answers.count(False)} of {len(answers)} breaking dry-runs were allowed"

    assert _tls_secret(node_cluster) == before
    assert _ca_bundles(node_cluster) == {before["ca.crt"]}
    assert b"BEGIN CERTIFICATE" in base64.b64decode(before["tls.crt"])
    assert dry_run_denied(node_cluster, breaking) is True


def test_hold_pauses_the_update_and_the_operator_pod_resumes_it_after_the_fix(
    node_cluster: NodeCluster, release: str
) -> None:
    namespace = "hold"
    create_namespace(node_cluster, namespace, "socketguard.io/enforce=hold")
    # The example's workloads behind the fixed-by-rewrite route: no error, the server at /socket.io.
    node_cluster.apply(mageagent("broken", namespace, "mageagent.yaml", "dashboard.yaml", "gateway.yaml"))
    route = mageagent("fixed-by-rewrite", namespace, "virtualservice.yaml")
    node_cluster.apply(route)
    rollout(node_cluster, namespace, "mageagent")
    wait_condition(node_cluster, namespace, "mageagent", "True", "SocketRouteOK")

    # The server moves to /other: a release that breaks the route.
    moved = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"socketguard.io/path": "/other"}},
                "spec": {
                    "containers": [
                        {
                            "name": "mageagent",
                            "args": server_args(8080, "/other"),
                            "readinessProbe": handshake_probe("/other"),
                        }
                    ]
                },
            }
        }
    }
    patch = ("patch", "deployment", "mageagent", "-n", namespace, "-p", json.dumps(moved))
    wait_for(
        lambda: (
            json.loads(node_cluster.kubectl(*patch, "--dry-run=server", "-o", "json").stdout)["spec"].get("paused")
            is True
        ),
        timeout=60,
        interval=1,
        what="the dry-run of the update held",
    )
    node_cluster.kubectl(*patch)
    held = get(node_cluster, "deployment", "mageagent", namespace)
    assert held["spec"]["paused"] is True
    assert held["metadata"]["annotations"][HELD_ANNOTATION].startswith("SG102: ")

    route[0]["spec"]["http"][0]["rewrite"]["uri"] = "/other/"
    node_cluster.apply(route)
    wait_for(
        lambda: not get(node_cluster, "deployment", "mageagent", namespace)["spec"].get("paused"),
        timeout=90,
        what="the operator pod resuming the held Deployment",
    )
    assert HELD_ANNOTATION not in get(node_cluster, "deployment", "mageagent", namespace)["metadata"]["annotations"]
    # The held template rolls out: the new pod is Ready only once its server answers at /other.
    rollout(node_cluster, namespace, "mageagent")


def _chat_server(namespace: str, listening_at: str) -> list[dict[str, Any]]:
    """A python-socketio server declared (and probed) at PROBE_PATH, listening at ``listening_at``."""
    annotations = {
        "socketguard.io/role": "server",
        "socketguard.io/stack": "python",
        "socketguard.io/port": "http",
        "socketguard.io/path": PROBE_PATH,
        "socketguard.io/probe": "true",
    }
    labels = {"app": "chat"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "chat", "namespace": namespace, "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "chat", "ports": [{"name": "http", "containerPort": 8080}]}]},
            },
        },
    }
    serve_socketio(deployment, "python", listening_at)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "chat", "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]},
    }
    return [deployment, service]


def test_live_probes_reach_the_server_through_its_service_dns_name(node_cluster: NodeCluster, release: str) -> None:
    namespace = "probes"
    create_namespace(node_cluster, namespace)
    node_cluster.apply(_chat_server(namespace, "/elsewhere/socket.io"))
    rollout(node_cluster, namespace, "chat")
    failed = wait_condition(node_cluster, namespace, "chat", "False", "ProbeHandshakeFailed")
    url = f"http://chat.{namespace}.svc.cluster.local:8080{PROBE_PATH}"
    assert failed["message"].startswith(f"SG601 probe-handshake-failed: probe of {url} failed: wrong-path"), failed

    node_cluster.apply(_chat_server(namespace, PROBE_PATH))
    rollout(node_cluster, namespace, "chat")
    wait_condition(node_cluster, namespace, "chat", "True", "SocketRouteOK")


def test_helm_uninstall_runs_the_cleanup_job_that_removes_conditions_and_reports(
    node_cluster: NodeCluster, release: str
) -> None:
    namespace = "cleanup"
    create_namespace(node_cluster, namespace)
    node_cluster.apply(mageagent("broken", namespace))
    wait_condition(node_cluster, namespace, "mageagent", "False", "SocketPathMismatch")
    wait_for(lambda: _reports(node_cluster, namespace), timeout=60, what="the namespace's PolicyReport")

    node_cluster.helm("uninstall", release, "--namespace", NAMESPACE, "--wait", "--timeout", "3m", timeout=240)

    assert route_condition(node_cluster, namespace, "mageagent") is None
    assert _reports(node_cluster, namespace) == []
    # The Job is deleted once it succeeded (its hook policy); its Events say a pod ran it to completion.
    events = json.loads(node_cluster.kubectl("get", "events", "-n", NAMESPACE, "-o", "json").stdout)["items"]
    job_events = {
        (e["reason"], e["involvedObject"]["kind"])
        for e in events
        if e["involvedObject"]["name"].startswith(f"{release}-cleanup")
    }
    assert {("SuccessfulCreate", "Job"), ("Completed", "Job"), ("Started", "Pod")} <= job_events, job_events


def _reports(cluster: NodeCluster, namespace: str) -> list[str]:
    found = cluster.kubectl("get", "policyreports.wgpolicyk8s.io", "-n", namespace, "-o", "name").stdout
    return found.split()
