"""Every example applies as a newcomer applies it: one `kubectl apply` on a cluster without its namespace.

`kubectl apply -f DIR` sends the files in name order, so each directory's Namespace sorts first
(`00-namespace.yaml`); the Kustomize overlay of the repository example is applied with `-k`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from socketguard.testing import Cluster

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
DIRECTORIES = sorted(path.parent for path in EXAMPLES.glob("mageagent*/*/00-namespace.yaml"))
OVERLAY = EXAMPLES / "repo" / "deploy" / "overlays" / "production"

pytestmark = pytest.mark.e2e


def _without_namespace(cluster: Cluster, name: str) -> None:
    cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true", "--timeout=120s", timeout=150)
    assert cluster.kubectl("get", "namespace", name, check=False).returncode != 0


def test_every_example_directory_has_its_namespace_first() -> None:
    assert len(DIRECTORIES) == 11  # Istio 3, ingress-nginx 2, Gateway API 2, Argo Rollouts 2, Traefik 2
    for directory in DIRECTORIES:
        assert sorted(path.name for path in directory.glob("*.yaml"))[0] == "00-namespace.yaml"


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_example_directory_applies_in_one_command(control_plane: Cluster, directory: Path) -> None:
    _without_namespace(control_plane, "mageagent")
    applied = control_plane.kubectl("apply", "-f", str(directory), check=False)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[0] == "namespace/mageagent created"
    def names(kinds: str) -> list[str]:
        found = control_plane.kubectl("get", kinds, "-n", "mageagent", "-o", "name").stdout.split()
        return sorted(name.rpartition("/")[2] for name in found)

    # The server is a Deployment, or an Argo Rollout (with its canary Service) in mageagent-argo-rollouts.
    assert names("deployments,rollouts.argoproj.io") == ["dashboard", "mageagent"]
    assert {"dashboard", "mageagent"} <= set(names("services"))
    _without_namespace(control_plane, "mageagent")


def test_repository_example_overlay_applies_in_one_command(control_plane: Cluster) -> None:
    _without_namespace(control_plane, "mageagent-production")
    applied = control_plane.kubectl("apply", "-k", str(OVERLAY), check=False)
    assert applied.returncode == 0, applied.stderr
    route = control_plane.kubectl(
        "get", "virtualservice", "adverant", "-n", "mageagent-production", "-o", "jsonpath={.spec.http[0].rewrite.uri}"
    ).stdout
    assert route == "/socket.io/"
    _without_namespace(control_plane, "mageagent-production")
