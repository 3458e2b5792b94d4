"""Talking to a cluster through a kubeconfig: kubectl, helm, RBAC-scoped kubeconfigs, webhook TLS.

:class:`Cluster` works with any cluster (the harness's own :class:`ControlPlane`, kind, a real one);
the control plane adds what needs its CA key, such as client-certificate users.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from socketguard.testing.certs import CertificateAuthority

Manifest = Mapping[str, Any]
Rule = Mapping[str, Any]
_RBAC = "rbac.authorization.k8s.io/v1"


class KubectlError(RuntimeError):
    """kubectl (or helm) exited non-zero; carries the command and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}: {stderr.strip()}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class ServingCertificate:
    """TLS files for a local webhook server, and the CA bundle the API server must trust."""

    cert_file: Path
    key_file: Path
    ca_bundle: bytes


@dataclass(frozen=True)
class Subject:
    """An RBAC subject: ``kind`` is ``ServiceAccount``, ``User`` or ``Group``."""

    kind: str
    name: str
    namespace: str | None = None

    def as_rbac(self) -> dict[str, str]:
        if self.kind == "ServiceAccount":
            return {"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace or "default"}
        return {"kind": self.kind, "name": self.name, "apiGroup": "rbac.authorization.k8s.io"}

    @property
    def slug(self) -> str:
        raw = f"{self.kind}-{self.namespace or ''}-{self.name}".lower()
        return re.sub(r"[^a-z0-9.-]+", "-", raw).strip("-")


def dump_manifests(manifests: str | Manifest | Sequence[Manifest]) -> str:
    """YAML text for one manifest, several, or text passed through unchanged."""
    if isinstance(manifests, str):
        return manifests
    if isinstance(manifests, Mapping):
        manifests = [manifests]
    return yaml.safe_dump_all([dict(manifest) for manifest in manifests], sort_keys=False)


class Cluster:
    """A cluster reachable through ``kubeconfig``, driven with real ``kubectl``/``helm`` binaries."""

    def __init__(
        self,
        kubeconfig: Path,
        *,
        kubectl: Path | str = "kubectl",
        helm: Path | str = "helm",
        work_dir: Path | None = None,
    ) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.kubectl_binary = str(kubectl)
        self.helm_binary = str(helm)
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="socketguard-cluster-"))
        self._webhook_ca: CertificateAuthority | None = None

    # --- commands ----------------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        kubeconfig: Path | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (or as another user's ``kubeconfig``)."""
        return self._run(self.kubectl_binary, args, stdin, kubeconfig, check, timeout)

    def helm(
        self,
        *args: str,
        stdin: str | None = None,
        kubeconfig: Path | None = None,
        check: bool = True,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run helm against this cluster."""
        return self._run(self.helm_binary, args, stdin, kubeconfig, check, timeout)

    def _run(
        self,
        binary: str,
        args: Sequence[str],
        stdin: str | None,
        kubeconfig: Path | None,
        check: bool,
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        argv = [binary, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise KubectlError(argv, result.returncode, result.stderr)
        return result

    def apply(self, manifests: str | Manifest | Sequence[Manifest], *, kubeconfig: Path | None = None) -> str:
        """Server-side apply; returns kubectl's summary."""
        text = dump_manifests(manifests)
        args = ("apply", "--server-side", "--force-conflicts", "--field-manager=socketguard-test", "-f", "-")
        return self.kubectl(*args, stdin=text, kubeconfig=kubeconfig).stdout

    def create_namespace(self, name: str) -> None:
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- identities ----------------------------------------------------------------------------------

    def grant(
        self,
        subject: Subject,
        *,
        namespace: str | None = None,
        rules: Sequence[Rule] = (),
        cluster_rules: Sequence[Rule] = (),
        cluster_roles: Sequence[str] = (),
    ) -> None:
        """Bind ``subject``: ``rules`` in ``namespace``; ``cluster_rules``, ``cluster_roles`` everywhere."""
        name = f"socketguard-test-{subject.slug}"
        manifests: list[dict[str, Any]] = []
        if rules:
            if namespace is None:
                raise ValueError("namespaced rules need a namespace")
            meta = {"name": name, "namespace": namespace}
            manifests.append({"apiVersion": _RBAC, "kind": "Role", "metadata": meta, "rules": list(rules)})
            manifests.append(_binding("RoleBinding", meta, "Role", name, subject))
        if cluster_rules:
            meta = {"name": name}
            manifests.append(
                {"apiVersion": _RBAC, "kind": "ClusterRole", "metadata": meta, "rules": list(cluster_rules)}
            )
            manifests.append(_binding("ClusterRoleBinding", meta, "ClusterRole", name, subject))
        for role in cluster_roles:
            meta = {"name": f"{name}-{role}".replace(":", "-")}
            manifests.append(_binding("ClusterRoleBinding", meta, "ClusterRole", role, subject))
        if manifests:
            self.apply(manifests)

    def service_account_kubeconfig(
        self,
        namespace: str,
        name: str,
        *,
        create: bool = True,
        rules: Sequence[Rule] = (),
        cluster_rules: Sequence[Rule] = (),
        cluster_roles: Sequence[str] = (),
        duration: str = "2h",
    ) -> Path:
        """A kubeconfig authenticating as the ServiceAccount with a bound token (TokenRequest API).

        With ``create`` the namespace and ServiceAccount are created; any rules or roles given are
        bound to it. Without rules it has only what the cluster grants every authenticated user, so
        a chart's own RBAC can be applied separately and tested as is.
        """
        if create:
            self.apply(
                [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                    {
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": name, "namespace": namespace},
                    },
                ]
            )
        subject = Subject("ServiceAccount", name, namespace)
        self.grant(
            subject,
            namespace=namespace,
            rules=rules,
            cluster_rules=cluster_rules,
            cluster_roles=cluster_roles,
        )
        token = self.kubectl("create", "token", name, "-n", namespace, f"--duration={duration}").stdout.strip()
        return self.token_kubeconfig(f"sa-{namespace}-{name}", token)

    def token_kubeconfig(self, user: str, token: str) -> Path:
        """A kubeconfig using this cluster's endpoint and CA with a bearer ``token``."""
        return self._write_kubeconfig(user, {"token": token})

    def _write_kubeconfig(self, user: str, credentials: Mapping[str, str]) -> Path:
        cluster = self.cluster_entry()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "socketguard-test", "cluster": cluster}],
            "users": [{"name": user, "user": dict(credentials)}],
            "contexts": [{"name": user, "context": {"cluster": "socketguard-test", "user": user}}],
            "current-context": user,
        }
        path = self.work_dir / "kubeconfigs" / f"{re.sub(r'[^A-Za-z0-9.-]+', '-', user)}.kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def cluster_entry(self) -> dict[str, Any]:
        """Server URL and CA of the current context, with file references inlined."""
        raw = self.kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "json").stdout
        config = yaml.safe_load(raw)
        try:
            return dict(config["clusters"][0]["cluster"])
        except (KeyError, IndexError, TypeError) as error:
            raise RuntimeError(f"{self.kubeconfig}: current context has no cluster") from error

    # --- webhooks ------------------------------------------------------------------------------------

    def issue_serving_certificate(
        self, name: str = "webhook", hosts: Sequence[str] = ("127.0.0.1", "localhost")
    ) -> ServingCertificate:
        """A serving certificate for a local webhook server, signed by a per-cluster test CA."""
        if self._webhook_ca is None:
            self._webhook_ca = CertificateAuthority("socketguard-test-webhook-ca")
        cert_file, key_file = self._webhook_ca.issue_server(name, hosts).write(self.work_dir / "webhook-tls", name)
        return ServingCertificate(cert_file, key_file, self._webhook_ca.cert_pem)

    # --- diagnostics ---------------------------------------------------------------------------------

    def diagnostics(self, tail_lines: int = 60) -> str:
        """Text to show when a test fails; an external cluster has no process logs of ours."""
        return ""


def _binding(kind: str, meta: Mapping[str, Any], role_kind: str, role: str, subject: Subject) -> dict[str, Any]:
    return {
        "apiVersion": _RBAC,
        "kind": kind,
        "metadata": dict(meta),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [subject.as_rbac()],
    }
