"""Chart tests need helm; without it they fail loudly (skipped only with SOCKETGUARD_SKIP_E2E=1)."""

from __future__ import annotations

import os

import pytest
from chart_render import find_binary

_SKIP_ENV = "SOCKETGUARD_SKIP_E2E"


@pytest.fixture(autouse=True)
def _require_helm() -> None:
    if find_binary("helm") is not None:
        return
    if os.environ.get(_SKIP_ENV, "").strip().lower() in {"1", "true", "yes"}:
        pytest.skip(f"helm is not provisioned and {_SKIP_ENV} is set")
    pytest.fail(
        "helm not found: run .ci/provision.sh (the test harness caches helm under ~/.cache/socketguard/), "
        f"set HELM=/path/to/helm, or set {_SKIP_ENV}=1 to skip",
        pytrace=False,
    )
