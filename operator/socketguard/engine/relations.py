"""The one relation model: which objects an object names, read from its raw dict.

Every relation that routing follows is written once here, as the *edge function* of a kind: it
reads one raw object (as a file or a watch delivers it, so an object whose view failed to
validate still has its edges) and yields `Link`s, `(relation, value)` pairs such as
`("route-host", "chat.example.com")` or `("service", ("web", "chat"))`. Two objects are related
when a link of one *meets* a link of the other: the same value under two relations that `MEETS`
pairs (a route's `route-service` meets a Service's `service`), or, for host relations, one host
matching the other as a pattern (`*.example.com` meets `chat.example.com`). Label selection is
the one relation that is not an equality: a Service relates to the workloads its whole selector
matches.

The links feed every consumer of "what a change touches": the inventory's indexes (host ->
routes of every router kind, Service -> routes, workload -> HPAs), the scoped analysis
(`socketguard.engine.scope`) and the operator's change routing (`controller/relations.py`).
A new router or kind adds its edge function to `EDGES` (and its role to `ROLES`); nothing else
needs to know its field names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.models import POD_TEMPLATE_HASH, TRAEFIK_GROUPS, WORKLOAD_GROUPS
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.hosts import host_matches, in_cluster_service, service_of_host
from socketguard.engine.urls import split_url

Link = tuple[str, Hashable]
GroupKind = tuple[str, str]
Role = Literal["route", "gateway", "service", "workload", "policy", "scaler", "grant"]
EdgeFunction = Callable[[ObjectRef, Mapping[str, Any]], Iterator[Link]]

ISTIO = "networking.istio.io"
GATEWAY_API = "gateway.networking.k8s.io"

# -- the vocabulary: what a link says -------------------------------------------------------------
ROUTE_HOST = "route-host"  # a route serves this host (lower-cased; "*" when it names none)
ROUTE_SERVICE = "route-service"  # a route sends (or mirrors) to this Service: (namespace, name)
ROUTE_GATEWAY = "route-gateway"  # a route attaches to this Gateway: (namespace, name)
CROSS_NAMESPACE = "cross-namespace"  # a route names a backend elsewhere: (route ns, backend ns)
GATEWAY = "gateway"  # a Gateway's identity: (namespace, name)
GATEWAY_HOST = "gateway-host"  # a Gateway serves this host (pattern)
SERVICE = "service"  # a Service's identity: (namespace, name)
SELECTOR = "selector"  # one pair of a Service's selector: (namespace, key, value)
WORKLOAD = "workload"  # a workload's identity: (namespace, kind, name)
WORKLOAD_NAME = "workload-name"  # a workload as `client-server` names it: (namespace, name)
POD_LABEL = "pod-label"  # one pod-template label of a workload: (namespace, key, value)
CLIENT_HOST = "client-host"  # a client's URL or page origin is on this host ("*": read at runtime)
CLIENT_SERVICE = "client-service"  # a client's in-cluster URL names this Service: (namespace, name)
CLIENT_PIN = "client-pin"  # a client pins its server (`client-server`): (namespace, name)
POLICY_HOST = "policy-host"  # a DestinationRule's host, as written (lower-cased)
POLICY_SERVICE = "policy-service"  # the Service a DestinationRule's host names: (namespace, name)
SCALES = "scales"  # an HPA's or KEDA ScaledObject's target: (namespace, kind, name)
TEMPLATE_FROM = "template-from"  # a Rollout's `workloadRef`: (namespace, kind, name)
GRANT = "grant"  # a ReferenceGrant lets routes of one namespace into its own: (from ns, to ns)
ROUTE_MIDDLEWARE = "route-middleware"  # a Traefik route runs this Middleware: (namespace, name)
MIDDLEWARE = "middleware"  # a Traefik Middleware's identity: (namespace, name)
INGRESS_CLASS_NAME = "ingress-class-name"  # the IngressClass an Ingress names (its controller decides)
INGRESS_CLASS = "ingress-class"  # an IngressClass's identity: its name

HOST_RELATIONS = frozenset({ROUTE_HOST, CLIENT_HOST, POLICY_HOST, GATEWAY_HOST})
# Pairs of relations whose values meet (equal values; for HOST_RELATIONS, matching hosts).
MEETS: frozenset[tuple[str, str]] = frozenset({
    (ROUTE_SERVICE, SERVICE), (CLIENT_SERVICE, SERVICE), (POLICY_SERVICE, SERVICE),
    (CLIENT_SERVICE, ROUTE_SERVICE), (POLICY_SERVICE, ROUTE_SERVICE),
    (ROUTE_GATEWAY, GATEWAY), (SCALES, WORKLOAD), (TEMPLATE_FROM, WORKLOAD), (CLIENT_PIN, WORKLOAD_NAME),
    (CROSS_NAMESPACE, GRANT), (ROUTE_MIDDLEWARE, MIDDLEWARE), (INGRESS_CLASS_NAME, INGRESS_CLASS),
    (ROUTE_HOST, ROUTE_HOST), (ROUTE_HOST, CLIENT_HOST), (ROUTE_HOST, POLICY_HOST), (ROUTE_HOST, GATEWAY_HOST),
    (CLIENT_HOST, GATEWAY_HOST),  # a browser enters through the Gateway serving its host
})
COUNTERPARTS: dict[str, frozenset[str]] = {
    relation: frozenset({b for a, b in MEETS if a == relation} | {a for a, b in MEETS if b == relation})
    for pair in MEETS for relation in pair
}

# Kinds whose mere presence anywhere is read (SG110: with no entrance at all, an unserved host
# may be served outside the inputs): the first or last of them touches every client.
ENTRANCE_KINDS: frozenset[GroupKind] = frozenset({
    (ISTIO, "Gateway"), (GATEWAY_API, "Gateway"), ("networking.k8s.io", "Ingress")})


# -- edge functions, one per kind -----------------------------------------------------------------
def virtual_service_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    ns, spec = ref.namespace, _dict(raw.get("spec"))
    for host in _strings(spec.get("hosts")):
        yield ROUTE_HOST, host.lower()
        yield from _service_link(ROUTE_SERVICE, service_of_host(host, ns))
    for gateway in _strings(spec.get("gateways")):
        yield ROUTE_GATEWAY, _namespaced(gateway, ns)
    for rule in map(_dict, _list(spec.get("http"))):
        for match in map(_dict, _list(rule.get("match"))):
            for gateway in _strings(match.get("gateways")):
                yield ROUTE_GATEWAY, _namespaced(gateway, ns)
        for destination in map(_dict, _list(rule.get("route")) + _list(rule.get("mirrors")) + [rule.get("mirror")]):
            host = _text(_dict(destination.get("destination", destination)).get("host"))
            yield from _service_link(ROUTE_SERVICE, service_of_host(host, ns))


def http_route_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    ns, spec = ref.namespace, _dict(raw.get("spec"))
    for host in _strings(spec.get("hostnames")) or ["*"]:
        yield ROUTE_HOST, host.lower()
    for parent in map(_dict, _list(spec.get("parentRefs"))):
        name = parent.get("name")
        if isinstance(name, str) and name:
            yield ROUTE_GATEWAY, (_text(parent.get("namespace")) or ns, name)
    for rule in map(_dict, _list(spec.get("rules"))):
        for backend in map(_dict, _list(rule.get("backendRefs"))):
            yield from _backend_links(ns, backend)
        for route_filter in map(_dict, _list(rule.get("filters"))):
            yield from _backend_links(ns, _dict(_dict(route_filter.get("requestMirror")).get("backendRef")))


def ingress_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    ns, spec = ref.namespace, _dict(raw.get("spec"))
    rules = list(map(_dict, _list(spec.get("rules"))))
    for rule in rules:
        yield ROUTE_HOST, (_text(rule.get("host")) or "*").lower()
    backends = [_dict(_dict(path).get("backend")) for rule in rules
                for path in _list(_dict(rule.get("http")).get("paths"))]
    if "defaultBackend" in spec:
        yield ROUTE_HOST, "*"  # the default backend answers every host no rule names
        backends.append(_dict(spec.get("defaultBackend")))
    for backend in backends:
        yield from _backend_links(ns, _dict(backend.get("service")))
    class_name = _text(spec.get("ingressClassName"))
    if class_name:
        yield INGRESS_CLASS_NAME, class_name


def ingress_class_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    yield INGRESS_CLASS, ref.name


def ingress_route_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    """Traefik IngressRoute: the hosts its `match` rules name (any host when one names none or
    does not parse), the Services and the Middlewares of each route."""
    # Traefik's rule language loads with the first IngressRoute, not with every inventory.
    from socketguard.engine.routing.traefik_rules import RuleError, hosts, parse

    ns = ref.namespace
    for route in map(_dict, _list(_dict(raw.get("spec")).get("routes"))):
        try:
            named = hosts(parse(_text(route.get("match"))))
        except RuleError:
            named = []
        for host in named or ["*"]:
            yield ROUTE_HOST, host.lower()
        for service in map(_dict, _list(route.get("services"))):
            yield from _backend_links(ns, service)
        for middleware in map(_dict, _list(route.get("middlewares"))):
            if _text(middleware.get("name")):
                yield ROUTE_MIDDLEWARE, (_text(middleware.get("namespace")) or ns, _text(middleware.get("name")))


def middleware_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    yield MIDDLEWARE, (ref.namespace, ref.name)


def istio_gateway_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    yield GATEWAY, (ref.namespace, ref.name)
    for server in map(_dict, _list(_dict(raw.get("spec")).get("servers"))):
        for host in _strings(server.get("hosts")):
            yield GATEWAY_HOST, host.rpartition("/")[2].lower()  # `namespace/host`: the host part


def gateway_api_gateway_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    yield GATEWAY, (ref.namespace, ref.name)
    for listener in map(_dict, _list(_dict(raw.get("spec")).get("listeners"))):
        yield GATEWAY_HOST, (_text(listener.get("hostname")) or "*").lower()


def reference_grant_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    for source in map(_dict, _list(_dict(raw.get("spec")).get("from"))):
        namespace = _text(source.get("namespace"))
        if namespace:
            yield GRANT, (namespace, ref.namespace)


def service_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    yield SERVICE, (ref.namespace, ref.name)
    for key, value in _dict(_dict(raw.get("spec")).get("selector")).items():
        if key != POD_TEMPLATE_HASH:  # Argo adds it to the Service of a Rollout it selects anyway
            yield SELECTOR, (ref.namespace, str(key), str(value))


def workload_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    ns, spec = ref.namespace, _dict(raw.get("spec"))
    template_meta = _dict(_dict(spec.get("template")).get("metadata"))
    yield WORKLOAD, (ns, ref.kind, ref.name)
    yield WORKLOAD_NAME, (ns, ref.name)
    for key, value in _dict(template_meta.get("labels")).items():
        yield POD_LABEL, (ns, str(key), str(value))
    reference = _dict(spec.get("workloadRef"))
    name = _text(reference.get("name"))
    if name:
        yield TEMPLATE_FROM, (ns, _text(reference.get("kind")) or "Deployment", name)
    yield from client_links(ns, _annotations(raw, template_meta))


_CLIENT_URL_KEYS = (f"{ANNOTATION_PREFIX}client-url", f"{ANNOTATION_PREFIX}client-origin")
_CLIENT_URL_FROM = f"{ANNOTATION_PREFIX}client-url-from"
_CLIENT_SERVER = f"{ANNOTATION_PREFIX}client-server"


def client_links(ns: str, annotations: Mapping[str, Any]) -> Iterator[Link]:
    """A client's hosts: its URL's and its page origin's (the handshake goes to the origin when the
    URL is relative or absent); a URL read at runtime (`client-url-from`) may name any host."""
    for key in _CLIENT_URL_KEYS:
        host = _url_host(annotations.get(key))
        if host:
            yield CLIENT_HOST, host
            yield from _service_link(CLIENT_SERVICE, in_cluster_service(host, ns))
    if any(key.startswith(_CLIENT_URL_FROM) for key in annotations):
        yield CLIENT_HOST, "*"
    pinned = annotations.get(_CLIENT_SERVER)
    if isinstance(pinned, str) and pinned.strip():
        yield CLIENT_PIN, _namespaced(pinned.strip(), ns)


def destination_rule_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    host = _text(_dict(raw.get("spec")).get("host"))
    if host:
        yield POLICY_HOST, host.lower()
        yield from _service_link(POLICY_SERVICE, service_of_host(host, ref.namespace))


def autoscaler_links(ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[Link]:
    target = _dict(_dict(raw.get("spec")).get("scaleTargetRef"))
    kind, name = _text(target.get("kind")) or ("Deployment" if ref.kind == "ScaledObject" else ""), \
        _text(target.get("name"))
    if kind and name:
        yield SCALES, (ref.namespace, kind, name)


EDGES: dict[GroupKind, EdgeFunction] = {
    (ISTIO, "VirtualService"): virtual_service_links,
    (GATEWAY_API, "HTTPRoute"): http_route_links,
    ("networking.k8s.io", "Ingress"): ingress_links,
    ("networking.k8s.io", "IngressClass"): ingress_class_links,
    (ISTIO, "Gateway"): istio_gateway_links,
    (GATEWAY_API, "Gateway"): gateway_api_gateway_links,
    (GATEWAY_API, "ReferenceGrant"): reference_grant_links,
    ("", "Service"): service_links,
    **{(group, kind): workload_links for kind, group in WORKLOAD_GROUPS.items()},
    (ISTIO, "DestinationRule"): destination_rule_links,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaler_links,
    ("keda.sh", "ScaledObject"): autoscaler_links,  # KEDA's kind defaults to Deployment
    **{(group, "IngressRoute"): ingress_route_links for group in TRAEFIK_GROUPS},
    **{(group, "Middleware"): middleware_links for group in TRAEFIK_GROUPS},
}
ROLES: dict[GroupKind, Role] = {
    (ISTIO, "VirtualService"): "route",
    (GATEWAY_API, "HTTPRoute"): "route",
    ("networking.k8s.io", "Ingress"): "route",
    ("networking.k8s.io", "IngressClass"): "policy",  # read by the routes that name it
    (ISTIO, "Gateway"): "gateway",
    (GATEWAY_API, "Gateway"): "gateway",
    (GATEWAY_API, "ReferenceGrant"): "grant",
    ("", "Service"): "service",
    **{(group, kind): "workload" for kind, group in WORKLOAD_GROUPS.items()},
    (ISTIO, "DestinationRule"): "policy",
    ("autoscaling", "HorizontalPodAutoscaler"): "scaler",
    ("keda.sh", "ScaledObject"): "scaler",
    **{(group, "IngressRoute"): "route" for group in TRAEFIK_GROUPS},
    **{(group, "Middleware"): "policy" for group in TRAEFIK_GROUPS},
}


def links_of(ref: ObjectRef, raw: Mapping[str, Any]) -> tuple[Link, ...]:
    """Every link of one object (none for a kind without an edge function); never raises."""
    edges = EDGES.get((ref.group, ref.kind))
    return () if edges is None else tuple(dict.fromkeys(edges(ref, raw)))


def role_of(ref: ObjectRef) -> Role | None:
    return ROLES.get((ref.group, ref.kind))


# -- the index -----------------------------------------------------------------------------------
class RelationIndex:
    """Objects by their links, kept in step one object at a time; answers "what meets this"."""

    def __init__(self) -> None:
        self._members: dict[str, dict[Hashable, set[ObjectRef]]] = defaultdict(lambda: defaultdict(set))
        self._links: dict[ObjectRef, tuple[Link, ...]] = {}
        self._patterns: dict[str, set[str]] = defaultdict(set)  # host relation -> its `*...` values

    def update(self, ref: ObjectRef, links: Iterable[Link] | None) -> None:
        """Replaces the links of `ref` (None: it is gone)."""
        previous = self._links.pop(ref, None)
        if previous:
            self._forget(ref, previous)
        if links is None:
            return
        kept = tuple(links)
        self._links[ref] = kept
        members = self._members  # once per link of every added object: kept in a local
        for relation, value in kept:
            members[relation][value].add(ref)
            if relation in HOST_RELATIONS and isinstance(value, str) and value.startswith("*"):
                self._patterns[relation].add(value)

    def _forget(self, ref: ObjectRef, links: tuple[Link, ...]) -> None:
        for relation, value in links:
            members = self._members[relation]
            members[value].discard(ref)
            if not members[value]:
                del members[value]
                self._patterns[relation].discard(str(value))

    def links(self, ref: ObjectRef) -> tuple[Link, ...]:
        return self._links.get(ref, ())

    def __contains__(self, ref: ObjectRef) -> bool:
        return ref in self._links

    def find(self, relation: str, value: Hashable) -> set[ObjectRef]:
        """Objects with exactly this link."""
        members = self._members.get(relation)
        return set(members.get(value, ())) if members else set()

    def values(self, relation: str) -> list[Hashable]:
        return list(self._members.get(relation, ()))

    def patterns(self, relation: str) -> list[str]:
        """The wildcard values of a host relation (few: no scan of every host)."""
        return sorted(self._patterns.get(relation, ()))

    def for_host(self, relation: str, host: str) -> set[ObjectRef]:
        """Objects whose host under `relation` meets `host`: equal, a pattern matching it, or (when
        `host` is itself a pattern) a host it matches."""
        host = host.lower()
        found = self.find(relation, host)
        for pattern in self.patterns(relation):
            if host_matches(pattern, host):
                found |= self.find(relation, pattern)
        if host.startswith("*"):
            for value, members in self._members.get(relation, {}).items():
                if isinstance(value, str) and host_matches(host, value):
                    found |= members
        return found

    def meeting(self, link: Link) -> set[ObjectRef]:
        """Objects with a link that meets `link` (see `MEETS`)."""
        relation, value = link
        found: set[ObjectRef] = set()
        for other in COUNTERPARTS.get(relation, ()):
            if relation in HOST_RELATIONS and isinstance(value, str):
                found |= self.for_host(other, value)
            else:
                found |= self.find(other, value)
        return found

    def selected(self, ref: ObjectRef) -> set[ObjectRef]:
        """The workloads a Service selects, or the Services selecting a workload."""
        own = self.links(ref)
        selector = {value for relation, value in own if relation == SELECTOR}
        if selector:
            sets = [self.find(POD_LABEL, pair) for pair in selector]
            return set.intersection(*sets)
        labels = {value for relation, value in own if relation == POD_LABEL}
        candidates = set().union(*(self.find(SELECTOR, pair) for pair in labels)) if labels else set()
        return {service for service in candidates
                if {v for r, v in self.links(service) if r == SELECTOR} <= labels}

    def related(self, ref: ObjectRef) -> set[ObjectRef]:
        """Every object one edge away from `ref`, in either direction."""
        found = self.selected(ref)
        for link in self.links(ref):
            found |= self.meeting(link)
        found.discard(ref)
        return found


# -- reading raw objects -----------------------------------------------------------------------------
def _backend_links(ns: str, backend: Mapping[str, Any]) -> Iterator[Link]:
    name = _text(backend.get("name"))
    kind = _text(backend.get("kind")) or "Service"
    if not name or kind != "Service":
        return
    namespace = _text(backend.get("namespace")) or ns
    yield ROUTE_SERVICE, (namespace, name)
    if namespace != ns:
        yield CROSS_NAMESPACE, (ns, namespace)


def _service_link(relation: str, service: tuple[str, str] | None) -> Iterator[Link]:
    if service is not None:
        yield relation, service


def _url_host(url: Any) -> str | None:
    if not isinstance(url, str) or "//" not in url:
        return None  # absent or relative: a relative URL goes to the page's origin
    return _absolute_url_host(url)


@lru_cache(maxsize=4096)  # a client's URL and page origin are often one URL; a watched object comes back changed
def _absolute_url_host(url: str) -> str | None:
    try:
        return (split_url(url.strip()).hostname or "").lower() or None
    except ValueError:  # a malformed URL is SG001's business, not the index's
        return None


def _namespaced(text: str, ns: str) -> tuple[str, str]:
    namespace, _, name = text.rpartition("/")
    return (namespace or ns, name)


def _annotations(raw: Mapping[str, Any], template_meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """A workload's annotations over its pod template's (most templates have none: no copy then)."""
    own = _dict(_dict(raw.get("metadata")).get("annotations"))
    template = _dict(template_meta.get("annotations"))
    return {**template, **own} if template else own


def _dict(value: Any) -> Mapping[str, Any]:
    # `type(...) is dict` first: the ABC check costs more, and manifests are plain dicts.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
