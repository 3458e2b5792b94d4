"""Shared builders for the operator tests: small, valid objects of the example topology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


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


EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "mageagent"
ROLLOUTS_EXAMPLE = EXAMPLES.with_name("mageagent-argo-rollouts")
MAGEAGENT_NAMESPACE = "mageagent"


def mageagent(variant: str = "broken", namespace: str | None = None,
              files: tuple[str, ...] = (), example: Path = EXAMPLES) -> list[dict[str, Any]]:
    """The seed's MageAgent example (`broken`, `fixed-by-rewrite`, `fixed-by-path`) without its Namespace.

    With `namespace`, it moves there and its host becomes `<namespace>.adverant.ai`, because
    Istio merges the routes of one host across namespaces.
    """
    docs: list[dict[str, Any]] = []
    for path in sorted((example / variant).glob("*.yaml")):
        if files and path.name not in files:
            continue
        text = path.read_text()
        if namespace:
            text = text.replace("adverant.ai", f"{namespace}.adverant.ai")
        docs.extend(d for d in yaml.safe_load_all(text) if d and d.get("kind") != "Namespace")
    if namespace:
        for doc in docs:
            doc["metadata"]["namespace"] = namespace
    return docs
