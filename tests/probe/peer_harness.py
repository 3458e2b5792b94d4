"""Real Socket.IO peers for the probe tests: node socket.io, python-socketio, nginx; all on 127.0.0.1.

Tools are found through SOCKETGUARD_NODE / SOCKETGUARD_NGINX, else PATH (and /usr/sbin for nginx).
A missing tool is a failure with the command that installs it, never a silent skip: the tests are
the acceptance of the probe. `SOCKETGUARD_SKIP_PEERS=1` skips them on purpose.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEERS = REPO / "tests" / "peers"
NODE_DIR = PEERS / "node"
PYTHON_SERVER = PEERS / "python" / "server.py"
PROVISION = ".ci/provision-peers.sh"
START_TIMEOUT_S = 30.0


class PeerUnavailableError(RuntimeError):
    pass


def require_peers() -> None:
    """Skip only when asked to; otherwise let the caller fail loudly on what is missing."""
    if os.environ.get("SOCKETGUARD_SKIP_PEERS") == "1":
        pytest.skip("SOCKETGUARD_SKIP_PEERS=1: real Socket.IO peers not started")


def find_tool(name: str, env_var: str, extra_dirs: Sequence[str] = ()) -> str:
    configured = os.environ.get(env_var)
    if configured:
        if not os.access(configured, os.X_OK):
            raise PeerUnavailableError(f"{env_var}={configured} is not an executable")
        return configured
    search = os.pathsep.join([os.environ.get("PATH", ""), *extra_dirs])
    found = shutil.which(name, path=search)
    if found is None:
        raise PeerUnavailableError(
            f"{name} not found on PATH (or set {env_var}); run `bash {PROVISION}` to install the peers"
        )
    return found


def check_node_modules() -> None:
    if not (NODE_DIR / "node_modules" / "socket.io" / "package.json").is_file():
        raise PeerUnavailableError(f"socket.io is not installed in {NODE_DIR}: run `bash {PROVISION}`")


def check_python_peer() -> None:
    missing = [name for name in ("socketio", "uvicorn", "wsproto") if importlib.util.find_spec(name) is None]
    if missing:
        raise PeerUnavailableError(f"python packages {missing} missing: run `bash {PROVISION}`")


@dataclass
class Peer:
    """A server process we started; `stop()` ends it (and only it)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        stop_process(self.process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_socketio_server(
    stack: str,
    log_dir: Path,
    *,
    path: str,
    label: str,
    cors_origins: Sequence[str] = (),
    namespaces: Sequence[str] = (),
    extra: Sequence[str] = (),
    prefix: Sequence[str] = (),
) -> Peer:
    """Start the node or python peer; it prints `listening <port>` once it accepts connections.

    `prefix` runs it through another command (`ip netns exec NAME` for a test's network namespace).
    """
    arguments = ["--path", path, *extra]
    for origin in cors_origins:
        arguments += ["--cors-origin", origin]
    for namespace in namespaces:
        arguments += ["--namespace", namespace]
    if stack == "node":
        check_node_modules()
        command = [find_tool("node", "SOCKETGUARD_NODE"), str(NODE_DIR / "server.js"), *arguments]
    elif stack == "python":
        check_python_peer()
        command = [sys.executable, str(PYTHON_SERVER), *arguments]
    else:
        raise ValueError(f"unknown stack {stack!r}")
    log = log_dir / f"{label}.log"
    out = log_dir / f"{label}.out"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen([*prefix, *command], stdout=stdout, stderr=stderr,
                                   cwd=NODE_DIR if stack == "node" else REPO)
    port = _wait_for_port_line(process, out, log, label)
    return Peer(label, process, port, log)


def _wait_for_port_line(process: subprocess.Popen[bytes], out: Path, log: Path, label: str) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace")
        for line in text.splitlines():
            if line.startswith("listening "):
                return int(line.split()[1])
        if process.poll() is not None:
            raise PeerUnavailableError(f"{label} exited with {process.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    stop_process(process)
    raise PeerUnavailableError(f"{label} did not start within {START_TIMEOUT_S:g} s: {log.read_text()[-2000:]}")


def single_process_nginx(workdir: Path, http: str) -> str:
    """An nginx configuration run in the foreground as one process, every file in `workdir`,
    with `http` (upstreams, servers, maps) inside its http block."""
    return f"""daemon off;
master_process off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 512; }}
http {{
  access_log {workdir}/access.log;
  client_body_temp_path {workdir}/client_body;
  proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi;
  uwsgi_temp_path {workdir}/uwsgi;
  scgi_temp_path {workdir}/scgi;
{http}
}}
"""


def start_nginx(config: str, workdir: Path, ports: Sequence[int]) -> Peer:
    """Run nginx in the foreground as one process (no master/workers) with `config`."""
    nginx = find_tool("nginx", "SOCKETGUARD_NGINX", extra_dirs=("/usr/sbin", "/usr/local/sbin"))
    conf = workdir / "nginx.conf"
    conf.write_text(config)
    log = workdir / "error.log"
    process = subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(conf), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for port in ports:
        _wait_for_listener(process, port, log)
    return Peer("nginx", process, ports[0], log)


def _wait_for_listener(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailableError(f"nginx exited with {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as client:
            client.settimeout(0.5)
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    stop_process(process)
    raise PeerUnavailableError(f"nginx did not listen on {port} within {START_TIMEOUT_S:g} s")


@contextlib.contextmanager
def running(peers: list[Peer]) -> Iterator[list[Peer]]:
    try:
        yield peers
    finally:
        for peer in reversed(peers):
            peer.stop()
