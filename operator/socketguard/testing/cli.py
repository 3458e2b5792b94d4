"""``python -m socketguard.testing``: build the toolset, start/stop a background control plane.

``up`` starts a supervisor process (``serve``) that owns the control plane and stops it on SIGTERM;
the control-plane processes die with the supervisor, so ``down`` only has to stop the supervisor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

import socketguard
from socketguard.testing.binaries import ProvisionError, cache_dir, provision
from socketguard.testing.controlplane import ControlPlane, ControlPlaneError, prepare_etcd_template
from socketguard.testing.images import build_base_image, build_pause_image, build_peer_images, build_project_image
from socketguard.testing.node import NodeCluster
from socketguard.testing.nodebinaries import find_node_toolset, missing_host_tools, provision_node

_PID_FILE = "supervisor.pid"
_READY_FILE = "ready"
_FAILED_FILE = "failed"
_STATE_FILE = "state.json"
_SUPERVISOR_LOG = "supervisor.log"

_dir_option = click.option(
    "--dir",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for certificates, kubeconfig, etcd data and logs.",
)


def _echo_progress(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) for tests."""


@main.command()
@click.option(
    "--search-dir",
    "search_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Look for binaries here (and on PATH) before the cache; repeatable.",
)
@click.option(
    "--node",
    is_flag=True,
    help="Also build the node: kubelet, kube-scheduler, kube-proxy, containerd, CoreDNS, pause.",
)
def build(search_dirs: tuple[Path, ...], node: bool) -> None:
    """Provision binaries and CRDs into the cache (minutes cold, instant when cached)."""
    started = time.monotonic()
    if node:
        _build_node()
    try:
        toolset = provision(search_dirs, progress=_echo_progress)
    except ProvisionError as error:
        raise click.ClickException(str(error)) from error
    try:
        template = prepare_etcd_template(toolset, progress=_echo_progress)
    except ControlPlaneError as error:
        raise click.ClickException(f"provisioning step 'etcd template' failed: {error}") from error
    toolset = dataclasses.replace(toolset, etcd_template=template)
    for name, path in toolset.as_dict().items():
        click.echo(f"{name}: {path}")
    click.echo(f"cache: {cache_dir()} (took {time.monotonic() - started:.0f} s)")


@main.command()
@_dir_option
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for readiness.")
@click.option("--node", is_flag=True, help="Also start a node (containerd, kubelet, kube-proxy, CoreDNS): pods run.")
def up(run_dir: Path, timeout: float, node: bool) -> None:
    """Start a control plane in the background and print its KUBECONFIG."""
    run_dir = run_dir.resolve()
    running = _supervisor_pid(run_dir)
    if running is not None:
        raise click.ClickException(f"a control plane is already running in {run_dir} (pid {running})")
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (_READY_FILE, _FAILED_FILE, _STATE_FILE):
        (run_dir / stale).unlink(missing_ok=True)
    supervisor = _spawn_supervisor(run_dir, node=node)
    deadline = time.monotonic() + timeout * (3 if node else 1)
    while not (run_dir / _READY_FILE).exists():
        if supervisor.poll() is not None or time.monotonic() > deadline:
            if supervisor.poll() is None:
                supervisor.terminate()
                supervisor.wait()
            log = (run_dir / _SUPERVISOR_LOG).read_text(errors="replace")
            raise click.ClickException(f"control plane did not start:\n{log[-4000:]}")
        time.sleep(0.2)
    state = json.loads((run_dir / _STATE_FILE).read_text())
    click.echo(
        f"started in {state['timings']['total']:.1f} s; stop with: python -m socketguard.testing down --dir {run_dir}",
        err=True,
    )
    click.echo(f"KUBECONFIG={state['kubeconfig']}")


def _build_node() -> None:
    missing = missing_host_tools()
    if missing:
        raise click.ClickException(
            f"provisioning step 'host packages' failed: install the Debian packages {' '.join(missing)}"
        )
    try:
        toolset, timings = provision_node(progress=_echo_progress)
    except ProvisionError as error:
        raise click.ClickException(str(error)) from error
    for name, path in toolset.as_dict().items():
        click.echo(f"{name}: {path}")
    for step, seconds in timings.items():
        click.echo(f"time {step}: {seconds:.0f} s")


@main.group()
def image() -> None:
    """Container images built on this machine (podman, a Debian base from Debian's packages)."""


@image.command("build")
@click.option(
    "--context",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=lambda: str(Path(socketguard.__file__).resolve().parents[2]),
    show_default="the repository holding this package",
    help="Directory with the Dockerfile.",
)
@click.option(
    "--peers/--no-peers",
    default=True,
    show_default=True,
    help="Also build the Socket.IO test servers of <context>/tests/peers (after .ci/provision-peers.sh).",
)
def image_build(context: Path, peers: bool) -> None:
    """Build the project's image, the pause image and the test servers; print the chart's image reference."""
    node_toolset = find_node_toolset()
    if node_toolset is None:
        raise click.ClickException("the pause binary is not built: run `python -m socketguard.testing build --node`")
    started = time.monotonic()
    try:
        base = build_base_image(progress=_echo_progress)
        built = [build_project_image(context, base, progress=_echo_progress)]
        built.append(build_pause_image(node_toolset.pause, progress=_echo_progress))
        if peers:
            built += build_peer_images(context / "tests" / "peers", base, progress=_echo_progress)
    except ProvisionError as error:
        raise click.ClickException(str(error)) from error
    _echo_progress(f"built {', '.join(built)} in {time.monotonic() - started:.0f} s")
    click.echo(built[0])


def _spawn_supervisor(run_dir: Path, *, node: bool) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    # The child must import this same copy of the package, however the parent found it.
    package_root = str(Path(socketguard.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with (run_dir / _SUPERVISOR_LOG).open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "socketguard.testing",
                "serve",
                "--dir",
                str(run_dir),
                *(["--node"] if node else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


@main.command(hidden=True)
@_dir_option
@click.option("--node", is_flag=True)
def serve(run_dir: Path, node: bool) -> None:
    """Run a control plane in the foreground until SIGTERM or Ctrl-C (what `up` starts)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / _PID_FILE).write_text(f"{os.getpid()}\n")
    try:
        cluster_class = NodeCluster if node else ControlPlane
        with cluster_class(run_dir=run_dir, progress=_echo_progress) as control_plane:
            (run_dir / _STATE_FILE).write_text(json.dumps(control_plane.state(), indent=2))
            (run_dir / _READY_FILE).write_text("ready\n")
            while True:
                signal.pause()
    except KeyboardInterrupt:
        # SIGTERM from `down` arrives as KeyboardInterrupt; leaving the `with` stopped everything.
        _echo_progress("stopped")
    except ControlPlaneError as error:
        (run_dir / _FAILED_FILE).write_text(str(error))
        raise click.ClickException(str(error)) from error
    finally:
        for marker in (_READY_FILE, _PID_FILE):
            (run_dir / marker).unlink(missing_ok=True)


@main.command()
@_dir_option
@click.option("--timeout", default=90.0, show_default=True, help="Seconds to wait before killing.")
def down(run_dir: Path, timeout: float) -> None:
    """Stop the control plane that `up` started in DIR (logs stay in DIR)."""
    run_dir = run_dir.resolve()
    pid = _supervisor_pid(run_dir)
    if pid is None:
        click.echo(f"no control plane running in {run_dir}")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        # Its children have a parent-death signal, so killing the supervisor takes them along.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        click.echo(f"supervisor {pid} did not stop in {timeout:.0f} s; killed it", err=True)
    (run_dir / _PID_FILE).unlink(missing_ok=True)
    click.echo(f"stopped the control plane in {run_dir}")


def _supervisor_pid(run_dir: Path) -> int | None:
    """The pid of a live supervisor for ``run_dir``; stale pid files (reused pids) don't count."""
    try:
        pid = int((run_dir / _PID_FILE).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"socketguard.testing" in cmdline and _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True
