"""Runs `python -m socketguard operator` as a subprocess with a ServiceAccount bound to rbac.yaml."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import Configuration

from socketguard.cluster.feed import Feed
from socketguard.cluster.kube import Kube
from socketguard.controller.evaluate import Evaluation
from socketguard.controller.reconciler import Reconciler
from socketguard.controller.writers import Writers
from socketguard.testing import Cluster, ControlPlane, find_toolset, free_port, wait_for

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "operator"
CONTROLLER_DIR = PACKAGE_DIR / "socketguard" / "controller"
RBAC_FILE = CONTROLLER_DIR / "rbac.yaml"
PEERING_CRDS = CONTROLLER_DIR / "peering-crds.yaml"
PEERING = CONTROLLER_DIR / "peering.yaml"
OPERATOR_NAMESPACE = "socketguard-system"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def own_control_plane(run_dir: Path, **options: Any) -> Iterator[ControlPlane]:
    """A control plane of the test's own (one it restarts, or without the session's peering CRDs)."""
    toolset = find_toolset()
    if toolset is None:
        pytest.fail("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    with ControlPlane(run_dir=run_dir, toolset=toolset, controller_manager=False, **options) as plane:
        yield plane


def operator_kubeconfig(cluster: Cluster, *, peering: bool = True) -> Path:
    """A kubeconfig for a ServiceAccount that has exactly the operator's ClusterRole; with
    `peering`, kopf's peering CRDs and object are installed as the chart does."""
    role = yaml.safe_load(RBAC_FILE.read_text())
    cluster.apply(role)
    if peering:
        install_peering(cluster)
    return cluster.service_account_kubeconfig(OPERATOR_NAMESPACE, "socketguard-operator",
                                              cluster_roles=[role["metadata"]["name"]])


def install_peering(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", str(PEERING_CRDS))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(PEERING_CRDS), timeout=90)
    cluster.kubectl("apply", "-f", str(PEERING))


class OperatorProcess:
    def __init__(self, kubeconfig: Path, log_dir: Path, *extra: str) -> None:
        self.kubeconfig = kubeconfig
        self.port = free_port()
        self.log_path = log_dir / f"operator-{self.port}.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "socketguard", "operator", "--kubeconfig", str(self.kubeconfig), *args]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR), os.environ.get("PYTHONPATH", "")])}

    def start(self) -> OperatorProcess:
        self.launch()
        try:
            wait_for(self.ready, timeout=90, what=f"operator ready (log {self.log_path})")
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> OperatorProcess:
        """Starts the process without waiting for readiness (a standby replica never gets ready)."""
        args = ["--health-host", "127.0.0.1", "--health-port", str(self.port), *self.extra]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(*args), stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env())
        try:
            wait_for(self.serving, timeout=60, what=f"operator endpoints up (log {self.log_path})")
        except BaseException:
            self.stop()
            raise
        return self

    def serving(self) -> bool:
        try:
            self.metrics()
        except OSError:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"operator exited with {self.process.returncode}:\n{self.log()}") from None
            return False
        return True

    def ready(self) -> bool:
        return self.readyz()[0] == 200

    def readyz(self) -> tuple[int, str]:
        """Status and body of /readyz (0 when it does not answer)."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"operator exited with {self.process.returncode}:\n{self.log()}")
        try:
            with _OPENER.open(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()
        except OSError:
            return 0, ""

    def metrics(self) -> dict[str, float]:
        """Sums of the operator's own counters by metric name (labels summed)."""
        with _OPENER.open(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        sums: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("socketguard_") and " " in line:
                name = line.split("{", 1)[0].split(" ", 1)[0]
                sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return sums

    def writes(self) -> float:
        return self.metrics().get("socketguard_api_writes_total", 0.0)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cleanup(self) -> str:
        result = subprocess.run(self.command("--cleanup", "--log-format", "plain"), capture_output=True, text=True,
                                env=self.env(), timeout=120, check=True)
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


def settled(process: OperatorProcess, seconds: float = 3.0) -> float:
    """Waits until the operator made no write for `seconds`; returns its write count."""
    last, since = process.writes(), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.5)
        if (now := process.writes()) != last:
            last, since = now, time.monotonic()
    return last


def get_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def condition(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    body = get_json(cluster, kind, name, "-n", namespace)
    for item in (body.get("status") or {}).get("conditions") or []:
        if item.get("type") == "SocketRouteReady":
            return dict(item)
    return None


def events(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    found = get_json(cluster, "events", "-n", namespace, "-l", "app.kubernetes.io/managed-by=socketguard")
    return list(found.get("items") or [])


def report_results(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    result = cluster.kubectl("get", "policyreports.wgpolicyk8s.io", "socketguard", "-n", namespace, "-o", "json",
                             check=False)
    if result.returncode != 0:
        return []
    return list(json.loads(result.stdout).get("results") or [])


# -- after a fault: the cluster against a fresh analysis -------------------------------------------
KINDS = ("deployments,statefulsets,services,horizontalpodautoscalers,virtualservices.networking.istio.io,"
         "destinationrules.networking.istio.io,gateways.networking.istio.io")
ISTIO = {"virtualservices.networking.istio.io": ("networking.istio.io", "VirtualService")}


def fresh(*objects: dict[str, Any]) -> list[dict[str, Any]]:
    for obj in objects:
        for key in ("uid", "generation"):
            obj["metadata"].pop(key, None)
    return list(objects)


def fresh_evaluations(plane: Cluster, ns: str) -> tuple[Reconciler, list[Evaluation]]:
    """A freshly started operator's evaluations (its own, never started) of everything the
    namespace holds now."""
    feed = Feed()
    feed.crds.update(ISTIO)
    for body in get_json(plane, KINDS, "-n", ns)["items"]:
        feed.apply(body)
    kube = Kube(Configuration())
    sg = Reconciler(feed, kube, Writers(kube, "oracle"))
    units = sg.evaluator.units({entry.ref for entry in feed.inventory.entries()})
    return sg, [sg.evaluator.evaluate(unit) for unit in units]


def wanted_conditions(plane: Cluster, ns: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(kind, name) -> (status, reason, message) that a freshly started operator would write."""
    _, evaluations = fresh_evaluations(plane, ns)
    conditions = {ref: c for evaluation in evaluations for ref, c in evaluation.conditions.items()}
    return {(ref.kind, ref.name): (c.status, c.reason, c.message) for ref, c in conditions.items()}


def shown_conditions(plane: Cluster, ns: str) -> dict[tuple[str, str], dict[str, Any]]:
    shown = {}
    for body in get_json(plane, KINDS, "-n", ns)["items"]:
        for item in (body.get("status") or {}).get("conditions") or []:
            if item.get("type") == "SocketRouteReady":
                shown[(body["kind"], body["metadata"]["name"])] = item
    return shown


def difference(plane: Cluster, ns: str) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(kind, name) -> (shown, wanted) wherever the cluster's condition is not the fresh verdict."""
    shown = {key: (c["status"], c["reason"], c["message"]) for key, c in shown_conditions(plane, ns).items()}
    wanted = wanted_conditions(plane, ns)
    return {key: (shown.get(key), wanted.get(key)) for key in shown.keys() | wanted.keys()
            if shown.get(key) != wanted.get(key)}


def converge(plane: Cluster, ns: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while (left := difference(plane, ns)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not left, f"{what}: conditions that differ from a fresh analysis (shown, wanted): {left}"


def posted_twice(plane: Cluster, ns: str) -> list[tuple[str, ...]]:
    keys = Counter((e["reason"], e["involvedObject"]["kind"], e["involvedObject"]["name"], e["involvedObject"]["uid"],
                    ((e["metadata"].get("annotations") or {}).get("socketguard.io/finding") or e["message"]))
                   for e in events(plane, ns))
    return [key for key, count in keys.items() if count > 1]
