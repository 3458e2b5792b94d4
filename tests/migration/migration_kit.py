"""Two small pictures for the compare tests: chat.example.com behind ingress-nginx (BEFORE) and
behind a Gateway API Gateway (AFTER). Each test changes one piece and compares.

Namespace `web`: a Socket.IO server Deployment `chat` (3 replicas, polling and websocket,
default path /socket.io), Service `chat` (80 -> http), a page `app` on https://chat.example.com
connecting to https://chat.example.com with path CLIENT_PATH.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from socketguard.engine.inventory import Inventory
from socketguard.engine.migration.compare import Comparison, compare
from socketguard.engine.migration.pair import Difference

HOST = "chat.example.com"


def server(replicas: int = 3, transports: str = "polling,websocket", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "chat", "namespace": "web", "annotations": {
            "socketguard.io/role": "server", "socketguard.io/transports": transports, **annotations}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "chat"}},
                 "template": {"metadata": {"labels": {"app": "chat"}},
                              "spec": {"containers": [{"name": "chat", "ports": [
                                  {"name": "http", "containerPort": 3000}]}]}}},
    }


def service(name: str = "chat", app_protocol: str | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": "http"}
    if app_protocol:
        port["appProtocol"] = app_protocol
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "web"},
            "spec": {"selector": {"app": name}, "ports": [port]}}


def client(path: str = "/socket.io", origin: str = f"https://{HOST}") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "web", "annotations": {
            "socketguard.io/role": "client", "socketguard.io/client-url": f"https://{HOST}",
            "socketguard.io/client-path": path, "socketguard.io/client-origin": origin}},
        "spec": {"selector": {"matchLabels": {"app": "web-app"}},
                 "template": {"metadata": {"labels": {"app": "web-app"}},
                              "spec": {"containers": [{"name": "app"}]}}},
    }


def ingress(path: str = "/socket.io", path_type: str = "Prefix", name: str = "chat", backend: str = "chat",
            **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": "web", "annotations": {
            f"nginx.ingress.kubernetes.io/{key.replace('_', '-')}": value for key, value in annotations.items()}},
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [HOST], "secretName": "chat-tls"}],
                 "rules": [{"host": HOST, "http": {"paths": [{
                     "path": path, "pathType": path_type,
                     "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]},
    }


def gateway(class_name: str = "eg", https: bool = True) -> dict[str, Any]:
    listeners: list[dict[str, Any]] = [{"name": "http", "port": 80, "protocol": "HTTP", "hostname": HOST}]
    if https:
        listeners.append({"name": "https", "port": 443, "protocol": "HTTPS", "hostname": HOST,
                          "tls": {"certificateRefs": [{"name": "chat-tls"}]}})
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "public", "namespace": "web"},
            "spec": {"gatewayClassName": class_name, "listeners": listeners}}


def rule(prefix: str = "/socket.io", backend: str = "chat", **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                             "backendRefs": [{"name": backend, "port": 80}]}
    found.update({key: value for key, value in extra.items() if key != "session_persistence"})
    if "session_persistence" in extra:
        found["sessionPersistence"] = extra["session_persistence"]
    return found


def http_route(*rules: dict[str, Any], section: str | None = "https", name: str = "chat") -> dict[str, Any]:
    parent: dict[str, Any] = {"name": "public"}
    if section:
        parent["sectionName"] = section
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "web"},
            "spec": {"parentRefs": [parent], "hostnames": [HOST], "rules": list(rules) or [rule()]}}


def redirect_route() -> dict[str, Any]:
    return http_route({"filters": [{"type": "RequestRedirect",
                                    "requestRedirect": {"scheme": "https", "statusCode": 301}}]},
                      section="http", name="chat-redirect")


STICKY = {"sessionName": "io", "type": "Cookie"}
NO_TIMEOUT = {"request": "0s"}


def faithful_after(*, workload: dict[str, Any] | None = None, **rule_extra: Any) -> list[dict[str, Any]]:
    """AFTER that keeps everything BEFORE (`before()`) does: sticky, no timeout, the redirect."""
    extra = {"session_persistence": STICKY, "timeouts": NO_TIMEOUT, **rule_extra}
    return [workload or server(), service(), client(), gateway(), http_route(rule(**extra)), redirect_route()]


def before(*, workload: dict[str, Any] | None = None, **ingress_annotations: str) -> list[dict[str, Any]]:
    """BEFORE: the server behind an ingress-nginx Ingress with cookie affinity (unless overridden)."""
    annotations = {"affinity": "cookie", **ingress_annotations}
    return [workload or server(), service(), client(), ingress(**annotations)]


def inventory(objects: Sequence[dict[str, Any]]) -> Inventory:
    found = Inventory()
    for item in objects:
        found.add(yaml.safe_load(yaml.safe_dump(item)))  # a copy, as read from a file
    return found


def compared(before_objects: Sequence[dict[str, Any]], after_objects: Sequence[dict[str, Any]],
             implementation: str | None = None) -> Comparison:
    return compare(inventory(before_objects), inventory(after_objects), implementation=implementation)


def codes(comparison: Comparison) -> list[str]:
    return sorted(d.finding.code for d in comparison.differences())


def only(comparison: Comparison, code: str) -> Difference:
    found = [d for d in comparison.differences() if d.finding.code == code]
    assert len(found) == 1, [d.finding.message for d in comparison.differences()]
    return found[0]
