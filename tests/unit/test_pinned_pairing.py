"""A client pinned to its server (`client-server`) pairs with that server, found by namespace and name."""

from __future__ import annotations

from typing import Any

from socketguard.engine.context import Context
from socketguard.engine.inventory import Inventory


def workload(kind: str, namespace: str, name: str, annotations: dict[str, str]) -> dict[str, Any]:
    labels = {"app": f"{namespace}-{name}"}
    return {
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8080, "name": "http"}]}]}}},
    }


def client(name: str, pinned: str) -> dict[str, Any]:
    return workload("Deployment", "web", name, {
        "socketguard.io/role": "client", "socketguard.io/client-server": pinned,
        "socketguard.io/client-url": "https://chat.example.com"})


def test_pinned_clients_pair_with_the_server_of_that_namespace_and_name() -> None:
    inventory = Inventory()
    server = {"socketguard.io/role": "server"}
    for namespace, name in [("other", "chat"), ("web", "chat"), ("web", "feed")]:
        inventory.add(workload("Deployment", namespace, name, server))
    inventory.add(workload("StatefulSet", "web", "feed", server))  # same name, another kind
    inventory.add(client("app", "web/chat"))
    inventory.add(client("reader", "feed"))  # the client's own namespace
    inventory.add(client("lost", "web/missing"))
    pairs = {(p.client.workload.name, str(p.server.workload)) for p in Context(inventory).pairs}
    first_feed = next(str(ref) for ref in Context(inventory).servers if ref.name == "feed")
    assert pairs == {("app", "Deployment web/chat"), ("reader", first_feed)}
