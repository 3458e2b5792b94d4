"""`socketguard lint --cluster` against the test control plane (a real kube-apiserver)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from lintkit import TEST_RULES, configmap, service

from socketguard.cli import main

pytestmark = pytest.mark.e2e


def test_cluster_objects_are_linted_and_located_by_json_path(
    control_plane: Any, kube_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("socketguard.cli.lint.rule_set", lambda: TEST_RULES)
    manifests = service("api", kube_namespace) + "---\n" + configmap("settings", kube_namespace)
    control_plane.kubectl("apply", "-f", "-", stdin=manifests)
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))

    result = CliRunner().invoke(main, ["lint", "--cluster", "-n", kube_namespace, "-o", "json"])

    assert result.exit_code == 1, result.output
    (finding,) = [f for f in json.loads(result.stdout) if f["code"] == "SG901"]
    assert finding["object"] == {"apiVersion": "v1", "kind": "Service", "namespace": kube_namespace, "name": "api"}
    assert finding["location"] == {
        "file": None, "line": 0, "column": 0, "jsonPath": "$.spec.ports[0].targetPort"
    }

