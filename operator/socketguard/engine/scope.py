"""The neighbourhood of a change: every object whose findings a change to `refs` can alter.

The operator and the webhook evaluate only this neighbourhood (an `Inventory.subset`), which
keeps an evaluation proportional to what a change touches rather than to the cluster.

Closure rules: a changed object pulls in its namespace (Services select workloads there, HPAs
target them); a route (VirtualService, HTTPRoute, Ingress) pulls in every route for its hosts
(shadowing, precedence), its Gateways, the Services it routes to and their namespaces, and the
clients whose URL names its hosts; a client pulls in the routes for its URL's host; a Service
or workload pulls in the VirtualServices routing to its Services; a Gateway pulls in the routes
for the hosts it serves.
"""

from __future__ import annotations

from collections.abc import Iterable

from socketguard.engine.inventory import Inventory, client_url_host
from socketguard.engine.models.gatewayapi import HTTPRoute
from socketguard.engine.models.ingress import Ingress
from socketguard.engine.models.istio import Gateway, VirtualService
from socketguard.engine.models.services import Service
from socketguard.engine.models.workloads import Workload
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.hosts import host_matches, service_of_host


def neighbourhood(inventory: Inventory, refs: Iterable[ObjectRef]) -> set[ObjectRef]:
    closure = _Closure(inventory)
    for ref in refs:
        closure.add_namespace(ref.namespace)
        entry = inventory.entry(ref)
        if entry is not None and isinstance(entry.view, Gateway):
            _add_gateway_hosts(closure, entry.view)
    closure.run()
    return closure.refs


def _add_gateway_hosts(closure: _Closure, gateway: Gateway) -> None:
    """The routed hosts a Gateway serves (its wildcards expanded against the routed hosts)."""
    patterns = {h.partition("/")[2] if "/" in h else h for server in gateway.spec.servers for h in server.hosts}
    for routed in closure.inventory.virtual_service_hosts():
        if any(host_matches(pattern, routed) or pattern == routed for pattern in patterns):
            closure.add_host(routed)


class _Closure:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.refs: set[ObjectRef] = set()
        self.namespaces: set[str] = set()
        self.hosts: set[str] = set()
        self._pending_namespaces: list[str] = []
        self._pending_hosts: list[str] = []

    def add_namespace(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            self.namespaces.add(namespace)
            self._pending_namespaces.append(namespace)

    def add_host(self, host: str) -> None:
        host = host.lower()
        if host and host not in self.hosts:
            self.hosts.add(host)
            self._pending_hosts.append(host)

    def run(self) -> None:
        while self._pending_namespaces or self._pending_hosts:
            while self._pending_namespaces:
                self._expand_namespace(self._pending_namespaces.pop())
            while self._pending_hosts:
                self._expand_host(self._pending_hosts.pop())

    def _expand_namespace(self, namespace: str) -> None:
        for ref in self.inventory.refs_in_namespace(namespace):
            self.refs.add(ref)
            entry = self.inventory.entry(ref)
            view = entry.view if entry else None
            if isinstance(view, VirtualService):
                self._add_virtual_service(view)
            elif isinstance(view, Service):
                for vs in self.inventory.virtual_services_to(namespace, ref.name):
                    self._add_virtual_service(vs)
            elif isinstance(view, Workload):
                self.add_host(client_url_host(view) or "")
            elif isinstance(view, HTTPRoute):
                self._add_http_route(view, ref)
            elif isinstance(view, Ingress):
                for rule in view.spec.rules:
                    self.add_host(rule.host or "")

    def _add_http_route(self, route: HTTPRoute, ref: ObjectRef) -> None:
        for host in route.spec.hostnames:
            self.add_host(host)
        for parent in route.spec.parent_refs:
            self.add_namespace(parent.namespace or ref.namespace)
        for rule in route.spec.rules:
            for backend in rule.backend_refs:
                self.add_namespace(backend.namespace or ref.namespace)

    def _add_virtual_service(self, vs: VirtualService) -> None:
        ref = self.inventory.ref_of(vs)
        if ref in self.refs and ref.namespace in self.namespaces:
            return
        self.refs.add(ref)
        self.add_namespace(ref.namespace)
        for host in vs.spec.hosts:
            self.add_host(host)
        for name in vs.spec.gateways:
            namespace, _, gateway = name.rpartition("/")
            found = self.inventory.gateway(namespace or ref.namespace, gateway)
            if found is not None:
                self.refs.add(self.inventory.ref_of(found))
        for rule in vs.spec.http:
            for destination in rule.route:
                service = service_of_host(destination.destination.host, ref.namespace)
                if service is not None:
                    self.add_namespace(service[0])

    def _expand_host(self, host: str) -> None:
        for route in self.inventory.other_routes_for_host(host):
            self.add_namespace(route.namespace)
        for pattern in self.inventory.wildcard_other_route_hosts():
            if host_matches(pattern, host):
                for route in self.inventory.other_routes_for_host(pattern):
                    self.add_namespace(route.namespace)
        for vs in self.inventory.virtual_services_for_host(host):
            self._add_virtual_service(vs)
        for pattern in self.inventory.wildcard_virtual_service_hosts():
            if host_matches(pattern, host):
                for vs in self.inventory.virtual_services_for_host(pattern):
                    self._add_virtual_service(vs)
        for client in self.inventory.clients_of_host(host):
            self.add_namespace(client.metadata.namespace or self.inventory.default_namespace)
        for gateway in self.inventory.gateways_for_host(host):
            self.refs.add(self.inventory.ref_of(gateway))
