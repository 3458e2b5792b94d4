"""The chart's pods run from the project's image on a real node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socketguard.testing import wait_for
from socketguard.testing.node import NodeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.node]

CHART = Path(__file__).resolve().parents[2] / "charts" / "socketguard"
NAMESPACE = "socketguard"


def _pods(cluster: NodeCluster, namespace: str, selector: str) -> list[dict[str, object]]:
    listing = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)
    pods: list[dict[str, object]] = listing["items"]
    return pods


def _ready(pod: dict[str, object]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def test_a_pod_runs_and_reaches_the_api_through_the_kubernetes_service(node_cluster: NodeCluster) -> None:
    node_cluster.kubectl("create", "namespace", "smoke")
    node_cluster.kubectl(
        "run", "pause", "-n", "smoke", "--image=registry.k8s.io/pause:3.10.2", "--image-pull-policy=Never"
    )
    wait_for(lambda: [p for p in _pods(node_cluster, "smoke", "run=pause") if _ready(p)], timeout=120, what="pod Ready")


def test_helm_install_under_restricted_pod_security(node_cluster: NodeCluster, image_reference: str) -> None:
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
    pods = _pods(node_cluster, NAMESPACE, "app.kubernetes.io/instance=socketguard")
    assert len(pods) == 4
    assert all(_ready(pod) for pod in pods)
