"""`socketguard route --cluster` against the test control plane (a real kube-apiserver)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from socketguard.cli import main

pytestmark = pytest.mark.e2e

MANIFESTS = """
apiVersion: v1
kind: Service
metadata: {{name: chat, namespace: {ns}}}
spec:
  selector: {{app: chat}}
  ports: [{{name: http, port: 80, targetPort: 3000}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: public, namespace: {ns}}}
spec:
  gatewayClassName: any
  listeners: [{{name: http, hostname: chat.example.com, port: 80, protocol: HTTP}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: chat, namespace: {ns}}}
spec:
  parentRefs: [{{name: public}}]
  hostnames: [chat.example.com]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /socket.io}}}}]
    backendRefs: [{{name: chat, port: 80}}]
  - matches: [{{path: {{type: PathPrefix, value: /old}}}}]
    filters: [{{type: RequestRedirect, requestRedirect: {{path: {{type: ReplaceFullPath, replaceFullPath: /new}}}}}}]
"""


def test_route_reads_the_cluster_as_lint_does(control_plane: Any, kube_namespace: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    control_plane.kubectl("apply", "-f", "-", stdin=MANIFESTS.format(ns=kube_namespace))
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))

    def route(path: str) -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(main, ["route", f"http://chat.example.com{path}", "--cluster", "-n",
                                           kube_namespace, "-o", "json"])
        return result.exit_code, json.loads(result.stdout)

    status, output = route("/socket.io/?EIO=4")
    [decision] = output["decisions"]
    assert status == 0
    assert decision["route"] == {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                                 "namespace": kube_namespace, "name": "chat"}
    assert (decision["action"], decision["upstream_path"]) == ("forward", "/socket.io/?EIO=4")
    status, output = route("/old/page")
    assert (status, output["decisions"][0]["location"]) == (0, "http://chat.example.com/new")
