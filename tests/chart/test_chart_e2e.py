"""`helm install` of the chart against a real control plane (the harness's kube-apiserver + etcd +
controller-manager): the objects are accepted, the webhook TLS survives an upgrade, the pods pass
restricted Pod Security admission, and the ServiceAccounts get exactly the access they need.

There is no kubelet: pods are created (by the real ReplicaSet controller) but never run.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART_DIR, Manifest

pytestmark = pytest.mark.e2e

# Not the default names: other e2e suites share the control plane and bind their own
# `socketguard-operator` roles and peering.
RELEASE = "sgchart"
FULLNAME = "sgchart-socketguard"
PEERING = "sgchart-e2e"
OPERATOR_SA = f"{FULLNAME}-operator"
WEBHOOK_SA = f"{FULLNAME}-webhook"


class Installed:
    def __init__(self, cluster: Any, namespace: str, install_output: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.install_output = install_output

    def get(self, kind: str, name: str, namespace: str | None = None) -> Manifest:
        args = ["get", kind, name, "-o", "json"]
        if namespace:
            args += ["-n", namespace]
        result: Manifest = json.loads(self.cluster.kubectl(*args).stdout)
        return result

    def can_i(self, kubeconfig: Path, *args: str) -> bool:
        result = self.cluster.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False)
        answer = result.stdout.strip()
        assert answer in {"yes", "no"}, f"kubectl auth can-i {' '.join(args)}: {result.stdout} {result.stderr}"
        return answer == "yes"


@pytest.fixture(scope="module")
def installed(control_plane: Any) -> Iterator[Installed]:
    namespace = f"sgchart-{secrets.token_hex(3)}"
    # Restricted Pod Security is enforced in the release namespace: a pod the chart renders that
    # breaks it is refused when the ReplicaSet controller creates it.
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
        }
    )
    _install_crds_first(control_plane)
    output = control_plane.helm(
        "install", RELEASE, str(CHART_DIR), "--namespace", namespace,
        "--set", f"operator.peeringName={PEERING}", "--wait=false",
    ).stdout
    try:
        yield Installed(control_plane, namespace, output)
    finally:
        # The pre-delete hook Job would wait for a kubelet that does not exist.
        control_plane.helm("uninstall", RELEASE, "--namespace", namespace, "--no-hooks", check=False)
        control_plane.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _install_crds_first(cluster: Any) -> None:
    """What docs/install.md asks on a cluster without the peering CRDs: Helm could otherwise map the
    chart's ClusterKopfPeering before the API server publishes the kind it just created."""
    from socketguard.testing import wait_for

    cluster.kubectl("apply", "--server-side", "-f", str(CHART_DIR / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev",
                    "crd/kopfpeerings.kopf.dev", "--timeout=60s")
    wait_for(
        lambda: "clusterkopfpeerings" in cluster.kubectl("api-resources", "--api-group=kopf.dev", "-o", "name").stdout,
        timeout=60, what="kopf.dev served in discovery",
    )


def test_install_creates_the_objects(installed: Installed) -> None:
    ns = installed.namespace
    for kind, name in [
        ("deployment", f"{FULLNAME}-operator"), ("deployment", f"{FULLNAME}-webhook"),
        ("service", f"{FULLNAME}-webhook"), ("service", f"{FULLNAME}-operator-metrics"),
        ("poddisruptionbudget", f"{FULLNAME}-operator"), ("poddisruptionbudget", f"{FULLNAME}-webhook"),
        ("serviceaccount", OPERATOR_SA), ("serviceaccount", WEBHOOK_SA),
        ("secret", f"{FULLNAME}-webhook-tls"),
    ]:
        assert installed.get(kind, name, ns)["metadata"]["name"] == name
    for kind, name in [
        ("clusterrole", f"{FULLNAME}-operator"), ("clusterrole", f"{FULLNAME}-operator-cluster"),
        ("clusterrolebinding", f"{FULLNAME}-webhook"), ("crd", "clusterkopfpeerings.kopf.dev"),
        ("clusterkopfpeering", PEERING), ("validatingwebhookconfiguration", FULLNAME),
    ]:
        assert installed.get(kind, name)["metadata"]["name"] == name
    assert "socketguard.io/enforce=enforce" in installed.install_output  # NOTES.txt


def test_webhook_configuration_is_accepted_as_rendered(installed: Installed) -> None:
    configuration = installed.get("validatingwebhookconfiguration", FULLNAME)
    webhook = configuration["webhooks"][0]
    assert webhook["failurePolicy"] == "Ignore"
    assert webhook["timeoutSeconds"] == 3
    assert webhook["clientConfig"]["service"] == {
        "name": f"{FULLNAME}-webhook", "namespace": installed.namespace, "path": "/validate", "port": 443,
    }
    secret = installed.get("secret", f"{FULLNAME}-webhook-tls", installed.namespace)
    assert webhook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]


def test_local_url_variant_of_the_configurations_is_accepted(installed: Installed, tmp_path: Path) -> None:
    from socketguard.testing import local_webhook_configuration

    tls = installed.cluster.issue_serving_certificate("sgchart")
    docs = [
        doc for doc in yaml.safe_load_all(
            installed.cluster.helm(
                "get", "manifest", RELEASE, "--namespace", installed.namespace
            ).stdout
        ) if doc
    ]
    docs += [
        doc for doc in yaml.safe_load_all(
            installed.cluster.helm(
                "template", RELEASE, str(CHART_DIR), "--namespace", installed.namespace,
                "--set", "hold.enabled=true", "--show-only", "templates/webhook-admission.yaml",
            ).stdout
        ) if doc and doc["kind"] == "MutatingWebhookConfiguration"
    ]
    configurations = [d for d in docs if d["kind"].endswith("WebhookConfiguration")]
    assert {d["kind"] for d in configurations} == {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
    for configuration in configurations:
        local = local_webhook_configuration(configuration, 9443, tls.ca_bundle)
        local["metadata"]["name"] = f"{FULLNAME}-local-check"
        # Server-side dry run: the API server validates the object fully and stores nothing, so no
        # other test sees a webhook pointing at a port nobody serves.
        installed.cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(local))


def test_upgrade_keeps_the_webhook_certificate(installed: Installed) -> None:
    before = installed.get("secret", f"{FULLNAME}-webhook-tls", installed.namespace)["data"]
    installed.cluster.helm(
        "upgrade", RELEASE, str(CHART_DIR), "--namespace", installed.namespace,
        "--set", f"operator.peeringName={PEERING}", "--set", "defaultMode=audit", "--wait=false",
    )
    after = installed.get("secret", f"{FULLNAME}-webhook-tls", installed.namespace)["data"]
    assert after == before
    configuration = installed.get("validatingwebhookconfiguration", FULLNAME)
    assert configuration["webhooks"][0]["clientConfig"]["caBundle"] == before["ca.crt"]
    deployment = installed.get("deployment", f"{FULLNAME}-webhook", installed.namespace)
    assert "--default-mode=audit" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_pods_pass_restricted_pod_security(installed: Installed) -> None:
    from socketguard.testing import wait_for

    def pods() -> list[Manifest]:
        listed = installed.cluster.kubectl(
            "get", "pods", "-n", installed.namespace, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "json"
        ).stdout
        items: list[Manifest] = json.loads(listed)["items"]
        return items

    def refusals() -> str:
        return installed.cluster.kubectl(
            "get", "events", "-n", installed.namespace, "--field-selector", "reason=FailedCreate", "-o", "name"
        ).stdout

    wait_for(lambda: len(pods()) >= 4 or bool(refusals()), timeout=60, what="pods created by the ReplicaSets")
    assert not refusals(), installed.cluster.kubectl("get", "events", "-n", installed.namespace).stdout
    components = sorted(pod["metadata"]["labels"]["app.kubernetes.io/component"] for pod in pods())
    assert components.count("operator") >= 2 and components.count("webhook") >= 2


def test_operator_service_account_has_least_privilege(installed: Installed) -> None:
    cluster, ns = installed.cluster, installed.namespace
    kubeconfig = cluster.service_account_kubeconfig(ns, OPERATOR_SA, create=False)
    allowed = [
        ("list", "virtualservices.networking.istio.io", "-A"),
        ("watch", "httproutes.gateway.networking.k8s.io", "-A"),
        ("list", "ingresses.networking.k8s.io", "-A"),
        ("list", "deployments.apps", "-A"),
        ("patch", "deployments.apps", "--subresource=status", "-n", "default"),
        ("create", "events", "-n", "default"),
        ("create", "policyreports.wgpolicyk8s.io", "-n", "default"),
        ("patch", f"clusterkopfpeerings.kopf.dev/{PEERING}"),
    ]
    forbidden = [
        ("get", "secrets", "-n", "default"),
        ("list", "secrets", "-A"),
        ("get", "configmaps", "-n", ns),
        ("patch", "deployments.apps", "-n", "default"),  # hold is off
        ("update", "deployments.apps", "-n", "default"),
        ("delete", "deployments.apps", "-n", "default"),
        ("update", "virtualservices.networking.istio.io", "-n", "default"),
        ("create", "pods", "-n", "default"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ]
    assert [a for a in allowed if not installed.can_i(kubeconfig, *a)] == []
    assert [f for f in forbidden if installed.can_i(kubeconfig, *f)] == []
    # Real requests, not only the authorizer's answer.
    cluster.kubectl("get", "virtualservices.networking.istio.io", "-A", kubeconfig=kubeconfig)
    cluster.kubectl("get", "deployments", "-A", kubeconfig=kubeconfig)
    refused = cluster.kubectl("get", "secrets", "-n", ns, kubeconfig=kubeconfig, check=False)
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()


def test_webhook_service_account_only_reads(installed: Installed) -> None:
    kubeconfig = installed.cluster.service_account_kubeconfig(installed.namespace, WEBHOOK_SA, create=False)
    assert installed.can_i(kubeconfig, "list", "deployments.apps", "-A")
    assert installed.can_i(kubeconfig, "watch", "namespaces")
    for denied in [
        ("create", "events", "-n", "default"),
        ("patch", "deployments.apps", "--subresource=status", "-n", "default"),
        ("get", "secrets", "-n", installed.namespace),
    ]:
        assert not installed.can_i(kubeconfig, *denied), denied


def test_hold_grants_the_deployment_patch(control_plane: Any, tmp_path: Path) -> None:
    """The RBAC objects of a hold install, applied as rendered: the operator may resume Deployments."""
    from chart_render import chart_rbac

    namespace = f"sgchart-hold-{secrets.token_hex(3)}"
    control_plane.create_namespace(namespace)
    rbac = chart_rbac({"hold": {"enabled": True}, "fullnameOverride": "sgchart-hold"}, namespace=namespace)
    control_plane.apply(rbac)
    try:
        kubeconfig = control_plane.service_account_kubeconfig(namespace, "sgchart-hold-operator", create=False)
        result = control_plane.kubectl(
            "auth", "can-i", "patch", "deployments.apps", "-n", "default", kubeconfig=kubeconfig, check=False
        )
        assert result.stdout.strip() == "yes"
    finally:
        for doc in rbac:
            if doc["kind"].startswith("Cluster"):
                control_plane.kubectl("delete", doc["kind"], doc["metadata"]["name"], "--wait=false", check=False)
        control_plane.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


# --- the processes, run locally as the chart's ServiceAccounts --------------------------------------
# They need the operator and webhook packages; the scenarios themselves are the operator's and
# webhook's own e2e suites. Here: the chart's RBAC is enough for a real finding to be written
# (operator) and acted on (webhook), with no permission error on the way.

SERVER_PATH_ANNOTATION = "socketguard.io/path"


def _socket_app(namespace: str, server_path: str) -> list[Manifest]:
    """A Socket.IO server behind a mesh route for /chat/socket.io/: consistent only with that server path."""
    labels = {"app": "chat"}
    return [
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "chat", "namespace": namespace,
                         "annotations": {"socketguard.io/role": "server", SERVER_PATH_ANNOTATION: server_path}},
            "spec": {
                "replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                    {"name": "chat", "image": "example.com/chat:1",
                     "ports": [{"name": "http", "containerPort": 3000}]}]}},
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat", "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "chat", "namespace": namespace},
            "spec": {"hosts": ["chat"], "http": [{
                "match": [{"uri": {"prefix": "/chat/socket.io/"}}],
                "route": [{"destination": {"host": "chat", "port": {"number": 80}}}],
            }]},
        },
    ]


class Process:
    """`python -m socketguard ...` from this tree, stopped (and its output kept) at the end."""

    def __init__(self, args: list[str], kubeconfig: Path, log: Path) -> None:
        import os
        import subprocess

        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(CHART_DIR.parents[1] / "operator")}
        self.log = log
        self._file = log.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "socketguard", *args], stdout=self._file, stderr=subprocess.STDOUT, env=env
        )

    def output(self) -> str:
        self._file.flush()
        return self.log.read_text()

    def stop(self) -> None:
        import subprocess

        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self._file.close()


def _http_ok(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _assert_no_permission_errors(process: Process) -> None:
    output = process.output()
    assert "Forbidden" not in output and "forbidden" not in output and " 403" not in output, output[-3000:]


def test_operator_works_with_the_charts_rbac(installed: Installed, kube_namespace: str, tmp_path: Path) -> None:
    from socketguard.testing import free_port, wait_for

    cluster = installed.cluster
    cluster.apply(_socket_app(kube_namespace, "/socket.io"))  # route /chat/socket.io/, server /socket.io: SG102
    kubeconfig = cluster.service_account_kubeconfig(installed.namespace, OPERATOR_SA, create=False)
    port = free_port()
    # Standalone and limited to the test's namespace: other suites share this control plane.
    operator = Process(
        ["operator", "--standalone", f"--namespace={kube_namespace}", "--health-host=127.0.0.1",
         f"--health-port={port}", "--log-format=plain"],
        kubeconfig, tmp_path / "operator.log",
    )
    try:
        wait_for(lambda: _http_ok(f"http://127.0.0.1:{port}/readyz"), timeout=90, what="operator /readyz")

        def condition() -> Manifest | None:
            status = installed.get("deployment", "chat", kube_namespace).get("status", {})
            found = [c for c in status.get("conditions", []) if c["type"] == "SocketRouteReady"]
            return found[0] if found else None

        ready = wait_for(condition, timeout=90, what="SocketRouteReady on Deployment chat")
        assert (ready["status"], ready["reason"]) == ("False", "SocketPathMismatch")
        wait_for(
            lambda: cluster.kubectl("get", "policyreports", "-n", kube_namespace, "-o", "name").stdout.strip(),
            timeout=60, what="a PolicyReport",
        )
        _assert_no_permission_errors(operator)
    finally:
        operator.stop()


def test_webhook_works_with_the_charts_rbac(installed: Installed, kube_namespace: str, tmp_path: Path) -> None:
    from socketguard.testing import KubectlError, free_port, local_webhook_configuration, wait_for

    cluster = installed.cluster
    cluster.kubectl("label", "namespace", kube_namespace, "socketguard.io/enforce=enforce")
    cluster.apply(_socket_app(kube_namespace, "/chat/socket.io"))  # consistent
    tls = cluster.issue_serving_certificate("sgchart-webhook")
    kubeconfig = cluster.service_account_kubeconfig(installed.namespace, WEBHOOK_SA, create=False)
    port, health = free_port(), free_port()
    webhook = Process(
        ["webhook", f"--cert-file={tls.cert_file}", f"--key-file={tls.key_file}", "--host=127.0.0.1",
         f"--port={port}", f"--health-port={health}", "--default-mode=warn", f"--namespace={kube_namespace}"],
        kubeconfig, tmp_path / "webhook.log",
    )
    # The chart's configuration as installed, pointed at the local server and, as a copy of its
    # own, limited to the test's namespace so other suites are not reviewed by it.
    local = local_webhook_configuration(installed.get("validatingwebhookconfiguration", FULLNAME), port, tls.ca_bundle)
    local["metadata"] = {"name": f"{FULLNAME}-local"}
    local["webhooks"][0]["namespaceSelector"]["matchExpressions"].append(
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [kube_namespace]}
    )
    cluster.apply(local)
    broken = yaml.safe_dump_all(_socket_app(kube_namespace, "/socket.io"))
    try:
        wait_for(lambda: _http_ok(f"http://127.0.0.1:{health}/readyz"), timeout=90, what="webhook /readyz")

        def denied_on_dry_run() -> str | None:
            # Dry-run requests are reviewed too (sideEffects: None); polled because the API server
            # picks a new webhook configuration up asynchronously.
            try:
                cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=broken)
            except KubectlError as error:
                return error.stderr if "denied the request" in error.stderr else None
            return None

        message = wait_for(denied_on_dry_run, timeout=60, what="the broken change denied")
        assert "SG102" in message
        with pytest.raises(KubectlError, match="denied the request"):
            cluster.kubectl("apply", "-f", "-", stdin=broken)
        _assert_no_permission_errors(webhook)
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", f"{FULLNAME}-local", check=False)
        webhook.stop()
