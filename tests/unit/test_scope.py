"""A scoped analysis equals the full analysis restricted to the change's neighbourhood."""

from __future__ import annotations

import copy

import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.scope import neighbourhood

SEED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: mageagent, namespace: NS, annotations: {socketguard.io/role: server}}
spec:
  selector: {matchLabels: {app: mageagent}}
  template:
    metadata: {labels: {app: mageagent}}
    spec: {containers: [{name: app, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: mageagent, namespace: NS}
spec:
  selector: {app: mageagent}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mageagent, namespace: NS}
spec:
  hosts: [HOST]
  gateways: [istio-system/public]
  http:
  - match: [{uri: {prefix: /mageagent/socket.io/}}]
    route: [{destination: {host: mageagent}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dashboard
  namespace: NS
  annotations: {socketguard.io/client-url: "https://HOST", socketguard.io/client-path: /mageagent/socket.io}
spec:
  selector: {matchLabels: {app: dashboard}}
  template:
    metadata: {labels: {app: dashboard}}
    spec: {containers: [{name: web}]}
"""

GATEWAY = {
    "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "istio-system"},
    "spec": {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"],
                          "tls": {"mode": "SIMPLE"}}]},
}


def cluster(copies: int) -> Inventory:
    inventory = Inventory()
    inventory.add(copy.deepcopy(GATEWAY))
    for index in range(copies):
        text = SEED.replace("NS", f"team-{index}").replace("HOST", f"t{index}.example.com")
        for doc in yaml.safe_load_all(text):
            inventory.add(doc)
    return inventory


def test_neighbourhood_stays_in_the_changed_namespace_and_its_routes() -> None:
    inventory = cluster(20)
    service = ObjectRef("v1", "Service", "team-3", "mageagent")
    found = neighbourhood(inventory, [service])
    assert {ref.namespace for ref in found} == {"team-3", "istio-system"}
    assert ObjectRef("networking.istio.io/v1", "Gateway", "istio-system", "public") in found


def test_scoped_analysis_matches_full_analysis_on_the_neighbourhood() -> None:
    inventory = cluster(20)
    full = analyze(inventory)
    assert full, "the seed copies must produce findings for this test to mean anything"
    for ref in (ObjectRef("v1", "Service", "team-3", "mageagent"),
                ObjectRef("networking.istio.io/v1", "VirtualService", "team-7", "mageagent"),
                ObjectRef("apps/v1", "Deployment", "team-9", "dashboard")):
        closure = neighbourhood(inventory, [ref])
        expected = [f for f in full if f.subject in closure]
        assert analyze(inventory, scope=[ref]) == expected


def test_subset_shares_views_and_indexes() -> None:
    inventory = cluster(3)
    part = inventory.subset(inventory.refs_in_namespace("team-1"))
    assert len(part) == 4
    assert [vs.metadata.name for vs in part.virtual_services_for_host("t1.example.com")] == ["mageagent"]
    assert part.virtual_services_for_host("t2.example.com") == []


def test_a_wildcard_gateway_change_reaches_every_route_it_serves() -> None:
    inventory = cluster(4)
    gateway = ObjectRef("networking.istio.io/v1", "Gateway", "istio-system", "public")
    assert {ref.namespace for ref in neighbourhood(inventory, [gateway])} == {
        "istio-system", "team-0", "team-1", "team-2", "team-3"}


def test_a_client_change_reaches_the_routes_for_its_host_in_other_namespaces() -> None:
    inventory = cluster(4)
    inventory.add({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "portal", "namespace": "frontend", "annotations": {
            "socketguard.io/client-url": "https://t2.example.com",
            "socketguard.io/client-path": "/mageagent/socket.io"}},
        "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}},
    })
    client = ObjectRef("apps/v1", "Deployment", "frontend", "portal")
    assert "team-2" in {ref.namespace for ref in neighbourhood(inventory, [client])}
    full = [f for f in analyze(inventory) if f.subject == client]
    assert analyze(inventory, scope=[client]) == [
        f for f in analyze(inventory) if f.subject in neighbourhood(inventory, [client])]
    assert all(f in analyze(inventory, scope=[client]) for f in full)


def test_restore_puts_back_exactly_what_was_there() -> None:
    inventory = cluster(2)
    ref = ObjectRef("networking.istio.io/v1", "VirtualService", "team-1", "mageagent")
    before = analyze(inventory)
    saved = inventory.entry(ref)
    changed = inventory.raw(ref)
    assert changed is not None
    inventory.add({**changed, "spec": {**changed["spec"], "hosts": ["elsewhere.example.com"]}})
    assert inventory.virtual_services_for_host("t1.example.com") == []
    inventory.restore(ref, saved)
    assert inventory.entry(ref) is saved
    assert [vs.metadata.name for vs in inventory.virtual_services_for_host("t1.example.com")] == ["mageagent"]
    assert inventory.virtual_services_for_host("elsewhere.example.com") == []
    assert analyze(inventory) == before
    inventory.restore(ref, None)
    assert ref not in inventory
