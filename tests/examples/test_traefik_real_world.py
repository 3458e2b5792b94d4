"""Three public Traefik deployments of Socket.IO apps, re-expressed as minimal manifests (each file
names its source), with SocketGuard's verdicts on them and on the one change that breaks each."""

from __future__ import annotations

from pathlib import Path

import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "traefik-real-world"


def lint(text: str) -> list[Finding]:
    inventory = Inventory()
    for document in yaml.safe_load_all(text):
        if document:
            inventory.add(document)
    return analyze(inventory)


def codes(text: str) -> list[str]:
    return sorted(f.code for f in lint(text))


def case(name: str) -> str:
    return (CASES / name).read_text()


def test_node_chat_is_kept_sticky_by_the_service_annotation() -> None:
    text = case("node-chat-sticky-ingress.yaml")
    assert codes(text) == ["SG302"]  # five replicas, no adapter declared
    without_cookie = text.replace('traefik.ingress.kubernetes.io/service.sticky.cookie: "true"', "x-unrelated: 'y'")
    assert "SG301" in codes(without_cookie)


def test_wsk_replace_path_delivers_to_the_root_path_server() -> None:
    text = case("wsk-replace-path.yaml")
    assert codes(text) == []
    # With polling allowed, the Service's ClientIP affinity does not hold behind Traefik.
    polling = text.replace("socketguard.io/client-transports: websocket",
                           "socketguard.io/client-transports: polling,websocket")
    [finding] = [f for f in lint(polling) if f.code == "SG301"]
    assert "ClientIP is ignored" in finding.message and "sticky" in finding.fixes[0]


def test_open_webui_on_websecure_is_clean_and_a_lost_socket_path_is_sg102() -> None:
    text = case("open-webui-ingress.yaml")
    assert codes(text) == []
    stripped = text.replace("path: /\n", "path: /ws\n").replace(
        "    traefik.ingress.kubernetes.io/router.entrypoints: websecure",
        "    traefik.ingress.kubernetes.io/router.entrypoints: websecure\n"
        "    traefik.ingress.kubernetes.io/router.middlewares: open-webui-strip@kubernetescrd") + """
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: strip, namespace: open-webui}
spec:
  stripPrefix: {prefixes: [/ws]}
"""
    assert "SG102" in codes(stripped)
