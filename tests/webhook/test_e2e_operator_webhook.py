"""`socketguard operator --webhook`: one process both writes verdicts and answers admission reviews.

For single-replica installs. The operator runs as a ServiceAccount bound to exactly the
operator's ClusterRole; the real kube-apiserver calls its admission server over TLS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from socketguard.testing import Cluster, free_port, wait_for

from .test_e2e_webhook import PACKAGE, ROOT, Example, Webhook, _ready, configurations, denied, when

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def operator_webhook(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    rules = yaml.safe_load((PACKAGE / "controller" / "rbac.yaml").read_text())["rules"]
    kubeconfig = control_plane.service_account_kubeconfig("socketguard", "socketguard-operator-webhook",
                                                          cluster_rules=rules)
    tls = control_plane.issue_serving_certificate("socketguard-operator-webhook")
    port, health_port = free_port(), free_port()
    log = Path(tmp_path_factory.mktemp("operator-webhook")) / "operator.log"
    command = [sys.executable, "-m", "socketguard", "operator", "--standalone", "--log-format", "plain",
               "--health-host", "127.0.0.1", "--health-port", str(health_port), "--webhook",
               "--webhook-cert-file", str(tls.cert_file), "--webhook-key-file", str(tls.key_file),
               "--webhook-port", str(port), "--default-mode", "warn"]
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT / "operator")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment,
                                   start_new_session=True)
    served = Webhook(process, port, health_port, tls.ca_bundle, log)
    name = f"socketguard-e2e-operator-{port}"
    try:
        wait_for(lambda: _ready(served), timeout=60, interval=0.3, what="the operator's /readyz")
        control_plane.apply(configurations(served, name, selector="operator"))
        yield served
    finally:
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            control_plane.kubectl("delete", kind, name, check=False)
        served.stop()


def test_the_operator_process_denies_the_broken_route_and_marks_the_deployment(
        control_plane: Cluster, kube_namespace: str, operator_webhook: Webhook) -> None:
    example = Example(control_plane, kube_namespace, "enforce", selector="operator")
    for file in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml"):
        example.apply(example.manifests("broken", file))
    broken = example.manifests("broken", "virtualservice.yaml")
    when(lambda: example.apply(broken, "--dry-run=server", check=False), denied, "dry-run of the broken route denied")
    result = example.apply(broken, check=False)
    assert denied(result) and "SG102" in result.stderr, result.stderr

    example.apply(example.manifests("fixed-by-rewrite", "virtualservice.yaml"))
    annotate = ("annotate", "deployment", "mageagent", "socketguard.io/path=/other", "--overwrite")
    when(lambda: example.kubectl(*annotate, "--dry-run=server", check=False), denied,
         "dry-run of the path change denied")

    def condition() -> dict[str, object] | None:
        status = example.get("deployment", "mageagent").get("status", {})
        found = [c for c in status.get("conditions", []) if c.get("type") == "SocketRouteReady"]
        return found[0] if found and found[0].get("status") == "True" else None

    # The same process also wrote the verdict: the fixed route leaves the server's condition True.
    assert wait_for(condition, timeout=30, interval=0.5, what="SocketRouteReady True on mageagent")
    assert "Traceback" not in operator_webhook.log.read_text()
