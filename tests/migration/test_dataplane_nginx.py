"""The migration example's BEFORE through a real data plane: nginx, configured as ingress-nginx would.

The Ingresses of `manifests/examples/migration/before/` become nginx `server`/`location` blocks by
the ingress-nginx port of the nginx oracle (paths, `rewrite-target`, regex mode and the proxy
timeouts), a real Socket.IO server (python-socketio) stands in for the MageAgent pods, and the
project's own probe makes the dashboard's handshake (`/mageagent/socket.io`) through nginx.

The same handshake through a variant without the capture-group rewrite (what the naive AFTER
does: the pod receives `/mageagent/socket.io/`) must fail, as `compare` says of the naive AFTER's
path. Affinity is the controller's Lua balancer and is not part of these blocks: each upstream here
is one server. The probe cannot send another Host than its URL's, so the Ingresses' host is
replaced by the loopback address it connects to; the host only selects the server block.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "oracles" / "nginx"))

from echo_upstreams import echo_upstreams  # noqa: E402
from ingress_nginx_port import DEFAULT_BACKEND, build_servers, render_server, upstream_name  # noqa: E402
from nginx_oracle import distinct_free_ports, http_block, require_peers  # noqa: E402
from peer_harness import running, start_nginx, start_socketio_server  # noqa: E402

from socketguard.engine.inventory import Inventory  # noqa: E402
from socketguard.engine.migration.compare import compare  # noqa: E402
from socketguard.inputs.loader import load_inputs  # noqa: E402
from socketguard.probe import Cause, ProbeReport, run_probe_blocking  # noqa: E402
from socketguard.probe.model import ProbeOptions  # noqa: E402

EXAMPLE = REPO / "manifests" / "examples" / "migration"
NAMESPACE = "mageagent"
HOST = "adverant.ai"
CLIENT_PATH = "/mageagent/socket.io"  # the dashboard's client-path
SERVER_PATH = "/socket.io"  # mageagent.yaml: a socket.io server with no `path` option
LOOPBACK = "127.0.0.1"
REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"

# nginx.tmpl proxies every location with HTTP/1.1 and the Upgrade/Connection pair; set once here,
# every location inherits it.
WEBSOCKET_PROXYING = """  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  proxy_http_version 1.1;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $connection_upgrade;"""


def example(side: str) -> list[dict[str, Any]]:
    return [loaded.raw for loaded in load_inputs([str(EXAMPLE / side)]).objects]


def inventory(objects: Sequence[Mapping[str, Any]]) -> Inventory:
    found = Inventory()
    for item in objects:
        found.add(copy.deepcopy(dict(item)))
    return found


def ingresses_on_loopback(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = [copy.deepcopy(dict(item)) for item in objects if item["kind"] == "Ingress"]
    for ingress in found:
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] == HOST
            rule["host"] = LOOPBACK
    return found


def without_capture_rewrite(ingresses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The socket path kept as a regex, its rewrite dropped: the pod receives the public path."""
    broken = [copy.deepcopy(dict(item)) for item in ingresses]
    for ingress in broken:
        annotations = ingress["metadata"].get("annotations") or {}
        if annotations.pop(REWRITE, None) is not None:
            annotations[USE_REGEX] = "true"
    return broken


@contextmanager
def through_nginx(ingresses: Sequence[Mapping[str, Any]], workdir: Path) -> Iterator[tuple[str, str]]:
    """nginx for `ingresses` in front of a python-socketio server; yields (probe URL, nginx servers)."""
    workdir.mkdir()
    with echo_upstreams([f"{NAMESPACE}/dashboard"], not_found=[DEFAULT_BACKEND]) as echo_ports:
        server = start_socketio_server("python", workdir, path=SERVER_PATH, label="mageagent")
        with running([server]):
            upstreams = {
                DEFAULT_BACKEND: echo_ports[DEFAULT_BACKEND],
                upstream_name(NAMESPACE, {"name": "dashboard", "port": {"number": 80}}):
                    echo_ports[f"{NAMESPACE}/dashboard"],
                upstream_name(NAMESPACE, {"name": "mageagent", "port": {"number": 8080}}): server.port,
            }
            [port] = distinct_free_ports(1)
            servers = "\n".join(render_server(found, f"{LOOPBACK}:{port}") for found in build_servers(ingresses))
            config = http_block(workdir, upstreams, [WEBSOCKET_PROXYING, servers])
            with running([start_nginx(config, workdir, [port])]):
                yield f"http://{LOOPBACK}:{port}", servers


def probe(url: str) -> ProbeReport:
    return run_probe_blocking(ProbeOptions.create(url, path=CLIENT_PATH, timeout_s=10.0))


def socket_route_verdict(after: str) -> tuple[str, set[str]]:
    """compare's verdict for the dashboard's handshake and the aspects that differ."""
    comparison = compare(inventory(example("before")), inventory(example(after)))
    [route] = [route for route in comparison.routes if route.request.path.startswith(CLIENT_PATH)]
    return route.verdict, {difference.aspect for difference in route.differences}


@pytest.mark.peers
def test_before_handshake_succeeds_through_nginx_with_rewrite_and_timeouts(tmp_path: Path) -> None:
    require_peers()
    with through_nginx(ingresses_on_loopback(example("before")), tmp_path / "before") as (url, servers):
        report = probe(url)

    assert report.ok, report.as_dict()
    assert 'rewrite "(?i)/mageagent(/|$)(.*)" /$2 break;' in servers
    assert "proxy_send_timeout 3600s; proxy_read_timeout 3600s;" in servers


@pytest.mark.peers
def test_dropped_capture_rewrite_fails_through_nginx_as_compare_says_of_the_naive_after(tmp_path: Path) -> None:
    require_peers()
    broken = without_capture_rewrite(ingresses_on_loopback(example("before")))
    with through_nginx(broken, tmp_path / "broken") as (url, _):
        report = probe(url)

    assert not report.ok
    assert report.diagnoses[0].diagnosis.cause is Cause.WRONG_PATH, report.as_dict()
    handshake = report.step("polling-handshake")
    assert handshake is not None and handshake.http_status == 404  # the socket server's own 404, not the dashboard
    verdict, aspects = socket_route_verdict("after-naive")
    assert verdict == "broken"
    assert "path" in aspects

