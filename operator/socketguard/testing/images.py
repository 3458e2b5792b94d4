"""Container images built on this machine: no registry is needed (``python -m socketguard.testing image build``).

* The base: ``mmdebstrap`` of Debian (``python3``, ``python3-venv``, ``ca-certificates``) imported into
  podman; the host's extra CA certificates go in too, so pip inside a build trusts what the host
  trusts (an intercepting proxy, for instance).
* The project's image: ``podman build`` of the repository's ``Dockerfile`` with that base as
  ``PYTHON_IMAGE``.
* The pause image from the static ``pause`` binary, tagged exactly as containerd's sandbox image.
* Test servers (``tests/peers``): the Node ``socket.io`` server with the ``node_modules`` installed
  from its lock file and this machine's ``node``, and the ``python-socketio`` server with the
  versions installed here (``.ci/provision-peers.sh`` installs both); pods run them with
  ``--host 0.0.0.0 --port <containerPort>``.

Each image is also saved as a docker archive under ``<cache>/images/`` so a node started later
imports it into containerd's ``k8s.io`` namespace (:func:`image_archives`).
"""

from __future__ import annotations

import importlib.metadata
import resource
import shutil
import tempfile
from pathlib import Path
from typing import Final

import socketguard
from socketguard.testing import versions
from socketguard.testing.binaries import (
    Progress,
    ProvisionError,
    _install,
    _is_current,
    _run,
    _stderr_progress,
    cache_dir,
)

BASE_IMAGE: Final = f"localhost/socketguard-base:{versions.DEBIAN_SUITE}"
PROJECT_IMAGE_REPOSITORY: Final = "localhost/socketguard"
_BASE_PACKAGES: Final = ("python3", "python3-venv", "ca-certificates")
_BASE_PIN: Final = f"debian {versions.DEBIAN_SUITE} minbase {','.join(_BASE_PACKAGES)}"
PEER_IMAGES: Final = {
    "node": "localhost/socketguard-peer-node:test",
    "python": "localhost/socketguard-peer-python:test",
}
_PYTHON_PEER_PACKAGES: Final = ("python-socketio", "uvicorn", "wsproto")
_HOST_EXTRA_CAS: Final = Path("/usr/local/share/ca-certificates")
_SYSTEM_CA_BUNDLE: Final = "/etc/ssl/certs/ca-certificates.crt"


def images_dir() -> Path:
    return cache_dir() / "images"


def project_image_reference() -> str:
    return f"{PROJECT_IMAGE_REPOSITORY}:{socketguard.__version__}"


def image_archives() -> list[Path]:
    """Every image archive a node imports into containerd at start."""
    return sorted(images_dir().glob("*.docker.tar"))


def podman_ulimits() -> list[str]:
    """``--ulimit`` flags within the current hard limits.

    Without CAP_SYS_RESOURCE runc cannot raise an rlimit above the hard limit, and podman's default
    (``nofile=1048576``) is above it on a CI machine.
    """
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = 1_048_576 if nofile == resource.RLIM_INFINITY else nofile
    nproc = 4096 if nproc == resource.RLIM_INFINITY else min(nproc, 4096)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def build_base_image(progress: Progress = _stderr_progress) -> str:
    """The Debian-based Python base image, made from Debian packages once and cached as a tarball."""
    tarball = images_dir() / "base-rootfs.tar"
    if not _is_current(tarball, _BASE_PIN):
        _debootstrap(tarball, progress)
    step = "podman import base"
    progress(f"{step} ({BASE_IMAGE})")
    _run(
        step,
        [
            "podman",
            "import",
            "--change",
            f"ENV PIP_CERT={_SYSTEM_CA_BUNDLE}",
            "--change",
            f"ENV SSL_CERT_FILE={_SYSTEM_CA_BUNDLE}",
            "--change",
            'CMD ["python3"]',
            str(tarball),
            BASE_IMAGE,
        ],
        progress,
    )
    return BASE_IMAGE


def _debootstrap(tarball: Path, progress: Progress) -> None:
    step = f"mmdebstrap {versions.DEBIAN_SUITE}"
    progress(f"{step} (minutes: downloads and unpacks Debian packages)")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name("base-rootfs.building.tar")
    hooks = []
    if _HOST_EXTRA_CAS.is_dir() and any(_HOST_EXTRA_CAS.glob("*.crt")):
        hooks = [
            f'--customize-hook=cp {_HOST_EXTRA_CAS}/*.crt "$1/usr/local/share/ca-certificates/"',
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    _run(
        step,
        [
            "mmdebstrap",
            "--variant=minbase",
            "--mode=root",
            f"--include={','.join(_BASE_PACKAGES)}",
            *hooks,
            # No package lists or caches in the image.
            '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
            versions.DEBIAN_SUITE,
            str(partial),
        ],
        progress,
    )
    _install(partial, tarball, executable=False, pin=_BASE_PIN)
    partial.unlink()


def build_project_image(repository: Path, base: str, progress: Progress = _stderr_progress) -> str:
    """``podman build`` of the repository's Dockerfile on the local base; returns the image reference."""
    reference = project_image_reference()
    step = "podman build Dockerfile"
    progress(f"{step} -> {reference}")
    _run(
        step,
        ["podman", "build", *podman_ulimits(), "--build-arg", f"PYTHON_IMAGE={base}", "-t", reference, str(repository)],
        progress,
    )
    save_archive([reference], "socketguard", progress)
    return reference


def build_pause_image(pause_binary: Path, progress: Progress = _stderr_progress) -> str:
    """A one-file image running the static pause binary, tagged as containerd's sandbox image."""
    reference = versions.PAUSE_IMAGE
    with tempfile.TemporaryDirectory(prefix="socketguard-pause-") as context:
        shutil.copy2(pause_binary, Path(context) / "pause")
        (Path(context) / "Containerfile").write_text(
            'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
        )
        _run("podman build pause", ["podman", "build", "-t", reference, context], progress)
    save_archive([reference], "pause", progress)
    return reference


def save_archive(references: list[str], name: str, progress: Progress) -> Path:
    """One docker archive of the images (layers they share are stored once)."""
    target = images_dir() / f"{name}.docker.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    step = f"podman save {' '.join(references)}"
    progress(step)
    _run(
        step,
        ["podman", "save", "--multi-image-archive", "--format", "docker-archive", "-o", str(target), *references],
        progress,
    )
    if not target.is_file():
        raise ProvisionError(step, f"podman wrote no archive at {target}")
    return target


def build_peer_images(peers_dir: Path, base: str, progress: Progress = _stderr_progress) -> list[str]:
    """The Node and python Socket.IO test servers as images, saved together in one archive."""
    with tempfile.TemporaryDirectory(prefix="socketguard-peers-") as scratch:
        node_context = _node_peer_context(peers_dir / "node", Path(scratch) / "node")
        python_context = _python_peer_context(peers_dir / "python", Path(scratch) / "python")
        for name, context in (("node", node_context), ("python", python_context)):
            reference = PEER_IMAGES[name]
            step = f"podman build {reference}"
            progress(step)
            _run(
                step,
                ["podman", "build", *podman_ulimits(), "--build-arg", f"BASE={base}", "-t", reference, str(context)],
                progress,
            )
    references = list(PEER_IMAGES.values())
    save_archive(references, "peers", progress)
    return references


def _node_peer_context(source: Path, context: Path) -> Path:
    node = shutil.which("node")
    if node is None or not (source / "node_modules" / "socket.io").is_dir():
        raise ProvisionError("node peer image", f"needs node and {source}/node_modules: run .ci/provision-peers.sh")
    shutil.copytree(source, context / "app", ignore=shutil.ignore_patterns(".package-lock.json"))
    # The machine's node (Debian 12, like the base) runs the peer exactly as the peer tests do.
    shutil.copy2(Path(node).resolve(), context / "node")
    (context / "Containerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nCOPY node /usr/local/bin/node\nCOPY app /app\n"
        'USER 10001:10001\nWORKDIR /app\nENTRYPOINT ["node", "/app/server.js"]\n'
    )
    return context


def _python_peer_context(source: Path, context: Path) -> Path:
    context.mkdir(parents=True)
    shutil.copy2(source / "server.py", context / "server.py")
    pins = " ".join(f"{name}=={_installed_version(name)}" for name in _PYTHON_PEER_PACKAGES)
    (context / "Containerfile").write_text(
        f"ARG BASE\nFROM ${{BASE}}\nRUN python3 -m venv /opt/peer && /opt/peer/bin/pip install --no-cache-dir {pins}\n"
        'COPY server.py /app/server.py\nUSER 10001:10001\nENTRYPOINT ["/opt/peer/bin/python", "/app/server.py"]\n'
    )
    return context


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise ProvisionError(
            "python peer image", f"{distribution} is not installed: run .ci/provision-peers.sh"
        ) from error
