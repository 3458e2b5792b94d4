"""Small ingress-nginx topologies built as dicts: Ingresses on one host, Services and Deployments."""

from __future__ import annotations

from typing import Any

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory

HOST = "app.example.com"
NS = "app"


def ingress(name: str, paths: list[tuple[str, str, str]], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An nginx Ingress for HOST; each path is (path, pathType, Service)."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": NS,
                     "annotations": {f"nginx.ingress.kubernetes.io/{k}": v for k, v in (annotations or {}).items()}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": HOST, "http": {"paths": [
            {"path": path, "pathType": path_type, "backend": {"service": {"name": service, "port": {"number": 80}}}}
            for path, path_type, service in paths]}}]},
    }


def app(name: str, annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A Service and a Deployment behind it (container port 3000)."""
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
         "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 3000}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": name, "ports": [{"containerPort": 3000}]}]}}}},
    ]


def lint(*objects: dict[str, Any]) -> list[Finding]:
    inventory = Inventory()
    for obj in objects:
        inventory.add(obj)
    return analyze(inventory)


def codes_on(findings: list[Finding], name: str) -> set[str]:
    return {f.code for f in findings if f.subject.name == name or any(r.name == name for r in f.related)}
