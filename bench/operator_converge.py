"""Operator convergence: N server/route pairs; time until every condition is written, memory beside it.

    python bench/operator_converge.py [--pairs 1000] [--broken-every 0] [--quiet 30] [--restart]
                                      [--existing [--namespace NS]] [--no-controller-manager]

Starts a control plane with the harness (or uses $SOCKETGUARD_TEST_KUBECONFIG), runs
`socketguard operator` as a ServiceAccount bound to rbac.yaml, with N Deployment + Service +
VirtualService triples in one namespace. Two ways:

- default: the operator runs while the triples are created; time until all 2N conditions (server
  and route) are written, from the first create and after the last one (on a loaded machine
  creating the objects dominates the first);
- `--existing`: the triples exist first (created untimed, or reused from `--namespace` with our
  conditions removed); the operator starts over them: time until ready and until every condition
  is written, which does not time the control plane's object creation.

Then: API writes per pair (from the operator's metrics), evaluations, the writes during a quiet
period (target 0), and the operator's resident memory (from /proc) when converged, after the
quiet period (steady state) and its peak. With `--restart`, a new operator then starts over the
converged cluster: time until ready, its writes (target 0) and memory, whose peak the chart's
limit must hold. The load averages before and after say how busy the shared machine was.
Targets: < 60 s for 1000 pairs, at most one status write per object per change; at 10,000 pairs
(30,000 objects) full convergence < 5 min and steady-state memory < 300 MiB.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "operator"), str(ROOT / "tests" / "operator"), str(ROOT / "bench")]

from procmem import memory_mib  # noqa: E402
from sg_objects import route, server, service  # noqa: E402
from sg_operator import OperatorProcess, operator_kubeconfig  # noqa: E402

from socketguard.testing import Cluster, ControlPlane, find_toolset, wait_for  # noqa: E402


def pair(index: int, namespace: str, broken: bool) -> list[dict[str, Any]]:
    name = f"srv-{index:05d}"
    objects = [server(name, namespace, path="/ws" if broken else None), service(name, namespace),
               route(name, namespace)]
    for obj in objects:
        obj["metadata"].pop("uid", None)
        obj["metadata"].pop("generation", None)
    # Headless: a test control plane's Service range (/24) has no room for 1,000 cluster IPs.
    objects[1]["spec"]["clusterIP"] = "None"
    return objects


def create(cluster: Cluster, objects: list[dict[str, Any]], workers: int = 12) -> None:
    """POSTs every object from a bounded pool of threads over kept-alive connections (loopback):
    one `kubectl create` after another spends most of its time starting kubectl."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=configuration)
    configuration.connection_pool_maxsize = workers
    api = k8s_client.ApiClient(configuration)
    apps, core, custom = k8s_client.AppsV1Api(api), k8s_client.CoreV1Api(api), k8s_client.CustomObjectsApi(api)
    posts = {
        "Deployment": lambda ns, obj: apps.create_namespaced_deployment(ns, obj, _preload_content=False),
        "Service": lambda ns, obj: core.create_namespaced_service(ns, obj, _preload_content=False),
        "VirtualService": lambda ns, obj: custom.create_namespaced_custom_object(
            "networking.istio.io", "v1", ns, "virtualservices", obj, _preload_content=False),
    }

    def post(obj: dict[str, Any]) -> None:
        posts[obj["kind"]](obj["metadata"]["namespace"], obj)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for done in pool.map(post, objects):
            del done
    api.close()


def condition_writes(operator: OperatorProcess) -> float:
    with_labels = operator.metrics_text()
    total = 0.0
    for line in with_labels.splitlines():
        if line.startswith('socketguard_writes_total{what="condition"}'):
            total += float(line.rsplit(" ", 1)[1])
    return total


def responsive_condition_writes(operator: OperatorProcess) -> float:
    """The count, or 0 while a long evaluation keeps the operator from answering."""
    try:
        return condition_writes(operator)
    except OSError:
        return 0.0


class BenchOperator(OperatorProcess):
    def metrics_text(self) -> str:
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as response:
            return str(response.read().decode())


def run(cluster: Cluster, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    kubeconfig = operator_kubeconfig(cluster)
    namespace = args.namespace or f"bench-{int(time.time())}"
    figures: dict[str, Any] = {"pairs": args.pairs, "objects": 3 * args.pairs, "load_before": load()}
    if args.existing:
        figures |= over_existing(cluster, kubeconfig, namespace, args, work)
    else:
        figures |= while_creating(cluster, kubeconfig, namespace, args, work)
    if args.restart:
        figures |= restarted(kubeconfig, work, args)
    figures["deployments_with_condition"] = with_condition(cluster, namespace)
    figures["load_after"] = load()
    return figures


def load() -> str:
    """The machine's load averages (1, 5, 15 min): the bench shares two cores with everything."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def objects_of(namespace: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [obj for i in range(args.pairs)
            for obj in pair(i, namespace, bool(args.broken_every) and i % args.broken_every == 0)]


def while_creating(cluster: Cluster, kubeconfig: Path, namespace: str, args: argparse.Namespace,
                   work: Path) -> dict[str, Any]:
    """The operator runs while the objects are created: convergence from the first create and after
    the last one (on a loaded machine, creating the objects dominates the first figure)."""
    cluster.create_namespace(namespace)
    operator = BenchOperator(kubeconfig, work, "--standalone", "--log-format", "plain").start()
    try:
        writes_before = operator.writes()
        began = time.monotonic()
        create(cluster, objects_of(namespace, args))
        created = time.monotonic() - began
        converged = until_conditions(operator, 2 * args.pairs, began, args) - began
        return {"create_seconds": round(created, 1), "converge_seconds": round(converged, 1),
                "converge_after_last_create_seconds": round(converged - created, 1),
                **settled(operator, writes_before, args)}
    finally:
        operator.stop()


def over_existing(cluster: Cluster, kubeconfig: Path, namespace: str, args: argparse.Namespace,
                  work: Path) -> dict[str, Any]:
    """The objects exist first, without conditions (created now, or reused with `--namespace`
    after removing ours); then the operator starts: its time to ready, and until every condition
    is written. The control plane's object creation is not timed."""
    figures: dict[str, Any] = {}
    if args.namespace and existing_deployments(cluster, namespace) == args.pairs:
        began = time.monotonic()
        cleaner = BenchOperator(kubeconfig, work)
        subprocess.run(cleaner.command("--cleanup", "--log-format", "plain"), capture_output=True, check=True,
                       timeout=args.timeout, env=cleaner.env())
        figures["cleanup_seconds"] = round(time.monotonic() - began, 1)
    else:
        cluster.create_namespace(namespace)
        began = time.monotonic()
        create(cluster, objects_of(namespace, args))
        figures["create_seconds"] = round(time.monotonic() - began, 1)
    began = time.monotonic()
    operator = launched(kubeconfig, work)
    try:
        ready = until_ready(operator, began, args)
        converged = until_conditions(operator, 2 * args.pairs, began, args) - began
        return {**figures, "ready_seconds": round(ready, 1), "converge_seconds": round(converged, 1),
                **settled(operator, 0.0, args)}
    finally:
        operator.stop()


def launched(kubeconfig: Path, work: Path) -> BenchOperator:
    """A single operator replica, started without waiting for it to be ready."""
    operator = BenchOperator(kubeconfig, work, "--standalone", "--log-format", "plain")
    operator.launch()
    return operator


def until_ready(operator: BenchOperator, began: float, args: argparse.Namespace) -> float:
    """Seconds from `began` until the operator's /readyz answers 200."""
    wait_for(operator.ready, timeout=args.timeout, interval=0.5, what="operator ready")
    return time.monotonic() - began


def until_conditions(operator: BenchOperator, target: int, began: float, args: argparse.Namespace) -> float:
    """The moment the operator has written `target` conditions."""
    while responsive_condition_writes(operator) < target:
        if time.monotonic() - began > args.timeout:
            raise SystemExit(f"not converged after {args.timeout} s: {condition_writes(operator)}/{target}")
        time.sleep(0.5)
    return time.monotonic()


def settled(operator: BenchOperator, writes_before: float, args: argparse.Namespace) -> dict[str, Any]:
    """Writes, evaluations and memory once converged; writes during a quiet period (target 0)."""
    time.sleep(3)  # Events and reports follow the conditions
    writes = operator.writes() - writes_before
    metrics = operator.metrics()
    converged_rss, _ = memory(operator)
    quiet_start = operator.writes()
    time.sleep(args.quiet)
    steady_rss, peak_rss = memory(operator)
    by_purpose = {line.split('"')[1]: float(line.rsplit(" ", 1)[1])
                  for line in operator.metrics_text().splitlines()
                  if line.startswith("socketguard_writes_total{")}
    return {"api_writes": writes, "api_writes_per_pair": round(writes / args.pairs, 2),
            "evaluations": metrics.get("socketguard_evaluations_total", 0), "writes_by_purpose": by_purpose,
            "quiet_seconds": args.quiet, "writes_while_quiet": operator.writes() - quiet_start,
            "rss_converged_mib": round(converged_rss), "rss_steady_mib": round(steady_rss),
            "rss_peak_mib": round(peak_rss)}


def memory(operator: BenchOperator) -> tuple[float, float]:
    assert operator.process is not None
    return memory_mib(operator.process.pid)


def existing_deployments(cluster: Cluster, namespace: str) -> int:
    found = cluster.kubectl("get", "deployments", "-n", namespace, "-o", "name", check=False, timeout=300)
    return len(found.stdout.split()) if found.returncode == 0 else 0


def with_condition(cluster: Cluster, namespace: str) -> int:
    deployments = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json",
                                             timeout=300).stdout)["items"]
    return sum(1 for d in deployments if any(c.get("type") == "SocketRouteReady"
                                             for c in d.get("status", {}).get("conditions", [])))


def restarted(kubeconfig: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A new operator over the converged cluster (a restart, an OOM kill): it lists every object at
    once, which is its memory peak; it has nothing to write."""
    began = time.monotonic()
    operator = launched(kubeconfig, work)
    try:
        ready = until_ready(operator, began, args)
        ready_rss, _ = memory(operator)
        writes = operator.writes()
        time.sleep(args.quiet)
        steady_rss, peak_rss = memory(operator)
        return {"restart_ready_seconds": round(ready, 1), "restart_writes": writes,
                "restart_writes_while_quiet": operator.writes() - writes, "restart_rss_ready_mib": round(ready_rss),
                "restart_rss_steady_mib": round(steady_rss), "restart_rss_peak_mib": round(peak_rss)}
    finally:
        operator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--broken-every", type=int, default=0, help="every Nth pair has a path mismatch")
    parser.add_argument("--quiet", type=float, default=30.0, help="seconds of steady state to count writes in")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--existing", action="store_true",
                        help="create the objects first, then start the operator over them")
    parser.add_argument("--namespace", help="with --existing: reuse the objects of this namespace if it has them "
                                            "(our conditions removed first), else create them there")
    parser.add_argument("--restart", action="store_true",
                        help="then restart the operator over the converged cluster: ready time and memory")
    parser.add_argument("--no-controller-manager", action="store_true",
                        help="no ReplicaSets, Pods or Deployment status: the API server only creates what is asked")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sg-bench-operator-"))
    existing = os.environ.get("SOCKETGUARD_TEST_KUBECONFIG")
    if existing:
        toolset = find_toolset()
        cluster = Cluster(Path(existing), kubectl=toolset.kubectl if toolset else "kubectl", work_dir=work)
        result = run(cluster, args, work)
    else:
        with ControlPlane(run_dir=work / "cp", controller_manager=not args.no_controller_manager) as plane:
            result = run(plane, args, work)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
