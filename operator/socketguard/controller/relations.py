"""Which objects a change touches: the part of the cluster one evaluation has to look at.

The edges are the ones routing follows (a Service and the workloads it selects, a route and the
Services it names, routes sharing a host, a client and the host it connects to, a
DestinationRule and its host's Service, an HPA and its target) and they are walked in both
directions, so a new Service joins a route to its workloads. A Gateway is a hub that many
routes share: it is pulled in as context for a route, but its other routes are only re-evaluated
when the Gateway itself changes, so one route's edit does not re-evaluate the whole ingress.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.hosts import host_matches, in_cluster_service, service_of_host
from socketguard.engine.routing.traefik_rules import RuleError, hosts, parse

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
ROUTES = frozenset({"VirtualService", "HTTPRoute", "Ingress", "IngressRoute"})
NamespacedName = tuple[str, str]
IndexKey = tuple[str, Any]


class Relations:
    """Reverse indexes over raw views, kept in step with the inventory one object at a time."""

    def __init__(self) -> None:
        self._index: dict[IndexKey, set[ObjectRef]] = defaultdict(set)
        self._keys: dict[ObjectRef, list[IndexKey]] = {}
        self._raw: dict[ObjectRef, Mapping[str, Any]] = {}
        self._wildcard_routes: set[ObjectRef] = set()

    # -- maintenance --------------------------------------------------------------------------
    def update(self, ref: ObjectRef, raw: Mapping[str, Any] | None) -> None:
        for key in self._keys.pop(ref, []):
            self._index[key].discard(ref)
            if not self._index[key]:
                del self._index[key]
        self._wildcard_routes.discard(ref)
        self._raw.pop(ref, None)
        if raw is None:
            return
        self._raw[ref] = raw
        keys = list(self._keys_of(ref, raw))
        self._keys[ref] = keys
        for key in keys:
            self._index[key].add(ref)

    def _keys_of(self, ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[IndexKey]:
        ns, spec = ref.namespace, _dict(raw.get("spec"))
        if ref.kind in WORKLOADS:
            yield "workload", (ns, ref.kind, ref.name)
            labels = _dict(_dict(_dict(spec.get("template")).get("metadata")).get("labels"))
            for pair in labels.items():
                yield "workload-label", (ns, *pair)
            yield from self._client_keys(ref, raw)
        elif ref.kind == "Service":
            yield "service", (ns, ref.name)
            for pair in _dict(spec.get("selector")).items():
                yield "service-label", (ns, *pair)
        elif ref.kind in ROUTES:
            yield from self._route_keys(ref, spec)
        elif ref.kind == "DestinationRule":
            host = str(spec.get("host", ""))
            service = service_of_host(host, ns)
            yield ("dr-service", service) if service else ("dr-host", host.lower())
        elif ref.kind == "Gateway":
            yield "gateway", (ns, ref.name)
        elif ref.kind == "Middleware":
            yield "middleware", (ns, ref.name)
        elif ref.kind == "HorizontalPodAutoscaler":
            scale_target = _dict(spec.get("scaleTargetRef"))
            yield "hpa-target", (ns, scale_target.get("kind"), scale_target.get("name"))

    def _route_keys(self, ref: ObjectRef, spec: Mapping[str, Any]) -> Iterator[IndexKey]:
        if ref.kind != "VirtualService":
            yield from _other_route_keys(ref, spec)
            return
        ns = ref.namespace
        for host in _strings(spec.get("hosts")):
            yield "route-host", host.lower()
            if host.startswith("*"):
                self._wildcard_routes.add(ref)
            target = service_of_host(host, ns)
            if target:
                yield "route-service", target
        for gateway in _strings(spec.get("gateways")):
            yield "route-gateway", _gateway_name(gateway, ns)
        for rule in _list(spec.get("http")):
            for match in _list(_dict(rule).get("match")):
                for gateway in _strings(_dict(match).get("gateways")):
                    yield "route-gateway", _gateway_name(gateway, ns)
            for destination in _list(_dict(rule).get("route")) + _list(_dict(rule).get("mirrors")):
                destination_host = _dict(_dict(destination).get("destination")).get("host")
                target = service_of_host(str(destination_host or ""), ns)
                if target:
                    yield "route-service", target

    def _client_keys(self, ref: ObjectRef, raw: Mapping[str, Any]) -> Iterator[IndexKey]:
        annotations = _annotations(raw)
        for key in ("client-url", "client-origin"):
            url = annotations.get(ANNOTATION_PREFIX + key)
            host = urlsplit(url).hostname if isinstance(url, str) and "//" in url else None
            if host:
                yield "client-host", host.lower()
                target = in_cluster_service(host, ref.namespace)
                if target:
                    yield "client-service", target
        pinned = annotations.get(ANNOTATION_PREFIX + "client-server")
        if isinstance(pinned, str) and "/" in pinned:
            yield "client-pin", tuple(pinned.split("/", 1))
        if any(k.startswith(ANNOTATION_PREFIX + "client-url-from") for k in annotations):
            yield "client-dynamic", True

    # -- queries ------------------------------------------------------------------------------
    def neighbours(self, ref: ObjectRef, *, hub: bool) -> set[ObjectRef]:
        """Objects whose verdicts may depend on `ref`; with `hub`, a Gateway's routes too."""
        raw = self._raw.get(ref)
        if raw is None:
            return set()
        ns, spec = ref.namespace, _dict(raw.get("spec"))
        found: set[ObjectRef] = set()
        if ref.kind in WORKLOADS:
            found |= self._services_selecting(ref, raw)
            found |= self._find("hpa-target", (ns, ref.kind, ref.name))
            found |= self._find("client-pin", (ns, ref.name))
            found |= self._client_targets(ref)
        elif ref.kind == "Service":
            found |= self._workloads_selected(ns, _dict(spec.get("selector")))
            found |= self._find("route-service", (ns, ref.name))
            found |= self._find("dr-service", (ns, ref.name))
            found |= self._find("client-service", (ns, ref.name))
        elif ref.kind in ROUTES:
            found |= self._route_neighbours(ref, spec)
        elif ref.kind == "DestinationRule":
            service = service_of_host(str(spec.get("host", "")), ns)
            if service:
                found |= self._find("service", service)
            else:
                found |= self._routes_for_host(str(spec.get("host", "")))
        elif ref.kind == "HorizontalPodAutoscaler":
            scale_target = _dict(spec.get("scaleTargetRef"))
            found |= self._find("workload", (ns, scale_target.get("kind"), scale_target.get("name")))
        elif ref.kind == "Gateway" and hub:
            found |= self._find("route-gateway", (ns, ref.name))
        elif ref.kind == "Middleware":
            found |= self._find("route-middleware", (ns, ref.name))
        found.discard(ref)
        return found

    def _route_neighbours(self, ref: ObjectRef, spec: Mapping[str, Any]) -> set[ObjectRef]:
        ns = ref.namespace
        found: set[ObjectRef] = set()
        for key, value in self._keys_of(ref, self._raw[ref]):
            if key == "route-service":
                found |= self._find("service", value)
                found |= self._find("dr-service", value)
            elif key == "route-gateway":
                found |= self._find("gateway", value)
            elif key == "route-middleware":
                found |= self._find("middleware", value)
        for host in route_hosts(ref.kind, spec):
            found |= self._routes_for_host(host)
            found |= self._find("dr-host", host.lower())
            found |= self._clients_for_host(host)
            target = service_of_host(host, ns)
            if target:
                found |= self._find("client-service", target)
        return found

    def _routes_for_host(self, host: str) -> set[ObjectRef]:
        host = host.lower()
        found = set(self._find("route-host", host))
        for route in self._wildcard_routes:
            route_spec = _dict(self._raw[route].get("spec"))
            if any(host_matches(h, host) for h in route_hosts(route.kind, route_spec)):
                found.add(route)
        if host.startswith("*"):
            for key, refs in self._index.items():
                if key[0] == "route-host" and host_matches(host, key[1]):
                    found |= refs
        return found

    def _clients_for_host(self, host: str) -> set[ObjectRef]:
        if not host.startswith("*"):
            return set(self._find("client-host", host.lower())) | self._find("client-dynamic", True)
        found = set(self._find("client-dynamic", True))
        for key, refs in self._index.items():
            if key[0] == "client-host" and host_matches(host, key[1]):
                found |= refs
        return found

    def _client_targets(self, ref: ObjectRef) -> set[ObjectRef]:
        found: set[ObjectRef] = set()
        for key, value in self._keys.get(ref, []):
            if key == "client-host":
                found |= self._routes_for_host(value)
            elif key == "client-service":
                found |= self._find("service", value)
            elif key == "client-pin":
                found |= {r for kind in WORKLOADS for r in self._find("workload", (value[0], kind, value[1]))}
            elif key == "client-dynamic":
                found |= {r for r in self._raw if r.kind in ROUTES}
        return found

    def _services_selecting(self, ref: ObjectRef, raw: Mapping[str, Any]) -> set[ObjectRef]:
        labels = _dict(_dict(_dict(_dict(raw.get("spec")).get("template")).get("metadata")).get("labels"))
        candidates: set[ObjectRef] = set()
        for pair in labels.items():
            candidates |= self._find("service-label", (ref.namespace, *pair))
        return {s for s in candidates if _selects(_dict(_dict(self._raw[s].get("spec")).get("selector")), labels)}

    def _workloads_selected(self, ns: str, selector: Mapping[str, Any]) -> set[ObjectRef]:
        if not selector:
            return set()
        sets = [self._find("workload-label", (ns, *pair)) for pair in selector.items()]
        return set.intersection(*sets) if sets else set()

    def _find(self, kind: str, value: Any) -> set[ObjectRef]:
        return self._index.get((kind, value), set())

    def affected(self, changed: Iterable[ObjectRef], limit: int = 20000) -> set[ObjectRef]:
        """The closure of `changed` under `neighbours`; hubs expand only when they changed."""
        start = set(changed)
        seen = set(start)
        queue = deque(start)
        while queue and len(seen) < limit:
            ref = queue.popleft()
            for other in self.neighbours(ref, hub=ref in start):
                if other not in seen:
                    seen.add(other)
                    if other.kind != "Gateway":
                        queue.append(other)
        return seen

    def __contains__(self, ref: ObjectRef) -> bool:
        return ref in self._raw


def route_hosts(kind: str, spec: Mapping[str, Any]) -> list[str]:
    """The hosts a route serves: VirtualService `hosts`, HTTPRoute `hostnames`, Ingress rule hosts."""
    if kind == "HTTPRoute":
        return _strings(spec.get("hostnames")) or ["*"]
    if kind == "Ingress":
        return [str(_dict(rule).get("host") or "*") for rule in _list(spec.get("rules"))]
    if kind == "IngressRoute":
        return [host for route in _list(spec.get("routes")) for host in _rule_hosts(_dict(route).get("match"))]
    return _strings(spec.get("hosts"))


def _rule_hosts(match: Any) -> list[str]:
    """The `Host` values of a Traefik rule; any host (`*`) when it names none or does not parse."""
    try:
        return hosts(parse(str(match or ""))) or ["*"]
    except RuleError:
        return ["*"]


def _other_route_keys(ref: ObjectRef, spec: Mapping[str, Any]) -> Iterator[IndexKey]:
    """HTTPRoute and Ingress: the same edges as a VirtualService (hosts, Gateways, Services)."""
    ns = ref.namespace
    for host in route_hosts(ref.kind, spec):
        yield "route-host", host.lower()
    for parent in _list(spec.get("parentRefs")):
        name = _dict(parent).get("name")
        if isinstance(name, str):
            yield "route-gateway", (str(_dict(parent).get("namespace") or ns), name)
    for backend in _backend_services(ref.kind, spec):
        yield "route-service", (str(backend.get("namespace") or ns), str(backend.get("name")))
    for route in _list(spec.get("routes")) if ref.kind == "IngressRoute" else []:
        for middleware in _list(_dict(route).get("middlewares")):
            name = _dict(middleware).get("name")
            if isinstance(name, str):
                yield "route-middleware", (str(_dict(middleware).get("namespace") or ns), name)


def _backend_services(kind: str, spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if kind == "HTTPRoute":
        for rule in _list(spec.get("rules")):
            yield from (_dict(b) for b in _list(_dict(rule).get("backendRefs")) if _dict(b).get("name"))
        return
    if kind == "IngressRoute":
        for route in _list(spec.get("routes")):
            yield from (_dict(s) for s in _list(_dict(route).get("services")) if _dict(s).get("name"))
        return
    for rule in _list(spec.get("rules")):
        for path in _list(_dict(_dict(rule).get("http")).get("paths")):
            service = _dict(_dict(_dict(path).get("backend")).get("service"))
            if service.get("name"):
                yield service


def _gateway_name(text: str, ns: str) -> NamespacedName:
    namespace, _, name = text.rpartition("/")
    return (namespace or ns, name)


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _annotations(raw: Mapping[str, Any]) -> dict[str, Any]:
    meta = _dict(raw.get("metadata"))
    template_meta = _dict(_dict(_dict(raw.get("spec")).get("template")).get("metadata"))
    return {**_dict(template_meta.get("annotations")), **_dict(meta.get("annotations"))}


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]
