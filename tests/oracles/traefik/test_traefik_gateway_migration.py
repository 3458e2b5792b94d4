"""The migration example's AFTER through a real Gateway API implementation: Traefik's kubernetesGateway provider.

The HTTPRoutes of `manifests/examples/migration/after-faithful/` and `after-naive/` go to the real
control plane with a GatewayClass of Traefik's controllerName and a Gateway; real Traefik serves
them and a real node socket.io server (in a network namespace, as in the Traefik oracle) stands in
for the MageAgent pods. `socketguard probe` makes the dashboard's handshake to
`/mageagent/socket.io`: it must succeed through the faithful conversion and fail through the naive
one, whose path `compare` calls broken.

What is changed for the test, and why: the Gateway has one plain-HTTP listener on Traefik's
entryPoint port (Traefik binds a listener to the entryPoint of the same port; no certificate is
needed to prove the path), the routes attach to it in a namespace of the test's own, and their
`hostnames` are dropped because the probe sends the Host of its URL (a loopback address, which a
hostname cannot name). The routes' rules (matches, URLRewrite, timeouts, sessionPersistence,
backends) are the example's as written.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.migration.compare import compare
from socketguard.inputs.loader import load_inputs
from socketguard.probe import Cause, ProbeOptions, ProbeReport, run_probe_blocking
from socketguard.testing import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "probe"))
from peer_harness import Peer, require_peers, start_socketio_server
from test_traefik_oracle import Netns, http_routers, netns, running_traefik  # noqa: F401  (netns: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.peers]

EXAMPLE = Path(__file__).resolve().parents[3] / "manifests" / "examples" / "migration"
NAMESPACE = "traefik-migration"  # its own: other e2e tests apply the example to `mageagent`
GATEWAY_CLASS = "socketguard-traefik"
CLIENT_PATH = "/mageagent/socket.io"
SERVER_PATH = "/socket.io"
CONTROLLER_NAME = "traefik.io/gateway-controller"  # Traefik's kubernetesGateway provider, v3
LOAD_TIMEOUT_S = 90.0


def example(side: str) -> list[dict[str, Any]]:
    return [loaded.raw for loaded in load_inputs([str(EXAMPLE / side)]).objects]


def routes_for_test(side: str, gateway: str) -> list[dict[str, Any]]:
    """The side's HTTPRoutes to the socket and dashboard, on the test's Gateway, without hostnames."""
    routes = []
    for item in example(side):
        if item["kind"] != "HTTPRoute" or item["metadata"]["name"] != "adverant":
            continue
        route = copy.deepcopy(item)
        route["metadata"].update(name=f"adverant-{side}", namespace=NAMESPACE)
        route["spec"]["parentRefs"] = [{"name": gateway}]
        route["spec"].pop("hostnames", None)
        routes.append(route)
    assert routes, f"{side} has no HTTPRoute adverant"
    return routes


def gateway_objects(name: str, port: int) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": GATEWAY_CLASS},
         "spec": {"controllerName": CONTROLLER_NAME}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": name, "namespace": NAMESPACE},
         "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": [
             {"name": "web", "port": port, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}]}},
    ]


def backend_objects(space: Netns, server: Peer) -> list[dict[str, Any]]:
    """Selector-less Services of the example's names and ports; the socket server's endpoint by hand
    (the dashboard has none: its rule is not on the handshake's way, Traefik logs it unresolved)."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
         "spec": {"ports": [{"name": "http", "port": port, "targetPort": server.port}]}}
        for name, port in (("mageagent", 8080), ("dashboard", 80))]
    objects.append({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "mageagent-1", "namespace": NAMESPACE,
                     "labels": {"kubernetes.io/service-name": "mageagent"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [space.peer_address], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": server.port, "protocol": "TCP"}],
    })
    return objects


@pytest.fixture(scope="module")
def socket_server(netns: Netns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:  # noqa: F811
    require_peers()
    peer = start_socketio_server("node", tmp_path_factory.mktemp("gateway-peer"), path=SERVER_PATH,
                                 label="mageagent", extra=["--host", netns.peer_address], prefix=netns.prefix)
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def gateway_traefik(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    providers = ["--providers.kubernetesGateway=true", f"--providers.kubernetesGateway.namespaces={NAMESPACE}"]
    with running_traefik(control_plane, tmp_path_factory.mktemp("traefik-gateway"), providers) as ports:
        yield ports


def _routers(api: int) -> dict[str, str]:
    return {r["name"]: r.get("status", "") for r in http_routers(api) if r.get("provider") == "kubernetesgateway"}


def wait_for_route(api: int, route: str) -> dict[str, str]:
    deadline, seen = time.monotonic() + LOAD_TIMEOUT_S, dict[str, str]()
    while time.monotonic() < deadline:
        seen = _routers(api)
        if any(route in name and status == "enabled" for name, status in seen.items()):
            time.sleep(1.0)  # one more provider throttle period for the route's other rules
            return _routers(api)
        time.sleep(0.5)
    return seen


def probe(url: str) -> ProbeReport:
    return run_probe_blocking(ProbeOptions.create(url, path=CLIENT_PATH, timeout_s=10.0))


def socket_route_verdict(after: str) -> str:
    before, after_inventory = Inventory(), Inventory()
    for item in example("before"):
        before.add(item)
    for item in example(after):
        after_inventory.add(item)
    comparison = compare(before, after_inventory)
    [route] = [route for route in comparison.routes if route.request.path.startswith(CLIENT_PATH)]
    return route.verdict


@pytest.fixture(scope="module")
def served(control_plane: Cluster, netns: Netns, socket_server: Peer,  # noqa: F811
           gateway_traefik: tuple[int, int]) -> tuple[int, int]:
    web, _ = gateway_traefik
    control_plane.create_namespace(NAMESPACE)
    control_plane.apply([*gateway_objects("socketguard", web), *backend_objects(netns, socket_server)])
    return gateway_traefik


@pytest.mark.parametrize(("side", "verdict"), [("after-faithful", "same"), ("after-naive", "broken")])
def test_after_handshake_through_traefik_gateway_api_is_as_compare_says(
        control_plane: Cluster, served: tuple[int, int], side: str, verdict: str) -> None:
    web, api = served
    control_plane.apply(routes_for_test(side, "socketguard"))
    routers = wait_for_route(api, f"adverant-{side}")
    try:
        assert any(f"adverant-{side}" in name for name in routers), routers
        report = probe(f"http://127.0.0.1:{web}")
    finally:
        control_plane.kubectl("delete", "httproute", f"adverant-{side}", "-n", NAMESPACE)

    assert socket_route_verdict(side) == verdict
    if verdict == "same":
        assert report.ok, report.as_dict()
    else:
        assert not report.ok
        assert report.diagnoses[0].diagnosis.cause is Cause.WRONG_PATH, report.as_dict()
