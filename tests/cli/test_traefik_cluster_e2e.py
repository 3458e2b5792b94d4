"""`socketguard lint --cluster` reads Traefik's IngressRoutes and Middlewares from a real API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from socketguard.cli import main
from socketguard.testing import Cluster

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "mageagent-traefik"

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("variant", "errors"), [
    ("broken", [("SG102", "IngressRoute", "$.spec.routes[0]")]),
    ("fixed", []),
])
def test_the_traefik_example_in_a_cluster(control_plane: Cluster, monkeypatch: pytest.MonkeyPatch,
                                          variant: str, errors: list[tuple[str, str, str]]) -> None:
    control_plane.kubectl("delete", "namespace", "mageagent", "--ignore-not-found", "--wait=true", timeout=150)
    control_plane.kubectl("apply", "-f", str(EXAMPLE / variant))
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    try:
        result = CliRunner().invoke(main, ["lint", "--cluster", "-n", "mageagent", "-o", "json"])
        findings = [f for f in json.loads(result.stdout) if f["severity"] == "error"]
        assert [(f["code"], f["object"]["kind"], f["location"]["jsonPath"]) for f in findings] == errors
        assert "IngressRoute.traefik.io" not in result.stderr  # the kind is served and read
    finally:
        control_plane.kubectl("delete", "namespace", "mageagent", "--ignore-not-found", "--wait=true", timeout=150)
