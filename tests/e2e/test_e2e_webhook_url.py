"""A Service-based webhook configuration, rewritten to a URL, reaches a webhook server on loopback."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from socketguard.testing import Cluster, KubectlError, local_webhook_configuration

pytestmark = pytest.mark.e2e

DENY_LABEL = "socketguard-test/deny"


class _DenyLabelled(BaseHTTPRequestHandler):
    """Denies objects carrying DENY_LABEL; records every path it was called on."""

    calls: list[str]

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(urlsplit(self.path).path)
        labels = review["request"]["object"]["metadata"].get("labels") or {}
        allowed = DENY_LABEL not in labels
        response: dict[str, Any] = {"uid": review["request"]["uid"], "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "message": "denied by the e2e webhook"}
        body = json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_server(control_plane: Cluster) -> Iterator[tuple[int, bytes, list[str]]]:
    tls = control_plane.issue_serving_certificate("e2e-webhook")
    calls: list[str] = []
    handler = type("Handler", (_DenyLabelled,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], tls.ca_bundle, calls
    finally:
        server.shutdown()
        server.server_close()


def test_rewritten_webhook_is_called_and_can_deny(
    control_plane: Cluster, kube_namespace: str, webhook_server: tuple[int, bytes, list[str]]
) -> None:
    port, ca_bundle, calls = webhook_server
    chart_configuration = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"e2e-{kube_namespace}"},
        "webhooks": [
            {
                "name": "configmaps.e2e.socketguard.io",
                "clientConfig": {
                    "service": {
                        "name": "socketguard-webhook",
                        "namespace": "socketguard",
                        "path": "/validate",
                        "port": 443,
                    }
                },
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["configmaps"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube_namespace}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    control_plane.apply(local_webhook_configuration(chart_configuration, port, ca_bundle))
    try:
        # The API server picks up new webhook configurations asynchronously; the first calls may miss it.
        _wait_until_denied(control_plane, kube_namespace)
        control_plane.kubectl("create", "configmap", "plain", "-n", kube_namespace)
    finally:
        control_plane.kubectl("delete", "validatingwebhookconfiguration", f"e2e-{kube_namespace}", check=False)

    assert "/validate" in calls


def _wait_until_denied(control_plane: Cluster, namespace: str) -> None:
    from socketguard.testing import wait_for

    def denied() -> str | None:
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"generateName": "deny-", "namespace": namespace, "labels": {DENY_LABEL: "yes"}},
        }
        try:
            control_plane.kubectl("create", "-f", "-", stdin=json.dumps(manifest))
        except KubectlError as error:
            return error.stderr if "denied by the e2e webhook" in error.stderr else None
        return None

    message = wait_for(denied, timeout=30, interval=0.5, what="the webhook denying a labelled ConfigMap")
    assert "denied by the e2e webhook" in message
