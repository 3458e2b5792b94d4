"""The chart's pods run from the project's image on a real node; the webhook is reached through its Service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from socketguard.testing import KubectlError, wait_for
from socketguard.testing.node import NodeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.node]

REPOSITORY = Path(__file__).resolve().parents[2]
CHART = REPOSITORY / "charts" / "socketguard"
MAGEAGENT = REPOSITORY / "manifests" / "examples" / "mageagent"
NAMESPACE = "socketguard"


def _pods(cluster: NodeCluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    listing = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)
    pods: list[dict[str, Any]] = listing["items"]
    return pods


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@pytest.fixture(scope="module")
def release(node_cluster: NodeCluster, image_reference: str) -> str:
    """The chart installed once with the built image, its namespace enforcing restricted Pod Security."""
    repository, _, tag = image_reference.rpartition(":")
    node_cluster.kubectl("create", "namespace", NAMESPACE)
    node_cluster.kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted")
    node_cluster.helm(
        "install",
        "socketguard",
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--set",
        f"image.repository={repository}",
        "--set",
        f"image.tag={tag}",
        "--wait",
        "--timeout",
        "5m",
    )
    return "socketguard"


def test_a_pod_runs_and_reaches_the_api_through_the_kubernetes_service(node_cluster: NodeCluster) -> None:
    node_cluster.kubectl("create", "namespace", "smoke")
    node_cluster.kubectl(
        "run", "pause", "-n", "smoke", "--image=registry.k8s.io/pause:3.10.2", "--image-pull-policy=Never"
    )
    wait_for(lambda: [p for p in _pods(node_cluster, "smoke", "run=pause") if _ready(p)], timeout=120, what="pod Ready")


def test_helm_install_under_restricted_pod_security(node_cluster: NodeCluster, release: str) -> None:
    pods = _pods(node_cluster, NAMESPACE, f"app.kubernetes.io/instance={release}")
    assert len(pods) == 4
    assert all(_ready(pod) for pod in pods)


def test_the_webhook_is_called_through_its_service_and_denies_sg102(node_cluster: NodeCluster, release: str) -> None:
    configurations = json.loads(node_cluster.kubectl("get", "validatingwebhookconfiguration", "-o", "json").stdout)
    client_configs = [hook["clientConfig"] for item in configurations["items"] for hook in item["webhooks"]]
    assert client_configs and all("service" in config and "url" not in config for config in client_configs)
    node_cluster.kubectl("apply", "-f", str(MAGEAGENT / "broken" / "00-namespace.yaml"))
    node_cluster.kubectl("label", "namespace", "mageagent", "socketguard.io/enforce=enforce", "--overwrite")
    with pytest.raises(KubectlError) as denied:
        node_cluster.kubectl("apply", "-f", str(MAGEAGENT / "broken"))
    assert "SG102" in denied.value.stderr
    node_cluster.kubectl("apply", "-f", str(MAGEAGENT / "fixed-by-path"))
    node_cluster.kubectl("get", "virtualservice", "adverant", "-n", "mageagent")
    assert "failing open" not in (node_cluster.work_dir / "logs" / "kube-apiserver.log").read_text()


def test_the_webhook_fails_open_without_pods_and_denies_again_once_ready(
    node_cluster: NodeCluster, release: str
) -> None:
    # The route stays; the server's path (its Deployment) is what breaks and fixes it.
    broken_route = str(MAGEAGENT / "broken" / "mageagent.yaml")
    fixed_route = str(MAGEAGENT / "fixed-by-path" / "mageagent.yaml")
    webhook = f"deployment/{release}-webhook"
    node_cluster.kubectl("apply", "-f", str(MAGEAGENT / "fixed-by-path"))
    node_cluster.kubectl("scale", webhook, "-n", NAMESPACE, "--replicas=0")
    wait_for(
        lambda: not _pods(node_cluster, NAMESPACE, "app.kubernetes.io/component=webhook"),
        timeout=120,
        what="webhook pods gone",
    )
    node_cluster.kubectl("apply", "-f", broken_route)
    node_cluster.kubectl("apply", "-f", fixed_route)

    node_cluster.kubectl("scale", webhook, "-n", NAMESPACE, "--replicas=2")
    node_cluster.kubectl("rollout", "status", webhook, "-n", NAMESPACE, "--timeout=180s", timeout=200)

    def broken_route_denied() -> str | None:
        try:
            node_cluster.kubectl("apply", "-f", broken_route)
        except KubectlError as error:
            return error.stderr if "SG102" in error.stderr else None
        node_cluster.kubectl("apply", "-f", fixed_route)
        return None

    assert "SG102" in wait_for(broken_route_denied, timeout=60, interval=2, what="SG102 denial after the restart")
