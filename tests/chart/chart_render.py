"""Render the Helm chart and pick objects out of it: for the chart tests and for any e2e test that
wants the chart's own RBAC.

    from chart_render import chart_rbac, render          # from a test in tests/chart/
    from tests.chart.chart_render import chart_rbac      # elsewhere, under `python -m pytest`

    docs = render({"hold": {"enabled": True}})
    cluster.apply(chart_rbac(namespace="socketguard"))   # ServiceAccounts, ClusterRoles, bindings
    kubeconfig = cluster.service_account_kubeconfig("socketguard", OPERATOR_SA, create=False)

helm is found the way the test harness finds it: ``$HELM``, then the harness's cache
(``~/.cache/socketguard/k8s-<version>/helm``), then ``helm`` on ``PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "socketguard"
RENDER_SCRIPT = REPO_ROOT / "scripts" / "render-install.sh"
INSTALL_MANIFEST = REPO_ROOT / "manifests" / "install.yaml"

RELEASE = "socketguard"
NAMESPACE = "socketguard"
#: Names the chart gives its objects for release "socketguard" (the release name contains the chart name).
OPERATOR_SA = "socketguard-operator"
WEBHOOK_SA = "socketguard-webhook"
WEBHOOK_SERVICE = "socketguard-webhook"
CONFIGURATION_NAME = "socketguard"

Manifest = dict[str, Any]

#: Every option switched away from its default.
EVERYTHING_ON: dict[str, Any] = {
    "defaultMode": "enforce",
    "watchNamespaces": ["shop", "chat"],
    "logFormat": "plain",
    "logLevel": "debug",
    "hold": {"enabled": True},
    "image": {"digest": "sha256:" + "a" * 64, "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry"}],
    "operator": {
        "replicaCount": 3,
        "podAntiAffinity": "hard",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"example.com/a": "b"},
        "podLabels": {"team": "platform"},
        "serviceAccount": {"annotations": {"example.com/role": "x"}},
        "probes": {"enabled": True, "intervalSeconds": 120, "ratePerSecond": 0.5, "clusterDomain": "corp.local",
                   "allowHosts": ["chat.example.com", "*.internal.example.com"]},
    },
    "webhook": {
        "replicaCount": 3,
        "excludeNamespaces": ["legacy"],
        "tls": {"mode": "certManager", "certManager": {"issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"}}},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
    },
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
}
_RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


class HelmError(RuntimeError):
    """helm exited non-zero; ``stderr`` carries its message (schema errors, template failures)."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def find_binary(name: str) -> Path | None:
    """``$HELM``/``$KUBECTL``, the harness's cached copy, or the one on PATH."""
    override = os.environ.get(name.upper())
    if override:
        return Path(override)
    for cached in _harness_cache_candidates(name):
        if cached.is_file() and os.access(cached, os.X_OK):
            return cached
    on_path = shutil.which(name)
    return Path(on_path) if on_path else None


def _harness_cache_candidates(name: str) -> list[Path]:
    try:
        from socketguard.testing.binaries import cache_dir
    except ImportError:  # the harness is not in this tree: look where it caches
        override = os.environ.get("SOCKETGUARD_K8S_BIN_DIR")
        if override:
            return [Path(override).expanduser() / name]
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return sorted((base / "socketguard").glob(f"k8s-*/{name}"), reverse=True)
    return [cache_dir() / name]


def helm_binary() -> Path:
    found = find_binary("helm")
    if found is None:
        raise FileNotFoundError(
            "helm not found: run .ci/provision.sh (the harness caches it under ~/.cache/socketguard/), "
            "set HELM, or set SOCKETGUARD_SKIP_E2E=1 to skip the chart tests"
        )
    return found


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [str(helm_binary()), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check and result.returncode != 0:
        raise HelmError(argv, result.returncode, result.stderr)
    return result


def values_file(values: Mapping[str, Any], directory: Path) -> Path:
    path = directory / "values.json"  # JSON is YAML: helm reads it as a values file
    path.write_text(json.dumps(values))
    return path


def render_text(
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> str:
    """``helm template`` output; raises :class:`HelmError` (with helm's message) on a refused value."""
    with tempfile.TemporaryDirectory(prefix="socketguard-chart-") as tmp:
        args = ["template", release, str(CHART_DIR), "--namespace", namespace]
        if values:
            args += ["--values", str(values_file(values, Path(tmp)))]
        if include_crds:
            args.append("--include-crds")
        return run_helm(*args).stdout


def render(
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> list[Manifest]:
    """The chart's objects as dicts."""
    text = render_text(values, release=release, namespace=namespace, include_crds=include_crds)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def of_kind(docs: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc.get("kind") == kind]


def named(docs: Iterable[Manifest], kind: str, name: str) -> Manifest:
    for doc in of_kind(docs, kind):
        if doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"no {kind} {name!r} in the rendered chart")


def chart_rbac(values: Mapping[str, Any] | None = None, *, namespace: str = NAMESPACE) -> list[Manifest]:
    """The chart's ServiceAccounts, (Cluster)Roles and bindings: apply them to run a process as the chart would."""
    return [doc for doc in render(values, namespace=namespace) if doc.get("kind") in _RBAC_KINDS]


def service_account_rules(docs: Sequence[Manifest], service_account: str) -> list[Manifest]:
    """Every rule granted to ``service_account`` by the rendered bindings (cluster-wide and namespaced)."""
    roles = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs if doc.get("kind") in ("ClusterRole", "Role")}
    rules: list[Manifest] = []
    for binding in docs:
        if binding.get("kind") not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == service_account for s in binding["subjects"]):
            continue
        role = roles[(binding["roleRef"]["kind"], binding["roleRef"]["name"])]
        rules.extend(role.get("rules") or [])
    return rules


def permissions(rules: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Rules flattened to (apiGroup, resource, verb) triples, to compare rule sets written differently."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }
