"""pytest plugin: the ``control_plane`` and ``kube_namespace`` fixtures, logs on failure.

Register it in ``conftest.py`` with ``pytest_plugins = ["socketguard.testing.pytest_plugin"]``.

* ``SOCKETGUARD_TEST_KUBECONFIG=path``: use that cluster instead of starting one.
* ``SOCKETGUARD_SKIP_E2E=1``: skip tests marked ``e2e``. Without it, a test that needs a control plane
  fails (never skips) when none can be provided, so CI cannot pass by silently testing nothing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from socketguard.testing.binaries import find_toolset
from socketguard.testing.cluster import Cluster
from socketguard.testing.controlplane import ControlPlane, ControlPlaneError

KUBECONFIG_ENV = "SOCKETGUARD_TEST_KUBECONFIG"
SKIP_ENV = "SOCKETGUARD_SKIP_E2E"
_LOG_SECTION = "control plane logs"
_TIMINGS = pytest.StashKey[dict[str, float]]()


def e2e_skipped() -> bool:
    return os.environ.get(SKIP_ENV, "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not e2e_skipped():
        return
    skip = pytest.mark.skip(reason=f"{SKIP_ENV} is set")
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Cluster]:
    """A cluster for the whole session: ``$SOCKETGUARD_TEST_KUBECONFIG`` or a fresh control plane."""
    if e2e_skipped():
        pytest.skip(f"{SKIP_ENV} is set")
    work_dir = tmp_path_factory.mktemp("control-plane")
    existing = os.environ.get(KUBECONFIG_ENV)
    if existing:
        yield _existing_cluster(Path(existing), work_dir)
        return
    toolset = find_toolset()
    if toolset is None:
        pytest.fail(
            "no control plane: binaries are not provisioned. Run `python -m socketguard.testing build` "
            f"(or .ci/provision.sh), set {KUBECONFIG_ENV} to use an existing cluster, or set "
            f"{SKIP_ENV}=1 to skip e2e tests explicitly.",
            pytrace=False,
        )
    cluster = ControlPlane(run_dir=work_dir, toolset=toolset)
    try:
        cluster.start()
    except ControlPlaneError as error:
        pytest.fail(f"the control plane did not start: {error}", pytrace=False)
    pytestconfig.stash[_TIMINGS] = cluster.timings
    try:
        yield cluster
    finally:
        cluster.stop()


def _existing_cluster(kubeconfig: Path, work_dir: Path) -> Cluster:
    if not kubeconfig.is_file():
        pytest.fail(f"{KUBECONFIG_ENV}={kubeconfig}: no such file", pytrace=False)
    toolset = find_toolset()
    kubectl = str(toolset.kubectl) if toolset else shutil.which("kubectl")
    helm = str(toolset.helm) if toolset else shutil.which("helm")
    if kubectl is None:
        pytest.fail("kubectl is neither provisioned nor on PATH", pytrace=False)
    return Cluster(kubeconfig, kubectl=kubectl, helm=helm or "helm", work_dir=work_dir)


@pytest.fixture
def kube_namespace(control_plane: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted (without waiting) afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug or 'test'}-{secrets.token_hex(3)}"
    control_plane.create_namespace(name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed and "control_plane" in getattr(item, "fixturenames", ()):
        cluster = getattr(item, "funcargs", {}).get("control_plane")
        text = cluster.diagnostics() if isinstance(cluster, Cluster) else ""
        if text:
            report.sections.append((_LOG_SECTION, text))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    timings = config.stash.get(_TIMINGS, None)
    if timings:
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items() if name != "total")
        terminalreporter.write_line(f"socketguard control plane started in {timings['total']:.1f} s ({phases})")
