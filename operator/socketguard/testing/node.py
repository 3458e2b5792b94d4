"""A control plane with one real node: pods run, Services route, cluster DNS answers.

Beside etcd, kube-apiserver and kube-controller-manager, :class:`NodeCluster` starts containerd (with
Debian's runc), a kubelet (cgroupfs driver), kube-scheduler, kube-proxy (iptables mode) and CoreDNS
as a host process. Everything stays on this machine:

* the node's own bridge ``sgbr0`` holds the node address (the first pod address); kube-apiserver binds
  and advertises it, so pods reach it through the ``kubernetes`` Service;
* the pod range and the Service range are routed only onto that bridge (kube-proxy's rules turn a
  ClusterIP into a pod address); blackhole routes for both ranges (below the bridge's routes) keep a
  packet from leaving even without the bridge, and a ``FORWARD`` rule drops anything from a pod to
  an address outside the pod range;
* CoreDNS has no ``forward`` plugin: names outside ``cluster.local`` get SERVFAIL, never a query out.

:meth:`NodeCluster.stop` removes what the node created: pod sandboxes, mounts under the run
directory, kube-proxy's and our iptables rules, routes, the bridge, the pods' cgroups.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from socketguard.testing import versions
from socketguard.testing.controlplane import (
    _SERVICE_CIDR,
    ControlPlane,
    ControlPlaneError,
    Progress,
    _https_ok,
    _opener,
    _quiet,
    free_port,
)
from socketguard.testing.images import image_archives
from socketguard.testing.nodebinaries import NodeToolset, find_node_toolset, missing_host_tools

NODE_NAME: Final = "socketguard-node"
BRIDGE: Final = "sgbr0"
POD_CIDR: Final = "10.244.0.0/24"
NODE_ADDRESS: Final = "10.244.0.1"
SERVICE_CIDR: Final = _SERVICE_CIDR
CLUSTER_DNS: Final = "10.0.0.10"
_BLACKHOLE_METRIC: Final = "4000"
_CHAIN: Final = "SOCKETGUARD-NODE"
_CNI_BIN_DIR: Final = "/usr/lib/cni"
_RUNC: Final = "/usr/sbin/runc"
_NODE_READY_TIMEOUT: Final = 180.0


class NodeError(ControlPlaneError):
    """A node step failed; the message names the step and why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"node step {step!r} failed: {reason}")
        self.step = step


def _host(step: str, argv: Sequence[str], *, check: bool = True) -> str:
    """Run a host command (ip, iptables, ctr); raise :class:`NodeError` naming the step."""
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)
    if check and result.returncode != 0:
        raise NodeError(step, f"`{' '.join(argv)}` exited with {result.returncode}: {result.stderr.strip()[-800:]}")
    return result.stdout


class NodeCluster(ControlPlane):
    """A :class:`ControlPlane` with one node that runs pods from images built on this machine."""

    authorization_modes = ("Node", "RBAC")

    def __init__(
        self,
        run_dir: Path | None = None,
        *,
        node_toolset: NodeToolset | None = None,
        progress: Progress = _quiet,
        startup_timeout: float = 180.0,
    ) -> None:
        super().__init__(
            run_dir,
            progress=progress,
            startup_timeout=startup_timeout,
            address=NODE_ADDRESS,
        )
        found = node_toolset or find_node_toolset()
        if found is None:
            raise NodeError("binaries", "not built: run `python -m socketguard.testing build --node`")
        self.node_toolset = found
        self._node_ports: dict[str, int] = {}

    # --- paths -----------------------------------------------------------------------------------------

    @property
    def node_dir(self) -> Path:
        return self.work_dir / "node"

    @property
    def containerd_socket(self) -> Path:
        return self.node_dir / "containerd" / "containerd.sock"

    # --- lifecycle -------------------------------------------------------------------------------------

    def _start_once(self) -> None:
        missing = missing_host_tools()
        if missing:
            raise NodeError("host packages", f"install the Debian packages {' '.join(missing)}")
        self._cleanup_node()
        self._phase("node network", self._create_network)
        shutil.rmtree(self.node_dir, ignore_errors=True)
        super()._start_once()
        self._node_ports = {
            name: free_port() for name in ("kubelet", "kubelet-healthz", "scheduler", "proxy-health", "proxy-metrics")
        }
        self._write_node_kubeconfigs()
        self._phase("containerd", self._start_containerd)
        self._phase("images", self._import_images)
        self._phase("kube-scheduler", self._start_scheduler)
        self._phase("kubelet", self._start_kubelet)
        self._phase("kube-proxy", self._start_kube_proxy)
        self._phase("coredns", self._start_coredns)

    def _write_pki_and_kubeconfigs(self) -> None:
        super()._write_pki_and_kubeconfigs()
        assert self._ca is not None
        # kube-apiserver's identity towards the kubelet (logs, exec, port-forward).
        self._ca.issue_client("kube-apiserver-kubelet-client", ["system:masters"]).write(self._pki, "kubelet-client")
        self.apiserver_args = [
            f"--kubelet-client-certificate={self._pki / 'kubelet-client.crt'}",
            f"--kubelet-client-key={self._pki / 'kubelet-client.key'}",
            f"--kubelet-certificate-authority={self._pki / 'ca.crt'}",
            # The node's name resolves nowhere: reach the kubelet by its address.
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def _stop_processes(self) -> None:
        super()._stop_processes()
        self._cleanup_node()

    # --- network ---------------------------------------------------------------------------------------

    def _create_network(self) -> None:
        step = "node network"
        for key in ("net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward"):
            path = Path("/proc/sys") / key
            if not path.exists() or path.read_text().strip() != "1":
                raise NodeError(step, f"{path} must be 1 (load br_netfilter; sysctl -w {key.replace('/', '.')}=1)")
        _host(step, ["ip", "link", "add", BRIDGE, "type", "bridge"])
        _host(step, ["ip", "addr", "add", f"{NODE_ADDRESS}/24", "dev", BRIDGE])
        _host(step, ["ip", "link", "set", BRIDGE, "up"])
        for cidr in (POD_CIDR, SERVICE_CIDR):
            _host(step, ["ip", "route", "add", "blackhole", cidr, "metric", _BLACKHOLE_METRIC])
        # Host processes (kube-apiserver calling a webhook Service) connect to ClusterIPs: the route
        # lookup happens before kube-proxy's DNAT, so the Service range needs a route, onto the bridge.
        _host(step, ["ip", "route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", NODE_ADDRESS])
        _host(step, ["iptables", "-w", "-N", _CHAIN])
        _host(step, ["iptables", "-w", "-A", _CHAIN, "-s", POD_CIDR, "!", "-d", POD_CIDR, "-j", "DROP"])
        _host(step, ["iptables", "-w", "-I", "FORWARD", "1", "-j", _CHAIN])
        # The bridge address must answer before kube-apiserver binds it.
        deadline = time.monotonic() + 10
        while NODE_ADDRESS not in _host(step, ["ip", "-br", "addr", "show", BRIDGE]):
            if time.monotonic() > deadline:
                raise NodeError(step, f"{BRIDGE} did not get {NODE_ADDRESS}")
            time.sleep(0.1)

    def _cleanup_node(self) -> None:
        """Remove everything a node (this one or a crashed earlier one) left behind; idempotent."""
        # A shim's death leaves its container running: kill the pods' processes by their cgroups.
        _kill_pod_processes()
        self._kill_shims()
        _unmount_below(self.work_dir)
        _host("cleanup", [str(self.node_toolset.kube_proxy), "--cleanup"], check=False)
        _host("cleanup", ["iptables", "-w", "-D", "FORWARD", "-j", _CHAIN], check=False)
        _host("cleanup", ["iptables", "-w", "-F", _CHAIN], check=False)
        _host("cleanup", ["iptables", "-w", "-X", _CHAIN], check=False)
        _remove_kubelet_chains()
        for cidr in (POD_CIDR, SERVICE_CIDR):
            _host("cleanup", ["ip", "route", "del", "blackhole", cidr, "metric", _BLACKHOLE_METRIC], check=False)
        _host("cleanup", ["ip", "link", "del", BRIDGE], check=False)
        _remove_pod_cgroups()

    def _kill_shims(self) -> None:
        """containerd's shims daemonize; stop those serving this node's containerd (by address)."""
        marker = str(self.containerd_socket).encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                cmdline = (proc / "cmdline").read_bytes()
                if b"containerd-shim" in cmdline and marker in cmdline:
                    os.kill(int(proc.name), 9)

    # --- kubeconfigs -----------------------------------------------------------------------------------

    def _write_node_kubeconfigs(self) -> None:
        assert self._ca is not None
        identities = {
            "kubelet": (f"system:node:{NODE_NAME}", ["system:nodes"]),
            "kube-scheduler": ("system:kube-scheduler", []),
            "kube-proxy": ("system:kube-proxy", []),
            "coredns": ("system:coredns", ["system:masters"]),
        }
        for name, (user, groups) in identities.items():
            self._write_cert_kubeconfig(self.node_dir / f"{name}.kubeconfig", name, self._ca.issue_client(user, groups))
        self._ca.issue_server(NODE_NAME, (NODE_ADDRESS, NODE_NAME)).write(self._pki, "kubelet-serving")

    # --- containerd ------------------------------------------------------------------------------------

    def _containerd_config(self) -> str:
        root = self.node_dir / "containerd"
        cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
        return "\n".join(
            [
                "version = 3",
                f'root = "{root / "root"}"',
                f'state = "{root / "state"}"',
                "[grpc]",
                f'  address = "{self.containerd_socket}"',
                "[ttrpc]",
                f'  address = "{self.containerd_socket}.ttrpc"',
                "[plugins.'io.containerd.cri.v1.images']",
                '  snapshotter = "overlayfs"',
                "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
                f'  sandbox = "{versions.PAUSE_IMAGE}"',
                f"[{cri_runtime}]",
                "  enable_selinux = false",
                # Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which the CI machine lacks
                # (the pause sandbox asks for -998): cap every container at containerd's own score.
                "  restrict_oom_score_adj = true",
                # Pod network namespaces under the run directory: `down` finds and unmounts them.
                "  netns_mounts_under_state_dir = true",
                f"[{cri_runtime}.containerd]",
                '  default_runtime_name = "runc"',
                f"[{cri_runtime}.containerd.runtimes.runc]",
                '  runtime_type = "io.containerd.runc.v2"',
                f"[{cri_runtime}.containerd.runtimes.runc.options]",
                f'  BinaryName = "{_RUNC}"',
                "  SystemdCgroup = false",
                f"[{cri_runtime}.cni]",
                f'  bin_dirs = ["{_CNI_BIN_DIR}"]',
                f'  conf_dir = "{self.node_dir / "cni" / "net.d"}"',
                "",
            ]
        )

    def _write_cni_config(self) -> None:
        config = {
            "cniVersion": "1.0.0",
            "name": "socketguard",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_ADDRESS}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.node_dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        directory = self.node_dir / "cni" / "net.d"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "10-socketguard.conflist").write_text(json.dumps(config, indent=2))

    def _start_containerd(self) -> None:
        config = self.node_dir / "containerd.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(self._containerd_config())
        self._write_cni_config()
        env = dict(os.environ)
        # containerd finds its shim on PATH.
        env["PATH"] = os.pathsep.join([str(self.node_toolset.containerd_shim.parent), env.get("PATH", "")])
        process = self._launch([str(self.node_toolset.containerd), "--config", str(config)], "containerd", env=env)
        self._await(process, lambda: self._ctr("version", check=False) is not None)

    def _ctr(self, *args: str, check: bool = True) -> str | None:
        argv = [str(self.node_toolset.ctr), "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
        if result.returncode != 0:
            if check:
                raise NodeError(f"ctr {args[0]}", result.stderr.strip()[-800:])
            return None
        return result.stdout

    def _import_images(self) -> None:
        archives = image_archives()
        if not any(archive.name.startswith("pause.") for archive in archives):
            raise NodeError("images", "no pause image: run `python -m socketguard.testing image build`")
        for archive in archives:
            self._ctr("images", "import", str(archive))

    def import_image(self, archive: Path) -> None:
        """Load one more image archive (``podman save --format docker-archive``) into the node."""
        self._ctr("images", "import", str(archive))

    # --- scheduler, proxy, kubelet ---------------------------------------------------------------------

    def _start_scheduler(self) -> None:
        kubeconfig = self.node_dir / "kube-scheduler.kubeconfig"
        process = self._launch(
            [
                str(self.node_toolset.kube_scheduler),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self._node_ports['scheduler']}",
                "--leader-elect=false",
            ],
            "kube-scheduler",
        )
        context = ssl.create_default_context()
        # Its serving certificate is self-signed; only liveness is checked here.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        url = f"https://127.0.0.1:{self._node_ports['scheduler']}/healthz"
        self._await(process, lambda: _https_ok(url, context))

    def _start_kube_proxy(self) -> None:
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.node_dir / "kube-proxy.kubeconfig")},
            "mode": "iptables",
            "hostnameOverride": NODE_NAME,
            "clusterCIDR": POD_CIDR,
            "bindAddress": NODE_ADDRESS,
            "healthzBindAddress": f"127.0.0.1:{self._node_ports['proxy-health']}",
            "metricsBindAddress": f"127.0.0.1:{self._node_ports['proxy-metrics']}",
            "nodePortAddresses": [f"{NODE_ADDRESS}/32"],
            # Leave the kernel's conntrack settings alone: a sandbox cannot change them.
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
            "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        }
        path = self.node_dir / "kube-proxy.yaml"
        path.write_text(yaml.safe_dump(config))
        process = self._launch([str(self.node_toolset.kube_proxy), f"--config={path}"], "kube-proxy")
        # 200 once the first sync wrote the iptables rules.
        url = f"http://127.0.0.1:{self._node_ports['proxy-health']}/healthz"
        self._await(process, lambda: _http_ok(url))

    def _kubelet_config(self) -> dict[str, Any]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "address": NODE_ADDRESS,
            "port": self._node_ports["kubelet"],
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": self._node_ports["kubelet-healthz"],
            "tlsCertFile": str(self._pki / "kubelet-serving.crt"),
            "tlsPrivateKeyFile": str(self._pki / "kubelet-serving.key"),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.ca_file)},
            },
            "authorization": {"mode": "Webhook"},
            "clusterDomain": "cluster.local",
            "clusterDNS": [CLUSTER_DNS],
            "resolvConf": "",
            "failSwapOn": False,
            "podLogsDir": str(self.node_dir / "pod-logs"),
            # A nearly full shared disk must neither evict the test pods nor delete their images.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "evictionPressureTransitionPeriod": "5s",
            "serializeImagePulls": False,
            "registerNode": True,
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
        }

    def _start_kubelet(self) -> None:
        config = self.node_dir / "kubelet.yaml"
        config.write_text(yaml.safe_dump(self._kubelet_config()))
        process = self._launch(
            [
                str(self.node_toolset.kubelet),
                f"--config={config}",
                f"--kubeconfig={self.node_dir / 'kubelet.kubeconfig'}",
                f"--root-dir={self.node_dir / 'kubelet'}",
                f"--cert-dir={self.node_dir / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_ADDRESS}",
            ],
            "kubelet",
        )
        deadline = time.monotonic() + _NODE_READY_TIMEOUT
        while not self._node_ready():
            code = process.exit_code()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with {code}" if code is not None else f"node not Ready after {_NODE_READY_TIMEOUT:.0f} s"
                raise NodeError("kubelet", f"{why}; log {process.log_path}:\n{process.tail(30)}")
            time.sleep(1)

    def _node_ready(self) -> bool:
        try:
            node = self._api_request("GET", f"/api/v1/nodes/{NODE_NAME}")
        except ControlPlaneError:
            return False
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )

    # --- cluster DNS -----------------------------------------------------------------------------------

    def _start_coredns(self) -> None:
        port, ready_port = 53, free_port()
        corefile = self.node_dir / "Corefile"
        corefile.write_text(
            "\n".join(
                [
                    f".:{port} {{",
                    f"    bind {NODE_ADDRESS}",
                    "    errors",
                    f"    health 127.0.0.1:{free_port()}",
                    f"    ready 127.0.0.1:{ready_port}",
                    "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
                    f"        kubeconfig {self.node_dir / 'coredns.kubeconfig'} coredns",
                    "        pods insecure",
                    "        fallthrough in-addr.arpa ip6.arpa",
                    "    }",
                    "    cache 5",
                    "    loadbalance",
                    "}",
                    "",
                ]
            )
        )
        process = self._launch([str(self.node_toolset.coredns), "-conf", str(corefile)], "coredns")
        self._await(process, lambda: _http_ok(f"http://127.0.0.1:{ready_port}/ready"))
        self._api_request("POST", "/api/v1/namespaces/kube-system/services", json.dumps(_dns_service()).encode())
        self._api_request(
            "POST",
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            json.dumps(_dns_endpoint_slice(port)).encode(),
        )

    def state(self) -> dict[str, Any]:
        state = super().state()
        state["node"] = {"name": NODE_NAME, "address": NODE_ADDRESS, "pod_cidr": POD_CIDR, "dns": CLUSTER_DNS}
        return state


def _http_ok(url: str) -> bool:
    try:
        with _opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _dns_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "clusterIP": CLUSTER_DNS,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            ],
        },
    }


def _dns_endpoint_slice(port: int) -> dict[str, Any]:
    """CoreDNS runs on the host, so its Service has a hand-made EndpointSlice (no selector)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-host",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": "socketguard",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [NODE_ADDRESS], "conditions": {"ready": True}}],
        "ports": [
            {"name": "dns", "port": port, "protocol": "UDP"},
            {"name": "dns-tcp", "port": port, "protocol": "TCP"},
        ],
    }


def _unmount_below(directory: Path) -> None:
    """Unmount every mount point under ``directory`` (pod volumes, netns, overlay rootfs), deepest first."""
    prefix = str(directory.resolve()) + "/"
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                mounts.append(point)
    for point in sorted(set(mounts), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def _pod_cgroup_roots() -> list[Path]:
    return [root for root in Path("/sys/fs/cgroup").glob("*/kubepods") if root.is_dir()]


def _kill_pod_processes() -> None:
    for root in _pod_cgroup_roots():
        for procs in root.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                for pid in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), 9)
    time.sleep(0.5)


def _remove_kubelet_chains() -> None:
    """kube-proxy --cleanup removes its own chains; the kubelet's (KUBE-FIREWALL, canaries) stay.

    No other Kubernetes node runs on the machine, so every remaining ``KUBE-`` chain is this node's.
    """
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = _host("cleanup", [tool, "-w", "-t", table, "-S"], check=False).splitlines()
            for rule in rules:
                parts = shlex.split(rule)
                jumps_to_kube = "-j" in parts and parts[parts.index("-j") + 1].startswith("KUBE-")
                if parts[:1] == ["-A"] and jumps_to_kube and not parts[1].startswith("KUBE-"):
                    _host("cleanup", [tool, "-w", "-t", table, "-D", *parts[1:]], check=False)
            chains = [rule.split()[1] for rule in rules if rule.startswith("-N KUBE-")]
            for chain in chains:
                _host("cleanup", [tool, "-w", "-t", table, "-F", chain], check=False)
            for chain in chains:
                _host("cleanup", [tool, "-w", "-t", table, "-X", chain], check=False)


def _remove_pod_cgroups() -> None:
    """The kubelet's cgroupfs hierarchy (``kubepods``) in every v1 controller, leaves first."""
    for root in _pod_cgroup_roots():
        for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()
