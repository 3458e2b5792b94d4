"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

No kubelet, scheduler, kube-proxy or DNS: Pods stay Pending, but every API-side behaviour is real
(admission, CRD schema validation, status subresources, RBAC, Deployment and ReplicaSet controllers).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from socketguard.testing import processes
from socketguard.testing.binaries import (
    Toolset,
    etcd_template_dir,
    etcd_template_is_current,
    find_toolset,
    provisioning_lock,
    record_etcd_template,
)
from socketguard.testing.certs import CertificateAuthority, KeyPair, signing_key_pair
from socketguard.testing.cluster import Cluster, Rule, Subject
from socketguard.testing.processes import ManagedProcess

_SERVICE_CIDR = "10.0.0.0/24"
_SERVICE_ISSUER = "https://kubernetes.default.svc.cluster.local"
_APISERVER_HOSTS = (
    "127.0.0.1",
    "localhost",
    "10.0.0.1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
_PORT_CLASH = "address already in use"
_START_ATTEMPTS = 3
_CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_CRD_WORKERS = 4
Progress = Callable[[str], None]


class ControlPlaneError(RuntimeError):
    """The control plane could not start; the message carries the failing process's log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _quiet(message: str) -> None:
    del message


class ControlPlane(Cluster):
    """etcd + kube-apiserver (+ kube-controller-manager) with CRDs installed; a context manager.

    ``run_dir`` keeps certificates, kubeconfigs, etcd data and one log per process (a temporary
    directory when omitted). The admin kubeconfig is :attr:`kubeconfig`. Everything started is
    stopped by :meth:`stop`, on leaving the ``with`` block, at interpreter exit, on SIGTERM/SIGHUP
    (turned into KeyboardInterrupt), and by the kernel if the Python process is killed outright.
    """

    #: kube-apiserver's authorizers (a cluster with a kubelet adds the Node authorizer).
    authorization_modes: tuple[str, ...] = ("RBAC",)

    def __init__(
        self,
        run_dir: Path | None = None,
        *,
        toolset: Toolset | None = None,
        search_dirs: Sequence[Path] = (),
        install_crds: bool = True,
        controller_manager: bool = True,
        apiserver_args: Sequence[str] = (),
        controller_manager_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
        die_with_parent: bool = True,
        use_etcd_template: bool = True,
        progress: Progress = _quiet,
        address: str = "127.0.0.1",
    ) -> None:
        found = toolset or find_toolset(search_dirs)
        if found is None:
            raise ControlPlaneError(
                "control-plane binaries are not provisioned: run `python -m socketguard.testing build` "
                "(minutes, once per machine) or set SOCKETGUARD_TEST_KUBECONFIG to use an existing cluster"
            )
        self.toolset = found
        # A directory the caller named is kept (logs, kubeconfig); a temporary one is removed on stop.
        self._remove_run_dir = run_dir is None
        self.run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="socketguard-cp-"))
        super().__init__(self.run_dir / "kubeconfig", kubectl=found.kubectl, helm=found.helm, work_dir=self.run_dir)
        self.install_crds = install_crds
        # The template holds the CRDs, so it only fits a control plane that installs them.
        self.etcd_template = found.etcd_template if (install_crds and use_etcd_template) else None
        self.with_controller_manager = controller_manager
        self.apiserver_args = list(apiserver_args)
        self.controller_manager_args = list(controller_manager_args)
        self.startup_timeout = startup_timeout
        self.die_with_parent = die_with_parent
        self.progress = progress
        #: Where kube-apiserver binds and what it advertises (a node address for a cluster with pods).
        self.address = address
        self.processes: list[ManagedProcess] = []
        self.timings: dict[str, float] = {}
        self.server = ""
        self._ca: CertificateAuthority | None = None
        self._admin_tls: ssl.SSLContext | None = None
        self._ports: dict[str, int] = {}

    # --- lifecycle -----------------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Start every process and wait until the API is ready and CRDs are established."""
        processes.install_signal_handlers()
        started = time.monotonic()
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start_once()
                break
            except ControlPlaneError as error:
                # Processes go, files stay: the logs named in the error must remain readable.
                self._stop_processes()
                if _PORT_CLASH not in str(error) or attempt == _START_ATTEMPTS:
                    raise
                self.progress(f"port taken by someone else, retrying ({attempt}/{_START_ATTEMPTS})")
            except BaseException:
                self._stop_processes()
                raise
        self.timings["total"] = time.monotonic() - started
        self.progress(f"control plane ready at {self.server} in {self.timings['total']:.1f} s")
        return self

    def stop(self) -> None:
        """Stop all processes, dependents first; safe to call repeatedly."""
        self._stop_processes()
        if self._remove_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _stop_processes(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def restart_apiserver(self, *, down: float = 0.0) -> float:
        """Stops kube-apiserver and starts it again on the same port and etcd: the same cluster,
        every client's connections dropped. Returns the seconds it took to be ready again."""
        index, old = next((i, p) for i, p in enumerate(self.processes) if p.name == "kube-apiserver")
        old.stop()
        self.processes.remove(old)
        time.sleep(down)
        began = time.monotonic()
        self._start_apiserver()
        self.processes.insert(index, self.processes.pop())  # dependents still stop before it
        return time.monotonic() - began

    def compact_etcd(self) -> int:
        """Compacts etcd's history up to its current revision (returned): a watch that resumes from
        an older resourceVersion then gets `410 Gone` (with `--watch-cache=false`, where watches are
        served by etcd itself)."""
        base = f"http://127.0.0.1:{self._ports['etcd']}/v3/kv"
        probe = {"key": base64.b64encode(b"/").decode(), "limit": 1}
        revision = int(_post_json(f"{base}/range", probe)["header"]["revision"])
        _post_json(f"{base}/compaction", {"revision": revision, "physical": True})
        return revision

    @property
    def ca_file(self) -> Path:
        return self._pki / "ca.crt"

    @property
    def logs(self) -> dict[str, Path]:
        return {path.stem: path for path in sorted((self.work_dir / "logs").glob("*.log"))}

    def _start_once(self) -> None:
        self._prepare_run_dir()
        self._ports = {name: free_port() for name in ("etcd", "etcd-peer", "apiserver", "controller-manager")}
        self.server = f"https://{self.address}:{self._ports['apiserver']}"
        self._write_pki_and_kubeconfigs()
        self._phase("etcd", self._start_etcd)
        self._phase("kube-apiserver", self._start_apiserver)
        if self.with_controller_manager:
            self._launch(self._controller_manager_argv(), "kube-controller-manager")
        if self.install_crds:
            self._phase("crds", self._install_crds)
        if self.with_controller_manager:
            self._phase("kube-controller-manager", self._await_controller_manager)

    def _phase(self, name: str, action: Callable[[], None]) -> None:
        began = time.monotonic()
        action()
        self.timings[name] = time.monotonic() - began
        self.progress(f"{name} ready ({self.timings[name]:.1f} s)")

    def _prepare_run_dir(self) -> None:
        # Only paths this class owns are reset: run_dir may be a directory the caller uses too.
        for owned in ("etcd-data", "pki", "logs", "kubeconfigs"):
            shutil.rmtree(self.work_dir / owned, ignore_errors=True)
        (self.work_dir / "logs").mkdir(parents=True)
        if self.etcd_template is not None:
            shutil.copytree(self.etcd_template, self.work_dir / "etcd-data")

    @property
    def _pki(self) -> Path:
        return self.work_dir / "pki"

    def _write_pki_and_kubeconfigs(self) -> None:
        ca = self._ca = CertificateAuthority("socketguard-test-ca")
        ca.key_pair.write(self._pki, "ca")
        ca.issue_server("kube-apiserver", (*_APISERVER_HOSTS, self.address)).write(self._pki, "apiserver")
        ca.issue_server("kube-controller-manager", ("127.0.0.1", "localhost")).write(
            self._pki, "controller-manager-serving"
        )
        private, public = signing_key_pair()
        (self._pki / "sa.key").write_bytes(private)
        (self._pki / "sa.pub").write_bytes(public)
        self._write_cert_kubeconfig(self.kubeconfig, "admin", ca.issue_client("socketguard-admin", ["system:masters"]))
        self._write_cert_kubeconfig(
            self.work_dir / "controller-manager.kubeconfig",
            "kube-controller-manager",
            ca.issue_client("system:kube-controller-manager"),
        )

    def _write_cert_kubeconfig(self, path: Path, user: str, pair: KeyPair) -> None:
        assert self._ca is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "socketguard-test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self._ca.cert_pem),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": _b64(pair.cert_pem),
                        "client-key-data": _b64(pair.key_pem),
                    },
                }
            ],
            "contexts": [{"name": user, "context": {"cluster": "socketguard-test", "user": user}}],
            "current-context": user,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    def _launch(self, argv: list[str], name: str, env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(
            name, argv, self.work_dir / "logs" / f"{name}.log", die_with_parent=self.die_with_parent, env=env
        )
        process.start()
        self.processes.append(process)
        return process

    # --- etcd ----------------------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        client, peer = (f"http://127.0.0.1:{self._ports[name]}" for name in ("etcd", "etcd-peer"))
        process = self._launch(
            [
                str(self.toolset.etcd),
                "--name=socketguard",
                f"--data-dir={self.work_dir / 'etcd-data'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=socketguard={peer}",
                # Test data is disposable; fsync would make every write wait for the shared disk.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            "etcd",
        )
        self._await(process, lambda: _etcd_healthy(f"{client}/health"))

    # --- kube-apiserver ------------------------------------------------------------------------------

    def _start_apiserver(self) -> None:
        pki = self._pki
        process = self._launch(
            [
                str(self.toolset.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self._ports['etcd']}",
                f"--bind-address={self.address}",
                f"--advertise-address={self.address}",
                f"--secure-port={self._ports['apiserver']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-issuer={_SERVICE_ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={_SERVICE_CIDR}",
                f"--authorization-mode={','.join(self.authorization_modes)}",
                "--allow-privileged=true",
                "--profiling=false",
                # A webhook configured by Service is dialled at the Service's endpoints, not at its
                # ClusterIP or DNS name: with no kube-proxy either would lead off this machine. A
                # Service without endpoints then fails here, at once (fail-open webhooks still pass).
                "--enable-aggregator-routing=true",
                f"--cert-dir={pki / 'apiserver-generated'}",
                *self.apiserver_args,
            ],
            "kube-apiserver",
        )
        context = self._admin_tls = self._client_tls_context()
        self._await(process, lambda: _https_ok(f"{self.server}/readyz", context))

    def _client_tls_context(self) -> ssl.SSLContext:
        assert self._ca is not None
        pair = self._ca.issue_client("socketguard-readiness", ["system:masters"])
        cert, key = pair.write(self._pki, "readiness")
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(cert), str(key))
        return context

    # --- CRDs ----------------------------------------------------------------------------------------

    def _install_crds(self) -> None:
        """Create every CRD, several at once, then wait until all are Established.

        The API server spends seconds per large CRD (schema and CEL rule compilation); parallel
        requests use both cores, where `kubectl apply` would send them one by one.
        """
        crds = [crd for path in self.toolset.crd_files for crd in _load_crds(path)]
        installed = self._installed_crds()
        missing = [crd for crd in crds if crd["metadata"]["name"] not in installed]
        with ThreadPoolExecutor(_CRD_WORKERS) as pool:
            list(pool.map(self._create_crd, missing))
        wanted = {crd["metadata"]["name"] for crd in crds}
        deadline = time.monotonic() + self.startup_timeout
        while not_established := {name for name in wanted if not installed.get(name)}:
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"CRDs not established: {', '.join(sorted(not_established))}")
            time.sleep(0.2)
            installed = self._installed_crds()

    def _create_crd(self, crd: dict[str, Any]) -> None:
        # Create, not server-side apply: tracking managed fields of a 600 kB schema costs seconds.
        self._api_request("POST", _CRD_API, json.dumps(crd).encode())

    def _installed_crds(self) -> dict[str, bool]:
        """CRD name -> whether it is Established."""
        listing = self._api_request("GET", _CRD_API)
        return {
            crd["metadata"]["name"]: any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in (crd.get("status") or {}).get("conditions") or []
            )
            for crd in listing.get("items", [])
        }

    def _api_request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> Any:
        assert self._admin_tls is not None
        request = urllib.request.Request(
            self.server + path, data=body, method=method, headers={"Content-Type": content_type}
        )
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._admin_tls)
        )
        try:
            with opener.open(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:1000]
            raise ControlPlaneError(f"{method} {path}: HTTP {error.code}: {detail}") from error
        except OSError as error:
            raise ControlPlaneError(f"{method} {path}: {error}") from error

    # --- kube-controller-manager -----------------------------------------------------------------------

    def _controller_manager_argv(self) -> list[str]:
        pki, kubeconfig = self._pki, self.work_dir / "controller-manager.kubeconfig"
        return [
            str(self.toolset.kube_controller_manager),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self._ports['controller-manager']}",
            f"--tls-cert-file={pki / 'controller-manager-serving.crt'}",
            f"--tls-private-key-file={pki / 'controller-manager-serving.key'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            # Each controller acts as its own ServiceAccount, as in kubeadm clusters.
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            *self.controller_manager_args,
        ]

    def _await_controller_manager(self) -> None:
        process = next(p for p in self.processes if p.name == "kube-controller-manager")
        context = ssl.create_default_context(cafile=str(self.ca_file))
        url = f"https://127.0.0.1:{self._ports['controller-manager']}/healthz"
        self._await(process, lambda: _https_ok(url, context))

    # --- waiting -------------------------------------------------------------------------------------

    def _await(self, process: ManagedProcess, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = process.exit_code()
            if code is not None:
                raise ControlPlaneError(
                    f"{process.name} exited with {code} during startup; log {process.log_path}:\n{process.tail(30)}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{process.name} not ready after {self.startup_timeout:.0f} s; log {process.log_path}:\n"
                    f"{process.tail(30)}"
                )
            time.sleep(0.2)

    # --- identities and diagnostics ------------------------------------------------------------------

    def user_kubeconfig(
        self,
        user: str,
        groups: Sequence[str] = (),
        *,
        namespace: str | None = None,
        rules: Sequence[Rule] = (),
        cluster_rules: Sequence[Rule] = (),
        cluster_roles: Sequence[str] = (),
    ) -> Path:
        """A kubeconfig for ``user`` in ``groups`` (client certificate), bound to the given RBAC."""
        if self._ca is None:
            raise ControlPlaneError("the control plane is not started")
        self.grant(
            Subject("User", user),
            namespace=namespace,
            rules=rules,
            cluster_rules=cluster_rules,
            cluster_roles=cluster_roles,
        )
        pair = self._ca.issue_client(user, groups)
        return self._write_kubeconfig(
            f"user-{user}",
            {"client-certificate-data": _b64(pair.cert_pem), "client-key-data": _b64(pair.key_pem)},
        )

    def diagnostics(self, tail_lines: int = 60) -> str:
        sections = []
        for name, path in self.logs.items():
            lines = path.read_text(errors="replace").splitlines()[-tail_lines:]
            sections.append(f"--- {name} (last {len(lines)} lines of {path}) ---\n" + "\n".join(lines))
        return "\n".join(sections)

    def state(self) -> dict[str, Any]:
        """What `python -m socketguard.testing up` records about a running control plane."""
        return {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "ports": dict(self._ports),
            "pids": {process.name: process.pid for process in self.processes},
            "timings": {name: round(seconds, 2) for name, seconds in self.timings.items()},
        }


def prepare_etcd_template(toolset: Toolset, progress: Progress = _quiet) -> Path:
    """Build (once per pin set) the etcd data directory that control planes start from.

    A control plane without the controller-manager installs the CRDs and stops cleanly; its etcd
    data becomes the template. Certificates are not stored in etcd, so every start still gets
    fresh ones; the API server rewrites its own bootstrap state (endpoints, client-CA config map).
    """
    target = etcd_template_dir()
    with provisioning_lock(progress):
        if not etcd_template_is_current():
            _build_etcd_template(toolset, target, progress)
    return target


def _build_etcd_template(toolset: Toolset, target: Path, progress: Progress) -> None:
    progress("installing the CRDs once into an etcd template")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="etcd-template-", dir=target.parent) as scratch:
        plain = dataclasses.replace(toolset, etcd_template=None)
        with ControlPlane(Path(scratch), toolset=plain, controller_manager=False, progress=progress):
            pass
        shutil.rmtree(target, ignore_errors=True)
        (Path(scratch) / "etcd-data").rename(target)
    record_etcd_template()


def _load_crds(path: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(path.read_text(), Loader=loader) if isinstance(doc, dict)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Loopback only: an http(s)_proxy in the environment must not intercept health checks.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with _opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def _etcd_healthy(url: str) -> bool:
    try:
        with _opener.open(url, timeout=2) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _https_ok(url: str, context: ssl.SSLContext) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False
