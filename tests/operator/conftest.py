from __future__ import annotations

from collections.abc import Iterator

import pytest
from sg_operator import own_control_plane

from socketguard.testing import ControlPlane


@pytest.fixture(scope="module")
def own_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of the module's own: one its tests restart, or one without the peering CRDs
    that other modules install into the session's."""
    with own_control_plane(tmp_path_factory.mktemp("own-plane")) as plane:
        yield plane
