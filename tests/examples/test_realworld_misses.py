"""Manifests re-written from what real charts and deployments render, linted as a user would.

Each file under `realworld/` once produced a wrong verdict (issue 13, "Misses found on
real-world manifests"); the test pins what `socketguard lint` must say about it now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from socketguard.cli import main

REALWORLD = Path(__file__).resolve().parent / "realworld"


def lint(name: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(main, ["lint", str(REALWORLD / name), "-o", "json", "--fail-on", "error"])
    return result.exit_code, json.loads(result.stdout)


def codes(findings: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((f["code"], f["object"]["kind"], f["path"]) for f in findings)


@pytest.mark.parametrize("name", ["helm-null-metadata.yaml"])
def test_helm_null_metadata_is_read_as_absent(name: str) -> None:
    """`annotations:`, `labels:`, `env:` and `tls:` with no value: every object is analysed."""
    exit_code, findings = lint(name)
    assert exit_code == 0
    assert codes(findings) == [
        ("SG004", "Deployment", "metadata.annotations"),  # the Ingress routes socket.io to it
        ("SG301", "Deployment", "spec.replicas"),  # 3 replicas read, no affinity on the Ingress
        ("SG302", "Deployment", "metadata.annotations"),
    ]


def test_an_old_chart_is_analysed_in_the_current_versions_and_told_so() -> None:
    """extensions/v1beta1 Ingress, apps/v1beta1 Deployment without selector, autoscaling/v2beta2 HPA."""
    exit_code, findings = lint("old-chart-removed-versions.yaml")
    assert exit_code == 0
    assert codes(findings) == [
        ("SG004", "Deployment", "metadata.annotations"),  # the Ingress's serviceName/servicePort route reaches it
        ("SG006", "Deployment", "apiVersion"),
        ("SG006", "HorizontalPodAutoscaler", "apiVersion"),
        ("SG006", "Ingress", "apiVersion"),
        ("SG301", "Deployment", "spec.replicas"),  # the HPA scales it; the Ingress has no affinity
        ("SG302", "Deployment", "metadata.annotations"),
    ]
    removed = {f["object"]["kind"]: f for f in findings if f["code"] == "SG006"}
    assert removed["Ingress"]["location"]["line"] == 5  # the `apiVersion:` line as written
    assert "extensions/v1beta1" in removed["Ingress"]["message"] and "1.22" in removed["Ingress"]["message"]


def test_a_rewrite_target_shared_with_the_socket_path_is_reported_without_annotations() -> None:
    """`rewrite-target: /$2` for `/api(/|$)(.*)` also rewrites `/socket.io/` (no capture group) to `/`."""
    exit_code, findings = lint("nginx-rewrite-swallows-socket-path.yaml")
    assert exit_code == 0  # zero-config: at most warnings
    assert codes(findings) == [
        ("SG004", "Deployment", "metadata.annotations"),
        ("SG102", "Ingress", "metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target']"),
    ]
    mismatch = next(f for f in findings if f["code"] == "SG102")
    assert "as /," in mismatch["message"] and mismatch["severity"] == "warning"
    assert mismatch["fixes"][0].startswith("move `/socket.io/` to an Ingress of its own without the rewrite")
    inferred = next(f for f in findings if f["code"] == "SG004")
    assert "socketguard.io/path: /socket.io;" in inferred["fixes"][0]  # not the `/` the route delivers


def test_a_regex_path_without_regex_mode_is_reported_as_the_router_sees_it() -> None:
    """ImplementationSpecific: a literal prefix the handshake misses; Prefix: the Ingress is refused."""
    exit_code, findings = lint("nginx-regex-path-without-regex-mode.yaml")
    assert exit_code == 1
    assert sorted((f["code"], f["object"]["name"], f["path"]) for f in findings) == [
        ("SG116", "realtime", "spec.rules[0].http.paths[0].path"),
        ("SG116", "realtime-next", "spec.rules[0].http.paths[0].path"),
    ]
    literal, refused = sorted(findings, key=lambda f: f["object"]["name"])
    assert "goes to Ingress app/realtime spec.rules[0].http.paths[1] (Prefix /) instead" in literal["message"]
    assert "refuses the whole Ingress" in refused["message"]
