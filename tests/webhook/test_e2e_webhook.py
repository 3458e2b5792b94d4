"""The real kube-apiserver calls `socketguard webhook` (a separate process) over TLS; kubectl shows the result.

One webhook process per module, fed by its own read-only watch (a ServiceAccount with the
webhook's ClusterRole). The webhook's view lags the API server by a watch event, so each step
first waits for a server-side dry-run (reviewed exactly like the real request, written nowhere)
to give the expected answer, then makes the real request once.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from socketguard.testing import Cluster, KubectlError, free_port, local_webhook_configuration, wait_for
from socketguard.webhook.modes import HELD_ANNOTATION, MODE_KEY

from .support import EXAMPLE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "socketguard"
SELECTOR_LABEL = "socketguard-test/webhook"


@dataclass
class Webhook:
    process: subprocess.Popen[bytes]
    port: int
    health_port: int
    ca_bundle: bytes
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_webhook(cluster: Cluster, directory: Path) -> Webhook:
    rules = yaml.safe_load((PACKAGE / "webhook" / "rbac.yaml").read_text())["rules"]
    kubeconfig = cluster.service_account_kubeconfig("socketguard", "socketguard-webhook", cluster_rules=rules)
    tls = cluster.issue_serving_certificate("socketguard-webhook")
    port, health_port = free_port(), free_port()
    log = directory / f"webhook-{port}.log"
    command = [sys.executable, "-m", "socketguard", "webhook", "--cert-file", str(tls.cert_file),
               "--key-file", str(tls.key_file), "--host", "127.0.0.1", "--port", str(port),
               "--health-port", str(health_port), "--default-mode", "warn", "--reload-interval", "1"]
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT / "operator")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment,
                                   start_new_session=True)
    webhook = Webhook(process, port, health_port, tls.ca_bundle, log)
    try:
        wait_for(lambda: _ready(webhook), timeout=60, interval=0.3, what="the webhook's /readyz")
    except BaseException:
        webhook.stop()
        raise AssertionError(f"webhook never became ready:\n{log.read_text()[-3000:]}") from None
    return webhook


def _ready(webhook: Webhook) -> bool:
    if webhook.process.poll() is not None:
        raise AssertionError(f"webhook exited:\n{webhook.log.read_text()[-3000:]}")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webhook.health_port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def configurations(webhook: Webhook, name: str, selector: str = "true") -> list[dict[str, Any]]:
    """The shipped configurations, pointed at the local process and limited to the test namespaces."""
    shipped = list(yaml.safe_load_all((PACKAGE / "webhook" / "webhook-configuration.yaml").read_text()))
    out = []
    for configuration in shipped:
        local = local_webhook_configuration(configuration, webhook.port, webhook.ca_bundle)
        local["metadata"]["name"] = name
        for entry in local["webhooks"]:
            entry["namespaceSelector"].setdefault("matchLabels", {})[SELECTOR_LABEL] = selector
        out.append(local)
    return out


@pytest.fixture(scope="module")
def webhook(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    process = start_webhook(control_plane, tmp_path_factory.mktemp("webhook"))
    name = f"socketguard-e2e-{process.port}"
    control_plane.apply(configurations(process, name))
    try:
        yield process
    finally:
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            control_plane.kubectl("delete", kind, name, check=False)
        process.stop()


# -- the example in a test namespace ------------------------------------------------------------------
class Example:
    def __init__(self, cluster: Cluster, namespace: str, mode: str, selector: str = "true") -> None:
        self.cluster, self.namespace = cluster, namespace
        cluster.kubectl("label", "namespace", namespace, f"{SELECTOR_LABEL}={selector}", f"{MODE_KEY}={mode}",
                        "--overwrite")

    def manifests(self, variant: str, file: str) -> list[dict[str, Any]]:
        text = (EXAMPLE / variant / file).read_text()
        text = text.replace("namespace: mageagent", f"namespace: {self.namespace}")
        text = text.replace("adverant.ai", f"{self.namespace}.adverant.ai")
        return [doc for doc in yaml.safe_load_all(text) if doc and doc["kind"] != "Namespace"]

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(*args, "-n", self.namespace, stdin=stdin, check=check)

    def apply(self, docs: list[dict[str, Any]], *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Client-side `kubectl apply`, as users run it (kubectl prints the admission warnings)."""
        return self.kubectl("apply", *extra, "-f", "-", stdin=yaml.safe_dump_all(docs), check=check)

    def working(self) -> None:
        """Workloads, gateway and the fixed-by-rewrite route: no error."""
        for file in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
            self.apply(self.manifests("broken", file))
        self.apply(self.manifests("fixed-by-rewrite", "virtualservice.yaml"))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", kind, name, "-o", "json").stdout))


Result = subprocess.CompletedProcess[str]


def when(attempt: Callable[[], Result], expect: Callable[[Result], bool], what: str) -> Result:
    """Retry a dry-run until the webhook's watch has caught up and it answers as expected."""
    last: list[subprocess.CompletedProcess[str]] = []

    def once() -> subprocess.CompletedProcess[str] | None:
        result = attempt()
        last[:] = [result]
        return result if expect(result) else None

    try:
        return wait_for(once, timeout=30, interval=0.3, what=what)
    except Exception as error:
        output = f"{last[0].stdout}\n{last[0].stderr}" if last else ""
        raise AssertionError(f"{what}: {error}\nlast output: {output}") from None


def denied(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and "denied the request" in result.stderr


def allowed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0


# -- acceptance -------------------------------------------------------------------------------------------
def test_enforce_denies_the_broken_route_accepts_the_fix_and_denies_breaking_changes(
        control_plane: Cluster, kube_namespace: str, webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "enforce")
    for file in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
        example.apply(example.manifests("broken", file))
    broken = example.manifests("broken", "virtualservice.yaml")
    when(lambda: example.apply(broken, "--dry-run=server", check=False), denied, "dry-run of the broken route denied")

    result = example.apply(broken, check=False)
    assert denied(result), result.stderr
    error = result.stderr
    assert 'admission webhook "validate.socketguard.io" denied the request: SocketGuard: SG102' in error
    assert "/mageagent/socket.io/" in error and "Fix:" in error and "socketguard explain SG102" in error
    with pytest.raises(KubectlError):
        example.get("virtualservice", "adverant")

    example.apply(example.manifests("fixed-by-rewrite", "virtualservice.yaml"))
    assert example.get("virtualservice", "adverant")["spec"]["http"][0]["rewrite"]["uri"] == "/socket.io/"

    annotate = ("annotate", "deployment", "mageagent", "socketguard.io/path=/other", "--overwrite")
    when(lambda: example.kubectl(*annotate, "--dry-run=server", check=False), denied,
         "dry-run of the path change denied")
    result = example.kubectl(*annotate, check=False)
    assert denied(result) and "SG102" in result.stderr and "/other" in result.stderr

    result = example.kubectl("delete", "service", "mageagent", check=False)
    assert denied(result), result.stderr
    assert example.get("service", "mageagent")


def test_kubectl_scale_without_stickiness_is_denied(control_plane: Cluster, kube_namespace: str,
                                                      webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "enforce")
    example.working()
    scale = ("scale", "deployment", "mageagent", "--replicas=3")
    when(lambda: example.kubectl(*scale, "--dry-run=server", check=False), denied, "dry-run of the scale denied")
    result = example.kubectl(*scale, check=False)
    assert denied(result) and "SG301" in result.stderr
    assert example.get("deployment", "mageagent")["spec"]["replicas"] == 1


def test_warn_admits_and_kubectl_prints_the_warning(control_plane: Cluster, kube_namespace: str,
                                                    webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "warn")
    for file in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
        example.apply(example.manifests("broken", file))
    broken = example.manifests("broken", "virtualservice.yaml")
    when(lambda: example.apply(broken, "--dry-run=server"), lambda r: "Warning: SG102" in r.stderr,
         "dry-run of the broken route warned")
    result = example.apply(broken)
    assert "Warning: SG102 socket-path-mismatch" in result.stderr
    assert "Warning: SG102 fix:" in result.stderr
    assert example.get("virtualservice", "adverant")


def test_hold_admits_the_update_paused_and_no_replicaset_rolls_out(control_plane: Cluster, kube_namespace: str,
                                                                   webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "hold")
    example.working()
    wait_for(lambda: _replica_sets(example) == 1 or None, timeout=60, what="the first ReplicaSet")
    patch = json.dumps({"spec": {"template": {"metadata": {"annotations": {"socketguard.io/path": "/other"}}}}})
    command = ("patch", "deployment", "mageagent", "--type=merge", "-p", patch)
    when(lambda: example.kubectl(*command, "--dry-run=server", "-o", "json"),
         lambda r: json.loads(r.stdout)["spec"].get("paused") is True, "dry-run of the update held")

    result = example.kubectl(*command)
    assert "Warning: SG102" in result.stderr
    deployment = example.get("deployment", "mageagent")
    assert deployment["spec"]["paused"] is True
    assert deployment["metadata"]["annotations"][HELD_ANNOTATION].startswith("SG102: ")
    generation = deployment["metadata"]["generation"]
    wait_for(lambda: example.get("deployment", "mageagent")["status"].get("observedGeneration", 0) >= generation
             or None, timeout=60, what="the deployment controller observing the held update")
    assert _replica_sets(example) == 1


def _replica_sets(example: Example) -> int:
    found = json.loads(example.kubectl("get", "replicasets", "-l", "app=mageagent", "-o", "json").stdout)
    return len(found["items"])


def test_reverse_order_apply_is_denied_only_for_the_real_contradiction(
        control_plane: Cluster, kube_namespace: str, webhook: Webhook, tmp_path: Path) -> None:
    """`kubectl apply -f dir/` with routes before workloads, then again (a GitOps resync)."""
    example = Example(control_plane, kube_namespace, "enforce")
    directory = tmp_path / "reversed"
    directory.mkdir()
    files = ("virtualservice.yaml", "mageagent.yaml", "gateway.yaml", "dashboard.yaml")
    for index, file in enumerate(files):
        (directory / f"{index}-{file}").write_text(yaml.safe_dump_all(example.manifests("broken", file)))
    apply_dir = ("apply", "-f", str(directory))

    first = example.kubectl(*apply_dir, check=False)
    # The webhook may not have seen every earlier object yet: a denial, if any, is the contradiction.
    assert all("SG102" in line for line in first.stderr.splitlines() if "denied the request" in line)
    # Once it has, the Gateway that completes the SG102 contradiction is denied; nothing else is.
    gateway = example.manifests("broken", "gateway.yaml")
    when(lambda: example.apply(gateway, "--dry-run=server", check=False), denied, "dry-run of the gateway denied")
    second = example.kubectl(*apply_dir, check=False)
    denials = [line for line in second.stderr.splitlines() if "denied the request" in line]
    assert len(denials) == 1 and "2-gateway.yaml" in denials[0] and "SocketGuard: SG102" in denials[0], second.stderr
    for kind, name in (("virtualservice", "adverant"), ("deployment", "mageagent"), ("service", "mageagent"),
                       ("deployment", "dashboard"), ("service", "dashboard")):
        assert example.get(kind, name)


def test_a_change_that_leaves_an_existing_problem_alone_is_allowed(
        control_plane: Cluster, kube_namespace: str, webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "enforce")
    example.working()
    broken = example.manifests("broken", "virtualservice.yaml")
    lowered = json.loads(json.dumps(broken))
    lowered[0]["metadata"]["annotations"] = {MODE_KEY: "warn"}  # the object opts itself down to warn
    when(lambda: example.apply(lowered, "--dry-run=server", check=False),
         lambda r: allowed(r) and "Warning: SG102" in r.stderr, "the lowered broken route warned")
    example.apply(lowered)
    # Once the webhook has seen it, the same broken route without the opt-out is no longer *new*.
    when(lambda: example.apply(broken, "--dry-run=server", check=False), allowed,
         "the existing problem no longer introduced")
    example.apply(broken)
    result = example.kubectl("label", "service", "dashboard", "tier=web")
    assert "Warning" not in result.stderr
    example.kubectl("annotate", "virtualservice", "adverant", "team=web")


def test_malformed_bodies_get_clean_answers_from_the_process(webhook: Webhook) -> None:
    context = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    for path, body in (("/validate", b"{oops"), ("/validate", b'{"kind": "AdmissionReview"}'),
                       ("/nowhere", json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                                "request": {"uid": "u", "operation": "CREATE",
                                                            "kind": {"kind": "X"}, "resource": {"resource": "x"}}}
                                               ).encode())):
        request = urllib.request.Request(f"https://127.0.0.1:{webhook.port}{path}", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            answer = json.loads(response.read())
        assert response.status == 200 and answer["response"]["allowed"] is False
        assert answer["response"]["status"]["message"].startswith("SocketGuard: ")


def test_a_stopped_webhook_fails_open(control_plane: Cluster, kube_namespace: str,
                                      tmp_path: Path) -> None:
    process = start_webhook(control_plane, tmp_path)
    name = f"socketguard-e2e-failopen-{process.port}"
    control_plane.apply(configurations(process, name, selector="fail-open"))
    try:
        example = Example(control_plane, kube_namespace, "enforce", selector="fail-open")
        for file in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
            example.apply(example.manifests("broken", file))
        broken = example.manifests("broken", "virtualservice.yaml")
        when(lambda: example.apply(broken, "--dry-run=server", check=False), denied, "the webhook enforcing")
        process.stop()
        result = example.apply(broken)  # failurePolicy Ignore: admitted without the webhook
        assert example.get("virtualservice", "adverant")
        assert "denied" not in result.stderr
    finally:
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            control_plane.kubectl("delete", kind, name, check=False)
        process.stop()


def test_the_operator_resumes_a_held_rollout_once_the_route_is_fixed(
        control_plane: Cluster, kube_namespace: str, webhook: Webhook, tmp_path: Path) -> None:
    example = Example(control_plane, kube_namespace, "hold")
    example.working()
    wait_for(lambda: _replica_sets(example) == 1 or None, timeout=60, what="the first ReplicaSet")
    patch = json.dumps({"spec": {"template": {"metadata": {"annotations": {"socketguard.io/path": "/other"}}}}})
    command = ("patch", "deployment", "mageagent", "--type=merge", "-p", patch)
    when(lambda: example.kubectl(*command, "--dry-run=server", "-o", "json"),
         lambda r: json.loads(r.stdout)["spec"].get("paused") is True, "dry-run of the update held")
    example.kubectl(*command)
    assert example.get("deployment", "mageagent")["spec"]["paused"] is True

    log = tmp_path / "operator.log"
    environment = {**os.environ, "KUBECONFIG": str(control_plane.kubeconfig), "PYTHONPATH": str(ROOT / "operator")}
    with log.open("wb") as output:
        operator = subprocess.Popen(
            [sys.executable, "-m", "socketguard", "operator", "--standalone", "--namespace", kube_namespace,
             "--health-port", str(free_port()), "--log-format", "plain"],
            stdout=output, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    try:
        fixed = example.manifests("fixed-by-rewrite", "virtualservice.yaml")
        fixed[0]["spec"]["http"][0]["rewrite"]["uri"] = "/other/"  # the route now delivers the new path
        example.apply(fixed)
        wait_for(lambda: not example.get("deployment", "mageagent")["spec"].get("paused") or None,
                 timeout=90, what="the operator resuming the held Deployment")
        resumed = example.get("deployment", "mageagent")
        assert HELD_ANNOTATION not in resumed["metadata"].get("annotations", {})
        wait_for(lambda: _replica_sets(example) == 2 or None, timeout=60, what="the held template rolling out")
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        operator.send_signal(signal.SIGTERM)
        try:
            operator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            operator.kill()
            operator.wait()
