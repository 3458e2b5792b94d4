"""The neighbourhood of a change: every object whose findings a change to `refs` can alter.

The operator and the webhook evaluate only this neighbourhood (an `Inventory.subset`), which
keeps an evaluation proportional to what a change touches rather than to the cluster.

The closure follows the relation model (`socketguard.engine.relations`), so it knows every
relation the operator's change routing knows, and it is closed under "depends on": whatever an
object in it needs to be judged is in it too, which is what makes the scoped findings equal to
the full analysis's findings about these objects.

- A changed object pulls in its namespace (Services select workloads there, HPAs target them).
- An object in a pulled-in namespace pulls in, through its links, the namespaces of the objects
  its links meet: a route the Services it names (and the clients and DestinationRules naming
  them), a Service the routes, clients and DestinationRules naming it, a client its pinned
  server, a ReferenceGrant the routes it admits.
- Hosts (of routes, clients' URLs and page origins, DestinationRules) pull in the namespaces of
  every route, client and DestinationRule whose host meets them (wildcards either way).
- The only entrance (Gateway, Ingress) of the inventory, added or removed, pulls in every
  client: whether any entrance exists at all is read (see SG110).
- Gateways are hubs: a host pulls in the Gateways serving it as context, not the other routes
  they serve; only a changed Gateway pulls in the routes attached to it or serving its hosts.
  (An HTTPRoute's `parentRefs` still pull in the Gateway's namespace: its listeners' rules for
  which routes they admit are read there.)
"""

from __future__ import annotations

from collections.abc import Iterable

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.relations import (
    CLIENT_HOST,
    ENTRANCE_KINDS,
    GATEWAY_HOST,
    HOST_RELATIONS,
    POLICY_HOST,
    ROUTE_HOST,
    Link,
    role_of,
)

ISTIO_GROUP = "networking.istio.io"


def neighbourhood(inventory: Inventory, refs: Iterable[ObjectRef]) -> set[ObjectRef]:
    closure = _Closure(inventory)
    for ref in refs:
        closure.add_namespace(ref.namespace)
        if _only_entrance(inventory, ref):
            for client in inventory.relations.for_host(CLIENT_HOST, "*"):
                closure.add_namespace(client.namespace)
        if role_of(ref) == "gateway":
            closure.refs.add(ref)
            for other in inventory.related(ref):
                closure.add_object(other)
    closure.run()
    return closure.refs


def _only_entrance(inventory: Inventory, ref: ObjectRef) -> bool:
    """`ref` is an entrance (Gateway, Ingress) and no other one exists: its coming or going
    decides whether any entrance exists at all, which every client's SG110 reads."""
    if (ref.group, ref.kind) not in ENTRANCE_KINDS:
        return False
    entrances = sum(inventory.count(group, kind) for group, kind in ENTRANCE_KINDS)
    entry = inventory.entry(ref)
    return entrances - (entry is not None and entry.view is not None) == 0


def _is_hub(ref: ObjectRef) -> bool:
    """An Istio Gateway: context for the routes it serves, never a way from one to the others."""
    return role_of(ref) == "gateway" and ref.group == ISTIO_GROUP


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

    def add_object(self, ref: ObjectRef) -> None:
        """Pulls in `ref` as a whole namespace, or alone when it is a hub."""
        if _is_hub(ref):
            self.refs.add(ref)
        else:
            self.add_namespace(ref.namespace)

    def run(self) -> None:
        while self._pending_namespaces or self._pending_hosts:
            while self._pending_namespaces:
                self._expand_namespace(self._pending_namespaces.pop())
            while self._pending_hosts:
                self._expand_host(self._pending_hosts.pop())

    def _expand_namespace(self, namespace: str) -> None:
        relations = self.inventory.relations
        for ref in self.inventory.refs_in_namespace(namespace):
            self.refs.add(ref)
            for link in relations.links(ref):
                self._follow(link)

    def _follow(self, link: Link) -> None:
        relation, value = link
        if relation == GATEWAY_HOST:
            return  # a Gateway's hosts lead to its routes only when it changed (see `neighbourhood`)
        if relation in HOST_RELATIONS:
            self.add_host(str(value))
            return
        for other in self.inventory.relations.meeting(link):
            self.add_object(other)

    def _expand_host(self, host: str) -> None:
        relations = self.inventory.relations
        for relation in (ROUTE_HOST, CLIENT_HOST, POLICY_HOST):
            for other in relations.for_host(relation, host):
                self.add_object(other)
        self.refs |= relations.for_host(GATEWAY_HOST, host)  # context: the Gateways serving the host
