"""The nginx oracle: real nginx, configured as ingress-nginx would configure it, against the model.

A batch of scenarios becomes one nginx configuration (each scenario's servers on their own
loopback port, so one start serves the whole batch); every request of every scenario goes through
nginx to the echo upstreams, and the same request goes through the model
(`socketguard.engine.routing.decide`, the function behind `socketguard route`, asking the
ingress-nginx router). The two answers are compared as outcomes: which upstream answered (the
default backend for "no location"), what path and query arrived there, or nginx's own status and
`Location` when nginx answered itself (a redirect).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from ingress_nginx_port import DEFAULT_BACKEND, Server, build_servers, duplicate_locations, render_server, upstream_name
from nginx_scenarios import NAMESPACE, SERVICE_PORT, SERVICES, Scenario

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.decide import decide
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "probe"))
# The probe tests' nginx runner; require_peers is re-exported for the test module.
from peer_harness import require_peers as require_peers
from peer_harness import running, single_process_nginx, start_nginx

SERVICE_IDENTITIES = tuple(f"{NAMESPACE}/{name}" for name in SERVICES)


@dataclass(frozen=True)
class Outcome:
    """What a client sees: the upstream that answered and what reached it, or nginx's own answer."""

    upstream: str | None  # echo identity; None when nginx answered itself
    target: str | None  # path and query that arrived upstream; None at the default backend
    status: int | None = None  # nginx's own status (redirects)
    location: str | None = None

    @property
    def kind(self) -> str:
        return str(self.status) if self.status else "default backend" if self.target is None else "upstream"


@dataclass(frozen=True)
class Divergence:
    scenario: Scenario
    host: str
    target: str
    nginx: Outcome
    model: Outcome
    config: str

    def __str__(self) -> str:
        ingresses = yaml.safe_dump_all(list(self.scenario.ingresses), sort_keys=False)
        return (f"GET {self.target} Host: {self.host}\n  nginx: {self.nginx}\n  model: {self.model}\n"
                f"--- Ingresses\n{ingresses}--- nginx servers\n{self.config}")


@dataclass
class BatchResult:
    requests: int
    scenarios: int
    excluded: int
    divergences: list[Divergence]
    answers: Counter[str] = field(default_factory=Counter)  # what nginx did: upstream, default backend, 301, ...


def model_outcome(router: IngressNginxRouter, host: str, target: str) -> Outcome:
    path, _, query = target.partition("?")
    decisions = decide([router], Request(host=host, path=path, scheme="http", port=80, raw_query=query))
    if not decisions or decisions[0].action == "no-route":  # the default server or `location /`
        return Outcome(DEFAULT_BACKEND, None)
    decision = decisions[0]
    if decision.action != "forward":
        return Outcome(None, None, decision.status, decision.location)
    service = decision.backends[0].service if decision.backends else None
    return Outcome(f"{service.namespace}/{service.name}" if service else None, decision.upstream_path)


def nginx_outcome(connection: http.client.HTTPConnection, host: str, target: str) -> Outcome:
    connection.request("GET", target, headers={"Host": host})
    response = connection.getresponse()
    body = response.read()
    if response.getheader("Content-Type") == "application/json":
        echoed = json.loads(body)
        upstream = echoed["upstream"]
        return Outcome(upstream, None if upstream == DEFAULT_BACKEND else echoed["target"])
    return Outcome(None, None, response.status, response.getheader("Location"))


def http_block(workdir: Path, upstreams: Mapping[str, int], servers: Iterable[str]) -> str:
    """The directives of ingress-nginx's nginx.tmpl that bear on routing, around our servers."""
    upstream_blocks = "\n".join(f"  upstream {name} {{ server 127.0.0.1:{port}; }}" for name, port in upstreams.items())
    server_blocks = "\n".join(servers)
    return single_process_nginx(workdir, f"""  server_names_hash_bucket_size 64;
  server_name_in_redirect off;
  port_in_redirect off;
{upstream_blocks}
{server_blocks}""")


def nginx_upstreams(echo_ports: Mapping[str, int]) -> dict[str, int]:
    """nginx upstream name (the controller's `upstreamName`) -> the echo port of that Service."""
    upstreams = {DEFAULT_BACKEND: echo_ports[DEFAULT_BACKEND]}
    for name in SERVICES:
        upstreams[upstream_name(NAMESPACE, {"name": name, "port": {"number": SERVICE_PORT}})] = (
            echo_ports[f"{NAMESPACE}/{name}"])
    return upstreams


def run_batch(batch: Sequence[Scenario], echo_ports: Mapping[str, int], workdir: Path) -> BatchResult:
    """Start one nginx for the batch and compare every request of every scenario."""
    workdir.mkdir(parents=True, exist_ok=True)
    rendered = [build_servers(scenario.ingresses) for scenario in batch]
    # nginx would refuse the whole configuration of a server with a duplicate location: a known
    # limit, left out of the comparison.
    accepted = [(scenario, servers) for scenario, servers in zip(batch, rendered, strict=True)
                if not any(duplicate_locations(server) for server in servers)]
    kept = [(scenario, port, _render(servers, port))
            for (scenario, servers), port in zip(accepted, distinct_free_ports(len(accepted)), strict=True)]
    result = BatchResult(0, len(kept), len(batch) - len(kept), [])
    if not kept:
        return result
    config = http_block(workdir, nginx_upstreams(echo_ports), (text for _, _, text in kept))
    with running([start_nginx(config, workdir, [port for _, port, _ in kept])]):
        for scenario, port, text in kept:
            _compare(scenario, port, text, result)
    return result


def distinct_free_ports(count: int) -> list[int]:
    """`count` loopback ports free right now, all different (each socket is held until all are bound)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for bound in sockets:
            bound.bind(("127.0.0.1", 0))
        return [int(bound.getsockname()[1]) for bound in sockets]


def _render(servers: Iterable[Server], port: int) -> str:
    return "\n".join(render_server(server, f"127.0.0.1:{port}") for server in servers)


def _compare(scenario: Scenario, port: int, config: str, result: BatchResult) -> None:
    inventory = Inventory()
    for document in scenario.objects():
        inventory.add(document)
    router = IngressNginxRouter(inventory)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for host, target in scenario.requests():
            seen = nginx_outcome(connection, host, target)
            expected = model_outcome(router, host, target)
            result.requests += 1
            result.answers[seen.kind] += 1
            if seen != expected:
                result.divergences.append(Divergence(scenario, host, target, seen, expected, config))
    finally:
        connection.close()
