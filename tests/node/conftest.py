"""A control plane with a real node for the whole session (``NodeCluster``), the chart installed once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from socketguard.testing.controlplane import ControlPlaneError
from socketguard.testing.images import project_image_reference
from socketguard.testing.node import NodeCluster


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def image_reference() -> str:
    return project_image_reference()
