"""manifests/install.yaml is the chart rendered with cert-manager TLS, and is never stale."""

from __future__ import annotations

import difflib
import os
import subprocess

import yaml
from chart_render import (
    CONFIGURATION_NAME,
    INSTALL_MANIFEST,
    NAMESPACE,
    RENDER_SCRIPT,
    Manifest,
    helm_binary,
    named,
    of_kind,
)


def _render_with_the_script() -> str:
    result = subprocess.run(
        ["bash", str(RENDER_SCRIPT), "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HELM": str(helm_binary())},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _docs() -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(INSTALL_MANIFEST.read_text()) if doc]


def test_install_manifest_is_up_to_date() -> None:
    fresh = _render_with_the_script()
    committed = INSTALL_MANIFEST.read_text()
    if fresh != committed:
        diff = "".join(
            list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "committed", "rendered"))[:60]
        )
        raise AssertionError(f"manifests/install.yaml is stale: run scripts/render-install.sh\n{diff}")


def test_install_manifest_carries_no_key_material() -> None:
    text = INSTALL_MANIFEST.read_text()
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
    docs = _docs()
    assert not of_kind(docs, "Secret")
    assert not of_kind(docs, "Job"), "a pre-delete hook would run at apply time in a plain manifest"
    configuration = named(docs, "ValidatingWebhookConfiguration", CONFIGURATION_NAME)
    assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]
    assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].startswith(f"{NAMESPACE}/")


def test_install_manifest_is_self_contained() -> None:
    docs = _docs()
    namespace = named(docs, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {doc["metadata"]["name"] for doc in of_kind(docs, "CustomResourceDefinition")} == {
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    }
    # CRDs and the Namespace come first, so one `kubectl apply` can create what follows.
    kinds = [doc["kind"] for doc in docs]
    assert kinds[:3] == ["Namespace", "CustomResourceDefinition", "CustomResourceDefinition"]
    for doc in docs:
        if doc["kind"] not in {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                               "ValidatingWebhookConfiguration", "ClusterKopfPeering"}:
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]
