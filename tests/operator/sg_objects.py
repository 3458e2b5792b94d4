"""Shared builders for the operator tests: small, valid objects of the example topology."""

from __future__ import annotations

from typing import Any


def server(name: str, ns: str = "demo", path: str | None = None, **annotations: str) -> dict[str, Any]:
    notes = {"socketguard.io/role": "server", **{f"socketguard.io/{k.replace('_', '-')}": v
                                                 for k, v in annotations.items()}}
    if path is not None:
        notes["socketguard.io/path"] = path
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "generation": 1,
                     "labels": {"app": name}, "annotations": notes},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "example/app:1",
                                                       "ports": [{"name": "http", "containerPort": 8080}]}]}}},
    }


def service(name: str, ns: str = "demo", app: str | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-svc-{name}"},
            "spec": {"selector": {"app": app or name},
                     "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}}


def route(name: str, ns: str = "demo", prefix: str = "/socket.io/", host: str | None = None,
          backend: str | None = None, rewrite: str | None = None, gateway: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"match": [{"uri": {"prefix": prefix}}],
                            "route": [{"destination": {"host": backend or name, "port": {"number": 8080}}}]}
    if rewrite:
        rule["rewrite"] = {"uri": rewrite}
    spec: dict[str, Any] = {"hosts": [host or name], "http": [rule]}
    if gateway:
        spec["gateways"] = [gateway]
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-vs-{name}", "generation": 1},
            "spec": spec}


def gateway(name: str, ns: str = "demo", host: str = "app.example.com") -> dict[str, Any]:
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-gw-{name}"},
            "spec": {"selector": {"istio": "ingressgateway"},
                     "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [host]}]}}


# The seed's broken MageAgent topology (manifests/examples/mageagent/broken/, trimmed to what
# the operator tests need): the VirtualService sends /mageagent/socket.io/ to a server on
# the default /socket.io.
MAGEAGENT_NAMESPACE = "mageagent"
MAGEAGENT_BROKEN = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: adverant-gateway, namespace: mageagent}
spec:
  selector: {istio: ingressgateway}
  servers:
    - name: https
      port: {number: 443, name: https, protocol: HTTPS}
      tls: {mode: SIMPLE, credentialName: adverant-ai-tls}
      hosts: [adverant.ai]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mageagent
  namespace: mageagent
  labels: {app: mageagent}
  annotations:
    socketguard.io/role: server
    socketguard.io/stack: node
    socketguard.io/port: http
    socketguard.io/transports: websocket,polling
spec:
  replicas: 1
  selector:
    matchLabels: {app: mageagent}
  template:
    metadata:
      labels: {app: mageagent, version: v1}
    spec:
      containers:
        - name: mageagent
          image: registry.adverant.ai/mageagent:1.8.2
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: mageagent, namespace: mageagent, labels: {app: mageagent}}
spec:
  selector: {app: mageagent}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: adverant, namespace: mageagent}
spec:
  hosts: [adverant.ai]
  gateways: [adverant-gateway]
  http:
    - name: mageagent-socketio
      match:
        - uri: {prefix: /mageagent/socket.io/}
      route:
        - destination:
            host: mageagent
            port: {number: 8080}
"""
# The fix: rewrite the prefix to the server's path.
MAGEAGENT_FIXED_ROUTE = MAGEAGENT_BROKEN.split("---")[-1].replace(
    "      route:\n", "      rewrite: {uri: /socket.io/}\n      route:\n")
