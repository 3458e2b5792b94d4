"""A router added through the registry alone is used by the trace, the rules and `socketguard route`.

`ToyRouter` models a made-up ingress controller: Ingresses of class `toy`, every path a plain
string prefix, no rewrite, TLS on 443 for every host. Nothing outside this file knows about it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from routing_kit import inventory, lint, world
from test_routing_rules_other_routers import INGRESS

from socketguard.cli.route import route_command
from socketguard.engine.context import Context
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.ingress import Ingress
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Entrance, Request, RouteHop, RoutingResult, registry
from socketguard.engine.routing.backends import ServiceResolver
from socketguard.engine.routing.candidates import Candidate, server_path_through, socket_path
from socketguard.engine.routing.matching import string_prefix_matches


class ToyRouter:
    name = "toy"
    handles_mesh = False
    unresolved_status = 503

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.services = ServiceResolver(inventory)
        self.ingresses = [v for v in inventory.views("networking.k8s.io", "Ingress")
                          if isinstance(v, Ingress) and v.ingress_class == "toy"]

    def models(self, ref: ObjectRef) -> bool:
        return ref in {self.inventory.ref_of(i) for i in self.ingresses}

    def candidates(self, server_paths: Mapping[ObjectRef, str]) -> Iterator[Candidate]:
        for ingress, rule_index, path_index, host, path in self._paths():
            def matches(candidate: str, prefix: str = path) -> bool:
                return string_prefix_matches(prefix, candidate)

            found = socket_path("prefix", path, matches, server_paths.values())
            reached = self._hop(ingress, rule_index, path_index, path, "/").backends[0].workloads
            handshake = found or server_path_through(reached, server_paths, matches)
            if handshake is not None:
                yield Candidate(self.inventory.ref_of(ingress), self._field(rule_index, path_index),
                                Request(host=host, path=handshake), found is not None)

    def entrances(self, request: Request, *, serving_only: bool = False) -> Iterator[tuple[ObjectRef, bool]]:
        return iter(())  # no entrance of its own to pin: it is asked unpinned

    def route(self, request: Request) -> RoutingResult:
        result = RoutingResult(request=request)
        paths = [p for p in self._paths() if p[3] == request.host]
        if request.via != "gateway" or not paths:
            return result
        result.host_routed = True
        result.entrance = Entrance("gateway", self.inventory.ref_of(paths[0][0]), ("spec",), "HTTPS", True, 443)
        matching = [p for p in paths if string_prefix_matches(p[4], request.path)]
        for ingress, rule_index, path_index, _, path in sorted(matching, key=lambda p: -len(p[4])):
            result.hops.append(self._hop(ingress, rule_index, path_index, path, request.path))
        return result

    def _paths(self) -> Iterator[tuple[Ingress, int, int, str, str]]:
        for ingress in self.ingresses:
            for rule_index, rule in enumerate(ingress.spec.rules):
                for path_index, path in enumerate(rule.http.paths if rule.http else []):
                    yield ingress, rule_index, path_index, rule.host or "", path.path

    def _hop(self, ingress: Ingress, rule_index: int, path_index: int, path: str, request_path: str) -> RouteHop:
        ref = self.inventory.ref_of(ingress)
        field = self._field(rule_index, path_index)
        http = ingress.spec.rules[rule_index].http
        service = http.paths[path_index].backend.service if http else None
        assert service is not None
        backend = self.services.backend(service.name, ref.namespace, service.name, (*field, "backend", "service"),
                                        port=service.port.number)
        return RouteHop(router=self.name, route=ref, rule_path=field, match_path=field, match_text=f"prefix {path}",
                        upstream_path=request_path, backends=(backend,))

    @staticmethod
    def _field(rule_index: int, path_index: int) -> tuple[str | int, ...]:
        return ("spec", "rules", rule_index, "http", "paths", path_index)


TOY_INGRESS = INGRESS.replace("ingressClassName: nginx", "ingressClassName: toy")


def _world(path: str = "/socket.io", port: int = 80) -> str:
    route = TOY_INGRESS.replace("path: /socket.io", f"path: {path}").replace("number: 80", f"number: {port}")
    return world(gateway=None, route=route)


@pytest.fixture
def toy() -> Iterator[type[ToyRouter]]:
    registry.register(ToyRouter)
    yield ToyRouter
    registry.unregister(ToyRouter)


def test_the_trace_routes_through_a_registered_router(toy: type[ToyRouter]) -> None:
    context = Context(inventory(_world()))
    assert isinstance(context.router("toy"), toy)
    [route_trace] = context.traces.route_traces()
    [client_trace] = context.traces.client_traces()
    for trace in (route_trace, client_trace):
        assert trace.hop is not None and trace.hop.router == "toy"
        assert [(d.workload.name, d.upstream_path) for d in trace.deliveries] == [("chat", "/socket.io/")]
    assert [(p.client.workload.name, p.server.workload.name) for p in context.pairs] == [("app", "chat")]


def test_the_rules_read_the_registered_router(toy: type[ToyRouter]) -> None:
    assert lint(_world()) == []  # served: no SG114 "not modelled", no SG101/SG110 "not routed"
    [wrong_port] = [f for f in lint(_world(port=8080)) if f.code == "SG105"]
    assert (wrong_port.subject.kind, wrong_port.field_path) == ("Ingress", "spec.rules[0].http.paths[0].backend."
                                                                "service.port")
    mismatch = [f for f in lint(_world(path="/chat/socket.io")) if f.code in ("SG101", "SG102")]
    assert [(f.code, f.subject.kind) for f in mismatch] == [("SG101", "Deployment"), ("SG102", "Ingress")]
    assert "toy route Ingress web/chat" in mismatch[1].message


def test_route_answers_through_the_registered_router(toy: type[ToyRouter], tmp_path: Path) -> None:
    manifests = tmp_path / "world.yaml"
    manifests.write_text(_world(), encoding="utf-8")
    url = "https://chat.example.com/socket.io/?EIO=4"
    done = CliRunner().invoke(route_command, [url, str(manifests), "-o", "json"])
    assert done.exit_code == 0, done.output
    [decision] = json.loads(done.output)["decisions"]
    assert (decision["router"], decision["action"], decision["upstream_path"]) == ("toy", "forward",
                                                                                    "/socket.io/?EIO=4")
    assert [b["service"]["name"] for b in decision["backends"]] == ["chat"]


def test_without_the_registration_the_toy_ingress_is_not_modelled() -> None:
    assert "toy" not in [router.name for router in Context(inventory(_world())).routers]
    codes = {f.code for f in lint(_world())}
    assert "SG114" in codes
