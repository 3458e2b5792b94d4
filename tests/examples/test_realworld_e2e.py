"""The API server as the oracle for the real-world examples.

`null`: the Helm example read from the file and read back from a real kube-apiserver after
`kubectl apply` give the same views (null read as absent, defaults applied). Removed versions:
the API server refuses each one SG006 reports, as its message says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from socketguard.engine.inventory import Inventory
from socketguard.engine.models.removed import REMOVED_VERSIONS, removed_version

pytest.importorskip("socketguard.testing", reason="the control-plane harness is not in this tree")
pytestmark = pytest.mark.e2e

REALWORLD = Path(__file__).resolve().parent / "realworld"
EXAMPLE = REALWORLD / "helm-null-metadata.yaml"
SERVER_SET = {"creation_timestamp", "generation"}  # written by the API server, not by the manifest
# kubectl's last-applied-configuration, the deployment controller's revision
WRITTEN_BY_KUBERNETES = ("kubectl.kubernetes.io/", "deployment.kubernetes.io/")


def view_dump(raw: dict[str, Any]) -> dict[str, Any]:
    inventory = Inventory()
    entry = inventory.entry(inventory.add(raw))
    assert entry is not None and entry.view is not None, entry.problems if entry else raw
    dumped: dict[str, Any] = entry.view.model_dump(exclude={"metadata": SERVER_SET})
    template = dumped.get("spec", {}).get("template")
    if isinstance(template, dict):
        template["metadata"].pop("creation_timestamp", None)
    return dumped


def test_null_fields_read_as_the_api_server_stores_them(control_plane: Any, kube_namespace: str) -> None:
    documents = [d for d in yaml.safe_load_all(EXAMPLE.read_text(encoding="utf-8")) if d]
    for document in documents:
        document["metadata"]["namespace"] = kube_namespace
    control_plane.kubectl("apply", "-f", "-", stdin="\n---\n".join(yaml.safe_dump(d) for d in documents))
    for document in documents:
        kind, name = document["kind"], document["metadata"]["name"]
        stored = json.loads(control_plane.kubectl("get", kind, name, "-n", kube_namespace, "-o", "json").stdout)
        annotations = stored["metadata"].get("annotations", {})
        for key in [k for k in annotations if k.startswith(WRITTEN_BY_KUBERNETES)]:
            del annotations[key]
        assert view_dump(document) == view_dump(stored), kind


def test_the_removed_versions_sg006_reports_are_refused_by_the_api_server(control_plane: Any,
                                                                         kube_namespace: str) -> None:
    documents = [d for d in yaml.safe_load_all((REALWORLD / "old-chart-removed-versions.yaml").read_text()) if d]
    for document in documents:
        document["metadata"]["namespace"] = kube_namespace
        applied = control_plane.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(document), check=False)
        removed = removed_version(document["apiVersion"], document["kind"])
        assert (applied.returncode != 0) == (removed is not None), (document["apiVersion"], applied.stderr)
        if removed is not None:
            assert f'no matches for kind "{document["kind"]}" in version "{document["apiVersion"]}"' in applied.stderr


def test_every_version_in_the_removed_table_is_unknown_to_the_api_server(control_plane: Any,
                                                                        kube_namespace: str) -> None:
    """The table's claim, row by row, against Kubernetes 1.35 with the Gateway API v1.6 CRDs."""
    for removed in REMOVED_VERSIONS.values():
        document = {"apiVersion": removed.api_version, "kind": removed.kind,
                    "metadata": {"name": "old", "namespace": kube_namespace}, "spec": {}}
        applied = control_plane.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(document), check=False)
        assert "no matches for kind" in applied.stderr, (removed.api_version, removed.kind, applied.stderr)
