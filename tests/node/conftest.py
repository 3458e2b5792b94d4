"""A control plane with a real node for this directory's tests (``NodeCluster``, stopped after them); the chart
installed once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from socketguard.testing.controlplane import ControlPlaneError
from socketguard.testing.images import project_image_reference
from socketguard.testing.node import NodeCluster

from .sg_node import CHART, NAMESPACE, RELEASE


@pytest.fixture(scope="package")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    cluster = NodeCluster(run_dir=tmp_path_factory.mktemp("node"))
    try:
        cluster.start()
    except ControlPlaneError as error:
        pytest.fail(f"the node did not start: {error}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def image_reference() -> str:
    return project_image_reference()


@pytest.fixture(scope="package")
def release(node_cluster: NodeCluster, image_reference: str) -> str:
    """The chart installed once with the built image and its defaults, its namespace enforcing
    restricted Pod Security; the last test uninstalls it."""
    repository, _, tag = image_reference.rpartition(":")
    node_cluster.kubectl("create", "namespace", NAMESPACE)
    node_cluster.kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted")
    node_cluster.helm(
        "install",
        RELEASE,
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
    return RELEASE
