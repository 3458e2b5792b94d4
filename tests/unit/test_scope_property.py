"""Property: the scoped analysis of a change sees everything the change does to the verdict.

The oracle is the full analysis before and after the change; it knows nothing of the relation
model. For a random small inventory I (Istio, Gateway API and ingress-nginx routes, Services,
servers, clients known by URL, by in-cluster URL or only by page origin, DestinationRules, HPAs,
ReferenceGrants, across three namespaces and a few hosts) and a random change c (add, modify or
remove one object):

- every finding of full(I+c) that full(I) lacks is in the scoped analysis of c;
- every finding of full(I) that full(I+c) lacks is absent from it, and its subject was evaluated
  (so the operator clears it);
- the scoped analysis is a subset of full(I+c).

The scoped analysis of c is what the webhook and the operator run: `analyze` on the changed
inventory with the change and, for an object that existed, its neighbourhood before the change
(a route that leaves a host breaks that host's clients, which the new state no longer relates).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socketguard.engine import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.scope import neighbourhood

Obj = dict[str, Any]
NAMESPACES = ("a", "b", "c")
HOSTS = ("chat.example.com", "app.example.com")
HOST_PATTERNS = (*HOSTS, "*.example.com")
SERVERS = ("chat", "feed")
PATHS = ("/socket.io", "/chat/socket.io")
PREFIXES = ("/socket.io/", "/chat/socket.io/", "/")

names = st.sampled_from
namespaces = st.sampled_from(NAMESPACES)


def _meta(name: str, namespace: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return meta


@st.composite
def servers(draw: st.DrawFn) -> Obj:
    name, namespace = draw(names(SERVERS)), draw(namespaces)
    notes = {"socketguard.io/role": "server", "socketguard.io/port": "http",
             "socketguard.io/path": draw(names(PATHS))}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace, notes),
            "spec": {"replicas": draw(st.sampled_from((1, 2))), "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name,
                                                           "ports": [{"name": "http", "containerPort": 3000}]}]}}}}


@st.composite
def clients(draw: st.DrawFn) -> Obj:
    namespace, host = draw(namespaces), draw(names(HOSTS))
    notes = {"socketguard.io/role": "client", "socketguard.io/client-path": draw(names(PATHS))}
    known_by = draw(names(("url", "origin", "both", "in-cluster", "relative")))
    if known_by in ("url", "both"):
        notes["socketguard.io/client-url"] = f"https://{host}"
    if known_by in ("origin", "both"):
        notes["socketguard.io/client-origin"] = f"https://{host}"
    if known_by == "relative":
        notes["socketguard.io/client-url"] = "/"
        notes["socketguard.io/client-origin"] = f"https://{host}"
    if known_by == "in-cluster":
        notes["socketguard.io/client-url"] = f"http://{draw(names(SERVERS))}.{draw(namespaces)}.svc.cluster.local:80"
    name = draw(names(("portal", "admin")))
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace, notes),
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "web"}]}}}}


@st.composite
def services(draw: st.DrawFn) -> Obj:
    name = draw(names(SERVERS))
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, draw(namespaces)),
            "spec": {"selector": {"app": draw(names(SERVERS))},
                     "ports": [{"name": draw(names(("http", "tcp-raw"))), "port": 80, "targetPort": "http"}]}}


@st.composite
def virtual_services(draw: st.DrawFn) -> Obj:
    namespace = draw(namespaces)
    target = draw(names(SERVERS))
    host = target if draw(st.booleans()) else f"{target}.{draw(namespaces)}.svc.cluster.local"
    rule: dict[str, Any] = {"match": [{"uri": {"prefix": draw(names(PREFIXES))}}],
                            "route": [{"destination": {"host": host, "port": {"number": 80}}}]}
    if draw(st.booleans()):
        rule["mirror"] = {"host": draw(names(SERVERS))}
    spec: dict[str, Any] = {"hosts": [draw(names(HOST_PATTERNS))], "http": [rule]}
    if draw(st.booleans()):
        spec["gateways"] = [draw(names(("a/public", "b/public", "public", "mesh")))]
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": _meta(draw(names(("web", "api"))), namespace), "spec": spec}


@st.composite
def istio_gateways(draw: st.DrawFn) -> Obj:
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": _meta("public", draw(namespaces)),
            "spec": {"selector": {"istio": "ingressgateway"},
                     "servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                  "tls": {"mode": "SIMPLE", "credentialName": "tls"},
                                  "hosts": [draw(names(HOST_PATTERNS))]}]}}


@st.composite
def http_routes(draw: st.DrawFn) -> Obj:
    namespace = draw(namespaces)
    backend: dict[str, Any] = {"name": draw(names(SERVERS)), "port": 80}
    if draw(st.booleans()):
        backend["namespace"] = draw(namespaces)
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": _meta(draw(names(("web", "api"))), namespace),
            "spec": {"parentRefs": [{"name": "edge", "namespace": draw(namespaces)}],
                     "hostnames": draw(names(([], *([host] for host in HOSTS)))),
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": draw(names(PATHS))}}],
                                "backendRefs": [backend]}]}}


@st.composite
def gateway_api_gateways(draw: st.DrawFn) -> Obj:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": _meta("edge", draw(namespaces)),
            "spec": {"gatewayClassName": "istio",
                     "listeners": [{"name": "https", "hostname": draw(names(HOST_PATTERNS)), "port": 443,
                                    "protocol": "HTTPS", "allowedRoutes": {"namespaces": {"from": "All"}},
                                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": "tls"}]}}]}}


@st.composite
def reference_grants(draw: st.DrawFn) -> Obj:
    return {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
            "metadata": _meta("routes", draw(namespaces)),
            "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                               "namespace": draw(namespaces)}],
                     "to": [{"group": "", "kind": "Service"}]}}


@st.composite
def ingresses(draw: st.DrawFn) -> Obj:
    path = {"path": draw(names(PATHS)), "pathType": "Prefix",
            "backend": {"service": {"name": draw(names(SERVERS)), "port": {"number": 80}}}}
    rule: dict[str, Any] = {"http": {"paths": [path]}}
    host = draw(names((None, *HOSTS)))
    if host is not None:
        rule["host"] = host
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(draw(names(("web", "api"))), draw(namespaces)),
            "spec": {"ingressClassName": "nginx", "rules": [rule]}}


@st.composite
def destination_rules(draw: st.DrawFn) -> Obj:
    target = draw(names(SERVERS))
    host = target if draw(st.booleans()) else f"{target}.{draw(namespaces)}.svc.cluster.local"
    policy = draw(names(({}, {"loadBalancer": {"consistentHash": {"httpCookie": {"name": "sid", "ttl": "0s"}}}})))
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": _meta(target, draw(namespaces)), "spec": {"host": host, "trafficPolicy": policy}}


@st.composite
def autoscalers(draw: st.DrawFn) -> Obj:
    target = draw(names(SERVERS))
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(target, draw(namespaces)),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": 1, "maxReplicas": draw(names((1, 3)))}}


KINDS = {
    "server": servers(), "client": clients(), "service": services(), "virtual-service": virtual_services(),
    "istio-gateway": istio_gateways(), "http-route": http_routes(), "gateway": gateway_api_gateways(),
    "grant": reference_grants(), "ingress": ingresses(), "destination-rule": destination_rules(),
    "autoscaler": autoscalers(),
}
def _tagged(kind: str) -> st.SearchStrategy[tuple[str, Obj]]:
    return KINDS[kind].map(lambda obj: (kind, obj))


tagged = st.one_of(*(_tagged(kind) for kind in KINDS))


def build(objects: list[Obj]) -> Inventory:
    inventory = Inventory()
    for obj in objects:
        inventory.add(copy.deepcopy(obj))
    return inventory


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Obj], str, Obj]:
    """A base inventory's objects, a change (add, modify, remove) and the object it concerns."""
    base = draw(st.lists(tagged, min_size=3, max_size=9))
    objects = [obj for _, obj in base]
    operation = draw(names(("add", "modify", "remove")))
    if operation == "add":
        return objects, operation, draw(tagged)[1]
    kind, target = draw(names(base))
    if operation == "remove":
        return objects, operation, target
    changed = draw(KINDS[kind])
    changed["metadata"] = {**changed["metadata"], "name": target["metadata"]["name"],
                           "namespace": target["metadata"]["namespace"]}
    return objects, operation, changed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(worlds())
def test_the_scoped_analysis_of_a_change_holds_every_finding_it_changes(world: tuple[list[Obj], str, Obj]) -> None:
    base, operation, obj = world
    before = build(base)
    after = build(base)
    ref = ObjectRef.of(obj)
    if operation == "remove":
        after.remove(ref)
    else:
        after.add(copy.deepcopy(obj))
    full_before, full_after = analyze(before), analyze(after)

    touched = {ref} | (neighbourhood(before, [ref]) if ref in before else set())
    scoped = analyze(after, scope=sorted(touched))
    evaluated = neighbourhood(after, sorted(touched))

    assert _shown(f for f in scoped if f not in full_after) == []
    assert _shown(f for f in full_after if f not in full_before and f not in scoped) == []
    gone = [f for f in full_before if f not in full_after]
    assert _shown(f for f in gone if f in scoped) == []
    assert _shown(f for f in gone if f.subject not in evaluated and f.subject != ref) == []


def _shown(findings: Iterable[Finding]) -> list[str]:
    return [f"{f.code} {f.subject}: {f.message}" for f in findings]
