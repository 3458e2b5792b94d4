"""Container images built on this machine: no registry is needed (``python -m socketguard.testing image build``).

* The base: ``mmdebstrap`` of Debian (``python3``, ``python3-venv``, ``ca-certificates``) imported into
  podman; the host's extra CA certificates go in too, so pip inside a build trusts what the host
  trusts (an intercepting proxy, for instance).
* The project's image: ``podman build`` of the repository's ``Dockerfile`` with that base as
  ``PYTHON_IMAGE``.
* The pause image from the static ``pause`` binary, tagged exactly as containerd's sandbox image.

Each image is also saved as a docker archive under ``<cache>/images/`` so a node started later
imports it into containerd's ``k8s.io`` namespace (:func:`image_archives`).
"""

from __future__ import annotations

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


def build_project_image(repository: Path, progress: Progress = _stderr_progress) -> str:
    """``podman build`` of the repository's Dockerfile on the local base; returns the image reference."""
    base = build_base_image(progress)
    reference = project_image_reference()
    step = "podman build Dockerfile"
    progress(f"{step} -> {reference}")
    _run(
        step,
        ["podman", "build", *podman_ulimits(), "--build-arg", f"PYTHON_IMAGE={base}", "-t", reference, str(repository)],
        progress,
    )
    save_archive(reference, "socketguard", progress)
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
    save_archive(reference, "pause", progress)
    return reference


def save_archive(reference: str, name: str, progress: Progress) -> Path:
    target = images_dir() / f"{name}.docker.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    step = f"podman save {reference}"
    progress(step)
    _run(step, ["podman", "save", "--format", "docker-archive", "-o", str(target), reference], progress)
    if not target.is_file():
        raise ProvisionError(step, f"podman wrote no archive at {target}")
    return target
