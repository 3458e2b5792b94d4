"""Real Traefik is the oracle of the Traefik router.

Seeded, generated IngressRoutes, Middlewares and Ingresses of class `traefik` go to the real control
plane; the real Traefik (built by `python -m socketguard.testing build`) reads them with its
kubernetesCRD and kubernetesIngress providers and routes real Engine.IO handshakes to node
socket.io servers. EndpointSlices cannot name loopback addresses, so the servers listen inside a
network namespace this test creates, behind a veth pair with addresses from the benchmarking range
198.18.0.0/15 that exist only on that pair: all traffic stays on the machine. Every handshake's
outcome must be the model's verdict (the winning rule delivers, and the path that arrives is one the
server accepts), for the polling handshake and for the WebSocket upgrade alike (matchers on `Upgrade` or
`transport` split them); the failure lists every divergence with the seed (`SOCKETGUARD_TRAEFIK_SEED`).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import render_path
from socketguard.engine.routing import Request
from socketguard.engine.routing.decide import decide
from socketguard.engine.routing.traefik import TraefikRouter
from socketguard.testing import Cluster
from socketguard.testing.binaries import oracle_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "probe"))
from peer_harness import Peer, free_port, require_peers, start_socketio_server, stop_process

pytestmark = [pytest.mark.e2e, pytest.mark.peers]

SEED = int(os.environ.get("SOCKETGUARD_TRAEFIK_SEED", "16"))
ROUTE_CASES = 30
INGRESS_CASES = 8
NAMESPACE = "traefik-oracle"
SERVERS = {"root": "/socket.io", "app": "/app/socket.io"}  # Service name suffix -> the server's path
REQUEST_PATHS = ("/socket.io/", "/app/socket.io/", "/socket.iox/", "/app/socket.io")
MATCHERS = (
    "PathPrefix(`{p}`)",
    "PathPrefix(`{p}/`)",
    "Path(`{p}/`)",
    "PathRegexp(`^{rp}/`)",
    "(PathPrefix(`{p}/`) || Path(`/never`))",
    "PathPrefix(`{p}`) && !Header(`X-Canary`, `1`)",
    "PathPrefix(`{p}`) && Header(`X-Canary`, `1`)",
    "PathPrefix(`{p}x`)",
    "pathprefix(`{p}`) && Method(`GET`)",
    "PathPrefix(`{p}`) && Query(`transport`, `polling`)",
    "PathPrefix(`{p}`) && HeaderRegexp(`Upgrade`, `(?i)websocket`)",
    "PathPrefix(`{p}`) && (Query(`EIO`, `3`) || !Method(`POST`))",
)
MIDDLEWARES: tuple[dict[str, Any] | None, ...] = (
    None,
    {"stripPrefix": {"prefixes": ["/app"]}},
    {"stripPrefix": {"prefixes": ["/app/socket.io"]}},
    {"replacePathRegex": {"regex": "^/app/(.*)", "replacement": "/$1"}},
    {"addPrefix": {"prefix": "/app"}},
    {"stripPrefixRegex": {"regex": ["/[a-z]+"]}},
    {"replacePath": {"path": "/socket.io/"}},
    {"redirectScheme": {"scheme": "https"}},
)
LOAD_TIMEOUT_S = 90.0
TRANSPORTS = ("polling", "websocket")


@dataclass
class Case:
    host: str
    path: str
    objects: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        return f"GET {self.path} on {self.host}: " + json.dumps(
            [o["spec"] for o in self.objects], sort_keys=True)


@dataclass(frozen=True)
class Netns:
    name: str
    host_link: str
    host_address: str
    peer_address: str

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        pytest.fail(f"network namespace setup: `ip {' '.join(args)}` failed: {result.stderr.strip()}")


@pytest.fixture(scope="module")
def netns() -> Iterator[Netns]:
    pid = os.getpid()
    octet = pid % 250 + 1
    space = Netns(f"sg-traefik-{pid}", f"sgt{pid % 100000}h", f"198.18.{octet}.1", f"198.18.{octet}.2")
    peer_link = f"sgt{pid % 100000}p"
    _ip("netns", "add", space.name)
    try:
        _ip("link", "add", space.host_link, "type", "veth", "peer", "name", peer_link, "netns", space.name)
        _ip("addr", "add", f"{space.host_address}/30", "dev", space.host_link)
        _ip("link", "set", space.host_link, "up")
        _ip("-n", space.name, "addr", "add", f"{space.peer_address}/30", "dev", peer_link)
        _ip("-n", space.name, "link", "set", peer_link, "up")
        _ip("-n", space.name, "link", "set", "lo", "up")
        yield space
    finally:
        subprocess.run(["ip", "link", "del", space.host_link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", space.name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def servers(netns: Netns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Peer]]:
    require_peers()
    logs = tmp_path_factory.mktemp("traefik-peers")
    started: dict[str, Peer] = {}
    try:
        for key, path in SERVERS.items():
            started[key] = start_socketio_server("node", logs, path=path, label=f"server-{key}",
                                                 extra=["--host", netns.peer_address], prefix=netns.prefix)
        yield started
    finally:
        for peer in started.values():
            peer.stop()


def _services(ports: dict[str, int]) -> list[dict[str, Any]]:
    """The IngressClass and one selector-less Service per server (its endpoints are listed by hand)."""
    objects: list[dict[str, Any]] = [{
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "traefik"},
        "spec": {"controller": "traefik.io/ingress-controller"}}]
    for key, port in ports.items():
        objects.append({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": f"svc-{key}", "namespace": NAMESPACE},
                        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": port}]}})
    return objects


def _endpoint_slices(netns: Netns, servers: dict[str, Peer]) -> list[dict[str, Any]]:
    objects = []
    for key, peer in servers.items():
        name = f"svc-{key}"
        objects.append({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-1", "namespace": NAMESPACE,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [netns.peer_address], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": peer.port, "protocol": "TCP"}],
        })
    return objects


def _middleware(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}


def _route_case(index: int, rng: random.Random, matcher_template: str | None = None) -> Case:
    prefix = rng.choice(list(SERVERS.values()))
    case = Case(f"route{index}.oracle.test", _request_path(prefix, rng))
    matcher = (matcher_template or rng.choice(MATCHERS)).format(p=prefix, rp=re.escape(prefix))
    route: dict[str, Any] = {"match": f"Host(`{case.host}`) && {matcher}", "kind": "Rule",
                             "services": [{"name": _service_for(prefix, rng), "port": 80}]}
    middleware = rng.choice((None, None, *MIDDLEWARES))
    if middleware is not None:
        case.objects.append(_middleware(f"mw{index}", middleware))
        route["middlewares"] = [{"name": f"mw{index}"}]
    routes = [route]
    if rng.random() < 0.4:  # a catch-all for the host competes by priority (rule length) or `priority`
        other: dict[str, Any] = {"match": f"Host(`{case.host}`) && PathPrefix(`/`)", "kind": "Rule",
                                 "services": [{"name": f"svc-{rng.choice(list(SERVERS))}", "port": 80}]}
        if rng.random() < 0.5:
            other["priority"] = rng.choice([1, 500])
        routes.append(other)
    case.objects.append({"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
                         "metadata": {"name": f"route{index}", "namespace": NAMESPACE},
                         "spec": {"entryPoints": ["web"], "routes": routes}})
    return case


def _ingress_case(index: int, rng: random.Random) -> Case:
    prefix = rng.choice(list(SERVERS.values()))
    case = Case(f"ingress{index}.oracle.test", _request_path(prefix, rng))
    annotations = {"traefik.ingress.kubernetes.io/router.entrypoints": "web"}
    middleware = rng.choice((None, *MIDDLEWARES[:-1]))
    if middleware is not None:
        case.objects.append(_middleware(f"imw{index}", middleware))
        annotations["traefik.ingress.kubernetes.io/router.middlewares"] = f"{NAMESPACE}-imw{index}@kubernetescrd"
    path = prefix + rng.choice(["", "/"])
    case.objects.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": f"ingress{index}", "namespace": NAMESPACE, "annotations": annotations},
        "spec": {"ingressClassName": "traefik", "rules": [{"host": case.host, "http": {"paths": [{
            "path": path, "pathType": rng.choice(["Prefix", "Exact", "ImplementationSpecific"]),
            "backend": {"service": {"name": _service_for(prefix, rng), "port": {"number": 80}}},
        }]}}]},
    })
    return case


def _service_for(prefix: str, rng: random.Random) -> str:
    """Mostly the server listening on the rule's path, sometimes the other one."""
    mine = next(key for key, path in SERVERS.items() if path == prefix)
    return f"svc-{mine if rng.random() < 0.6 else rng.choice(list(SERVERS))}"


def _request_path(prefix: str, rng: random.Random) -> str:
    """Mostly the handshake the rule is written for, sometimes a near miss."""
    return prefix + "/" if rng.random() < 0.6 else rng.choice(REQUEST_PATHS)


def generated_cases(seed: int) -> list[Case]:
    """Random cases, plus one per matcher that tells the upgrade from polling, whatever the seed."""
    rng, forced = random.Random(seed), random.Random(seed + 1)
    transport_matchers = [m for m in MATCHERS if "Upgrade" in m or "transport" in m]
    return ([_route_case(i, rng) for i in range(ROUTE_CASES)]
            + [_ingress_case(i, rng) for i in range(INGRESS_CASES)]
            + [_route_case(ROUTE_CASES + i, forced, m) for i, m in enumerate(transport_matchers)])


def model_verdict(router: TraefikRouter, case: Case, transport: str = "polling") -> tuple[bool, str]:
    """Whether `socketguard route`'s decision reaches a server that accepts the handshake, and why."""
    decisions = decide([router], Request(host=case.host, path=case.path, scheme="http", port=80,
                                         transport=transport))
    if not decisions:
        return False, "no entrance serves the host"
    decision = decisions[0]
    where = f"{decision.action} {decision.route} {render_path(decision.field or ())}"
    service = decision.backends[0].service if decision.backends else None
    if decision.action != "forward" or service is None or decision.upstream_path is None:
        return False, where
    path = decision.upstream_path.partition("?")[0]
    # a node server (addTrailingSlash on) handles paths starting with `<path>/`
    accepted = path.startswith(SERVERS[service.name.removeprefix("svc-")] + "/")
    return accepted, f"{where} -> {service.name} as {path}"


def real_handshake(port: int, case: Case, transport: str = "polling") -> tuple[bool, str]:
    """A polling handshake succeeds with the Engine.IO open packet, a WebSocket one with 101."""
    headers = {"Host": case.host}
    if transport == "websocket":
        key = base64.b64encode(os.urandom(16)).decode()
        headers.update({"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": key})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", f"{case.path}?EIO=4&transport={transport}", headers=headers)
        response = connection.getresponse()
        # After a 101 the socket carries WebSocket frames: read no body.
        body = "" if response.status == 101 else response.read(200).decode(errors="replace")
    finally:
        connection.close()
    if transport == "websocket":
        return response.status == 101, f"HTTP {response.status} {body[:60]!r}"
    return response.status == 200 and body.startswith("0{"), f"HTTP {response.status} {body[:60]!r}"


@pytest.fixture(scope="module")
def traefik(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    providers = ["--providers.kubernetesCRD=true", f"--providers.kubernetesCRD.namespaces={NAMESPACE}",
                 "--providers.kubernetesIngress=true", f"--providers.kubernetesIngress.namespaces={NAMESPACE}"]
    with running_traefik(control_plane, tmp_path_factory.mktemp("traefik"), providers) as ports:
        yield ports


@contextmanager
def running_traefik(control_plane: Cluster, workdir: Path, providers: list[str]) -> Iterator[tuple[int, int]]:
    """Real Traefik reading the control plane with `providers` (flags); yields its web and API ports."""
    binary = oracle_binary("traefik")
    if binary is None:
        pytest.fail("the traefik binary is not built: run `python -m socketguard.testing build`")
    web, api = free_port(), free_port()
    log = workdir / "traefik.log"
    argv = [str(binary), f"--entryPoints.web.address=127.0.0.1:{web}",
            f"--entryPoints.traefik.address=127.0.0.1:{api}", "--api.insecure=true", "--ping=true", *providers,
            "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false", "--log.level=INFO"]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "KUBECONFIG": str(control_plane.kubeconfig)})
    try:
        yield web, api
    finally:
        stop_process(process)
        if process.returncode not in (0, -15):
            print(log.read_text(errors="replace")[-4000:])


def http_routers(api: int) -> list[dict[str, Any]]:
    """Traefik's HTTP routers as its API lists them (none while it cannot answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", api, timeout=5)
    try:
        connection.request("GET", "/api/http/routers?per_page=1000")
        response = connection.getresponse()
        return list(json.loads(response.read())) if response.status == 200 else []
    except (OSError, ValueError):
        return []
    finally:
        connection.close()


def _enabled_routers(api: int) -> set[str]:
    return {r["name"] for r in http_routers(api) if r.get("status") == "enabled" and r.get("provider") != "internal"}


def _wait_for_routers(api: int, expected: int) -> set[str]:
    deadline, seen = time.monotonic() + LOAD_TIMEOUT_S, set[str]()
    while time.monotonic() < deadline:
        seen = _enabled_routers(api)
        if len(seen) >= expected:
            time.sleep(1.0)  # one more provider throttle period for stragglers
            return _enabled_routers(api)
        time.sleep(0.5)
    return seen


def test_generated_routes_agree_with_real_traefik(control_plane: Cluster, netns: Netns,
                                                  servers: dict[str, Peer], traefik: tuple[int, int]) -> None:
    cases = generated_cases(SEED)
    services = _services({key: peer.port for key, peer in servers.items()})
    control_plane.create_namespace(NAMESPACE)
    control_plane.apply([*services, *_endpoint_slices(netns, servers), *(o for case in cases for o in case.objects)])
    router = _model(services, cases)
    expected_routers = len([r for r in router.routes if not r.refused])
    web, api = traefik
    loaded = _wait_for_routers(api, expected_routers)
    assert len(loaded) >= expected_routers, f"Traefik enabled {len(loaded)} of {expected_routers} routers: {loaded}"
    divergences, agreed = [], 0
    for case in cases:
        for transport in TRANSPORTS:
            model_ok, model_why = model_verdict(router, case, transport)
            real_ok, real_why = real_handshake(web, case, transport)
            if model_ok == real_ok:
                agreed += 1
            else:
                divergences.append(f"{transport}: model {'ok' if model_ok else 'fails'} ({model_why}), Traefik "
                                   f"{'ok' if real_ok else 'fails'} ({real_why}); case {case.describe()}")
    print(f"traefik oracle (seed {SEED}): {agreed}/{len(cases) * len(TRANSPORTS)} handshakes agree")
    assert not divergences, f"seed {SEED}: {len(divergences)} divergences:\n" + "\n".join(divergences)


def test_the_generator_covers_both_outcomes() -> None:
    """A generator whose cases all succeed (or all fail) would check nothing."""
    cases = generated_cases(SEED)
    router = _model(_services(dict.fromkeys(SERVERS, 3000)), cases)
    for transport in TRANSPORTS:
        verdicts = [model_verdict(router, case, transport)[0] for case in cases]
        assert 0.2 < sum(verdicts) / len(verdicts) < 0.8, transport
    polling, websocket = ([model_verdict(router, case, t)[0] for case in cases] for t in TRANSPORTS)
    assert polling != websocket, "no case tells the WebSocket upgrade from the polling handshake"


def _model(services: list[dict[str, Any]], cases: list[Case]) -> TraefikRouter:
    inventory = Inventory()
    for raw in (*services, *(o for case in cases for o in case.objects)):
        inventory.add(raw)
    return TraefikRouter(inventory)
