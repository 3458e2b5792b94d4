"""Build the binaries of a single real node (``python -m socketguard.testing build --node``).

Cached beside the control-plane binaries, each with its ``.pin`` file:

* ``kubelet``, ``kube-scheduler``, ``kube-proxy``: ``go build`` of ``k8s.io/kubernetes/cmd/...`` in a
  wrapper module like kube-apiserver's (same staging ``replace`` list, so the Go build cache is shared).
* ``containerd``, ``containerd-shim-runc-v2``: ``go build`` of ``github.com/containerd/containerd/v2``
  without cgo (so without the btrfs, devmapper and ZFS snapshotters: the node uses overlayfs).
* ``coredns``: a generated ``main`` that imports ``coremain`` and only the plugins the node's Corefile
  uses (:data:`~socketguard.testing.versions.COREDNS_PLUGINS`); without ``forward`` it cannot send a
  query off the machine even if misconfigured.
* ``pause``: ``gcc -static`` of ``build/pause/linux/pause.c`` from the kubernetes module.

runc, the CNI plugins, iptables and conntrack come from Debian packages (:func:`missing_host_tools`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from socketguard.testing import versions
from socketguard.testing.binaries import (
    Progress,
    ProvisionError,
    _build_kubernetes,
    _go_build,
    _go_environment,
    _go_mod_download,
    _install,
    _is_current,
    _run,
    _stderr_progress,
    _wrapper_go_mod,
    cache_dir,
    provisioning_lock,
)

_KUBERNETES_PIN: Final = f"kubernetes {versions.KUBERNETES}"
_CONTAINERD_PIN: Final = f"containerd {versions.CONTAINERD}"
_COREDNS_PIN: Final = f"coredns {versions.COREDNS} plugins {','.join(versions.COREDNS_PLUGINS)}"
_PAUSE_PIN: Final = f"kubernetes {versions.KUBERNETES} build/pause/linux/pause.c static"
_KUBERNETES_NODE_TOOLS: Final = ("kubelet", "kube-scheduler", "kube-proxy")
_CONTAINERD_TOOLS: Final = ("containerd", "containerd-shim-runc-v2", "ctr")
#: Tool -> pin of its cached copy.
NODE_PINS: Final[dict[str, str]] = {
    **dict.fromkeys(_KUBERNETES_NODE_TOOLS, _KUBERNETES_PIN),
    **dict.fromkeys(_CONTAINERD_TOOLS, _CONTAINERD_PIN),
    "coredns": _COREDNS_PIN,
    "pause": _PAUSE_PIN,
}
#: Debian package -> a file it installs that the node runs.
HOST_PACKAGES: Final[dict[str, str]] = {
    "runc": "/usr/sbin/runc",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
    "iptables": "/usr/sbin/iptables",
    "conntrack": "/usr/sbin/conntrack",
    "podman": "/usr/bin/podman",
    "buildah": "/usr/bin/buildah",
    "mmdebstrap": "/usr/bin/mmdebstrap",
}
_CONTAINERD_MODULE: Final = "github.com/containerd/containerd/v2"
_COREDNS_MODULE: Final = "github.com/coredns/coredns"


@dataclass(frozen=True)
class NodeToolset:
    """Paths of everything a node runs besides the control plane."""

    kubelet: Path
    kube_scheduler: Path
    kube_proxy: Path
    containerd: Path
    containerd_shim: Path
    ctr: Path
    coredns: Path
    pause: Path

    def as_dict(self) -> dict[str, str]:
        return {name: str(path) for name, path in self.__dict__.items()}


def missing_node_artifacts() -> list[str]:
    directory = cache_dir()
    return [tool for tool, pin in NODE_PINS.items() if not _is_current(directory / tool, pin)]


def missing_host_tools() -> list[str]:
    """Debian packages the node needs that are not installed (``apt-get install`` them)."""
    return [package for package, path in HOST_PACKAGES.items() if not Path(path).exists()]


def find_node_toolset() -> NodeToolset | None:
    if missing_node_artifacts():
        return None
    directory = cache_dir()
    return NodeToolset(
        kubelet=directory / "kubelet",
        kube_scheduler=directory / "kube-scheduler",
        kube_proxy=directory / "kube-proxy",
        containerd=directory / "containerd",
        containerd_shim=directory / "containerd-shim-runc-v2",
        ctr=directory / "ctr",
        coredns=directory / "coredns",
        pause=directory / "pause",
    )


def provision_node(progress: Progress = _stderr_progress) -> tuple[NodeToolset, dict[str, float]]:
    """Build whatever node binary is missing; returns the toolset and seconds spent per step."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with provisioning_lock(progress):
        missing = set(missing_node_artifacts())
        kubernetes_tools = [tool for tool in _KUBERNETES_NODE_TOOLS if tool in missing]
        steps: list[tuple[str, bool, Callable[[], object]]] = [
            (
                "kubelet, kube-scheduler, kube-proxy",
                bool(kubernetes_tools),
                lambda: _build_kubernetes(
                    directory, progress, kubernetes_tools, module_dir="kubernetes-node", pin=_KUBERNETES_PIN
                ),
            ),
            ("pause", "pause" in missing, lambda: _build_pause(directory, progress)),
            (
                "containerd, ctr",
                bool(missing & set(_CONTAINERD_TOOLS)),
                lambda: _build_containerd(directory, progress, [t for t in _CONTAINERD_TOOLS if t in missing]),
            ),
            ("coredns", "coredns" in missing, lambda: _build_coredns(directory, progress)),
        ]
        for name, needed, build in steps:
            started = time.monotonic()
            if needed:
                build()
            timings[name] = time.monotonic() - started
    toolset = find_node_toolset()
    if toolset is None:
        raise ProvisionError("verify node", f"artifacts still missing: {', '.join(missing_node_artifacts())}")
    return toolset, timings


def _module_dir(module: str, version: str, progress: Progress, cwd: Path) -> Path:
    return Path(_go_mod_download(module, version, progress, cwd)["Dir"])


def _build_pause(directory: Path, progress: Progress) -> None:
    scratch = directory / "src" / "pause"
    scratch.mkdir(parents=True, exist_ok=True)
    source = _module_dir("k8s.io/kubernetes", versions.KUBERNETES, progress, scratch) / "build/pause/linux/pause.c"
    output = scratch / "pause"
    version = versions.PAUSE_IMAGE.rpartition(":")[2]
    step = "gcc -static pause.c"
    progress(step)
    _run(
        step,
        ["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{version}", "-o", str(output), str(source)],
        progress,
    )
    _install(output, directory / "pause", executable=True, pin=_PAUSE_PIN)


def _build_containerd(directory: Path, progress: Progress, tools: list[str]) -> None:
    workdir = directory / "src" / "containerd"
    workdir.mkdir(parents=True, exist_ok=True)
    version = versions.CONTAINERD
    (workdir / "go.mod").write_text(
        _wrapper_go_mod("socketguard.local/containerd-build", f"{_CONTAINERD_MODULE} v{version}", [])
    )
    env = _go_environment()
    # Static, as containerd's own release builds the shim; cgo only serves the unused btrfs snapshotter.
    env["CGO_ENABLED"] = "0"
    packages = [f"{_CONTAINERD_MODULE}/cmd/{tool}" for tool in tools]
    step = "resolve containerd dependencies (go get)"
    progress(step)
    _run(step, ["go", "get", *(f"{package}@v{version}" for package in packages)], progress, cwd=workdir, env=env)
    ldflags = f"-s -w -X {_CONTAINERD_MODULE}/version.Version=v{version}"
    for tool, package in zip(tools, packages, strict=True):
        _go_build(
            tool,
            package,
            directory,
            workdir,
            env,
            ldflags,
            progress,
            pin=_CONTAINERD_PIN,
            tags=("no_btrfs", "no_devmapper", "no_zfs"),
        )


def _coredns_main() -> str:
    imports = "\n".join(f'\t_ "{_COREDNS_MODULE}/plugin/{plugin}"' for plugin in versions.COREDNS_PLUGINS)
    return (
        "// Generated by socketguard.testing: CoreDNS with only the plugins the test node uses.\n"
        "package main\n\nimport (\n"
        f'\t"{_COREDNS_MODULE}/coremain"\n{imports}\n)\n\nfunc main() {{ coremain.Run() }}\n'
    )


def _build_coredns(directory: Path, progress: Progress) -> None:
    workdir = directory / "src" / "coredns"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    version = versions.COREDNS
    (workdir / "go.mod").write_text(
        _wrapper_go_mod("socketguard.local/coredns-build", f"{_COREDNS_MODULE} v{version}", [])
    )
    (workdir / "main.go").write_text(_coredns_main())
    env = _go_environment()
    env["CGO_ENABLED"] = "0"
    step = "resolve coredns dependencies (go get)"
    progress(step)
    _run(step, ["go", "get", f"{_COREDNS_MODULE}@v{version}"], progress, cwd=workdir, env=env)
    _run("go mod tidy coredns", ["go", "mod", "tidy"], progress, cwd=workdir, env=env)
    _go_build("coredns", ".", directory, workdir, env, "-s -w", progress, pin=_COREDNS_PIN)
