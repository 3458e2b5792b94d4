"""One set of real peers for the whole probe test session.

Two socket.io (node) and two python-socketio processes, all serving SERVER_PATH with an origin
allow-list and an extra namespace, and one nginx in front of them (plain HTTP and TLS) whose
locations model the routes under test:

  /<stack>/app/        prefix rewrite to the server path (the working route)
  /<stack>/wrong/      a rewrite that lands on /api/<path> (the seed's kind of path mismatch)
  /<stack>/rr/         round-robin over both processes of the stack, no stickiness
  /<stack>/noupgrade/  proxying without the Upgrade/Connection headers
  /down/               an upstream where nothing listens (502)
  /spa/                a web app's fallback page: 200 with HTML for every path
  /moved/              a redirect to the TLS port

and two servers that only look like Socket.IO: a bare engine.io (node) server and a WebSocket
endpoint that accepts and then stays silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peer_harness import (
    Peer,
    PeerUnavailableError,
    free_port,
    require_peers,
    running,
    single_process_nginx,
    start_nginx,
    start_socketio_server,
)
from tls_material import TlsFiles, make_tls_files

SERVER_PATH = "/ws/socket.io"
GOOD_ORIGIN = "https://good.example"
EXTRA_NAMESPACE = "/chat"
ENGINE_IO_PATH = "/eio"
STACKS = ("node", "python")


@dataclass(frozen=True)
class Topology:
    direct: dict[str, str]
    odd: dict[str, str]
    proxy_http: str
    proxy_https: str
    tls: TlsFiles
    closed_port: int


@pytest.fixture(scope="session")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    require_peers()
    workdir = tmp_path_factory.mktemp("peers")
    started: list[Peer] = []
    with running(started):
        try:
            topology = _start(workdir, started)
        except PeerUnavailableError as error:
            pytest.fail(f"real Socket.IO peers unavailable: {error}", pytrace=False)
        yield topology


def _start(workdir: Path, started: list[Peer]) -> Topology:
    servers: dict[str, list[Peer]] = {}
    for stack in STACKS:
        for number in (1, 2):
            peer = start_socketio_server(
                stack, workdir, path=SERVER_PATH, cors_origins=[GOOD_ORIGIN],
                namespaces=[EXTRA_NAMESPACE], label=f"{stack}-{number}",
            )
            started.append(peer)
            servers.setdefault(stack, []).append(peer)
    odd = {
        "engine.io only": start_socketio_server(
            "node", workdir, path=ENGINE_IO_PATH, label="engine-io-only", extra=["--engine-io-only"]
        ),
        "silent websocket": start_socketio_server(
            "python", workdir, path="/", label="silent-websocket", extra=["--silent-websocket"]
        ),
    }
    started.extend(odd.values())
    tls = make_tls_files(workdir)
    http_port, https_port, closed_port = free_port(), free_port(), free_port()
    nginx_dir = workdir / "nginx"
    nginx_dir.mkdir()
    config = nginx_config(nginx_dir, servers, tls, http_port, https_port, closed_port)
    started.append(start_nginx(config, nginx_dir, [http_port, https_port]))
    return Topology(
        direct={stack: f"http://127.0.0.1:{processes[0].port}" for stack, processes in servers.items()},
        odd={name: f"http://127.0.0.1:{peer.port}" for name, peer in odd.items()},
        proxy_http=f"http://127.0.0.1:{http_port}",
        proxy_https=f"https://127.0.0.1:{https_port}",
        tls=tls,
        closed_port=closed_port,
    )


_PASS_UPGRADES = """
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;"""


def nginx_config(
    workdir: Path, servers: dict[str, list[Peer]], tls: TlsFiles, http_port: int, https_port: int,
    closed_port: int,
) -> str:
    upstreams: list[str] = []
    locations: list[str] = []
    for stack, (first, second) in servers.items():
        upstreams.append(f"  upstream {stack}_one {{ server 127.0.0.1:{first.port}; }}")
        upstreams.append(
            f"  upstream {stack}_rr {{ server 127.0.0.1:{first.port}; server 127.0.0.1:{second.port}; }}"
        )
        locations += [
            f"    location /{stack}/app/ {{ proxy_pass http://{stack}_one/;{_PASS_UPGRADES} }}",
            f"    location /{stack}/wrong/ {{ proxy_pass http://{stack}_one/api/;{_PASS_UPGRADES} }}",
            f"    location /{stack}/rr/ {{ proxy_pass http://{stack}_rr/;{_PASS_UPGRADES} }}",
            f"    location /{stack}/noupgrade/ {{ proxy_pass http://{stack}_one/; }}",
        ]
    locations += [
        f"    location /down/ {{ proxy_pass http://127.0.0.1:{closed_port}/; }}",
        '    location /spa/ { default_type text/html; return 200 "<!DOCTYPE html><html>app</html>"; }',
        f"    location /moved/ {{ return 301 https://127.0.0.1:{https_port}/node/app/; }}",
    ]
    newline = "\n"
    return single_process_nginx(workdir, f"""  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{newline.join(upstreams)}
  server {{
    listen 127.0.0.1:{http_port};
    listen 127.0.0.1:{https_port} ssl;
    ssl_certificate {tls.server_cert};
    ssl_certificate_key {tls.server_key};
{newline.join(locations)}
  }}""")
