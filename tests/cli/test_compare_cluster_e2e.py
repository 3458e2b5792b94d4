"""`socketguard compare --before-cluster`: BEFORE applied to the test control plane, AFTER from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from socketguard.cli import main

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests/examples/migration"


def _in_namespace(directory: Path, namespace: str) -> str:
    """The example's objects moved to the test's namespace (its Namespace object left out)."""
    texts = [p.read_text() for p in sorted(directory.glob("*.yaml")) if p.name != "00-namespace.yaml"]
    return "\n---\n".join(texts).replace("namespace: mageagent", f"namespace: {namespace}")


@pytest.mark.parametrize(("after", "verdict", "status"), [("after-faithful", "same", 0), ("after-naive", "broken", 1)])
def test_compare_reads_before_from_the_cluster(control_plane: Any, kube_namespace: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, after: str, verdict: str,
                                               status: int) -> None:
    control_plane.kubectl("apply", "-f", "-", stdin=_in_namespace(EXAMPLE / "before", kube_namespace))
    (tmp_path / "after.yaml").write_text(_in_namespace(EXAMPLE / after, kube_namespace))
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    result = CliRunner().invoke(main, ["compare", "--before-cluster", "-n", kube_namespace,
                                       "--after", str(tmp_path), "-o", "json"])
    output = json.loads(result.stdout)
    assert result.exit_code == status, result.stdout + result.stderr
    [route] = output["routes"]
    assert (route["host"], route["verdict"]) == ("adverant.ai", verdict)
    assert route["client"]["namespace"] == kube_namespace
    if verdict == "broken":
        assert {d["code"] for d in route["differences"]} >= {"SG702", "SG704"}
        assert all(d["location"]["file"].endswith("after.yaml") for d in route["differences"])
