"""A namespace whose results do not fit one PolicyReport, against the real API server and etcd.

A dozen VirtualServices with 64 rules each, every rule's prefix long and its rewrite wrong, give
768 SG102 results of about 2.6 KB: about 2 MB, which etcd refuses as one object (its default
limit is 1.5 MiB). The operator runs with its default report size.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sg_objects import route, server, service
from sg_operator import OperatorProcess, fresh, fresh_evaluations, get_json, operator_kubeconfig, settled

from socketguard.cluster.kube import Kube, KubeError, load_configuration
from socketguard.controller.reports import refused_as_too_large
from socketguard.controller.shards import REPORT_BYTES, is_shard_name, list_bytes, result_bytes
from socketguard.controller.verdict import pass_result, result_key, summary
from socketguard.controller.writers import MANAGED_SELECTOR, REPORT_KINDS, SHARDS_ANNOTATION, Writers
from socketguard.engine.objects import ObjectRef
from socketguard.testing import Cluster, wait_for

pytestmark = pytest.mark.e2e

ROUTES = 12
RULES = 64
ETCD_LIMIT = 1536 * 1024  # etcd's default --max-request-bytes
Seen = tuple[tuple[str, str, str, str], str, str]  # result key, outcome, message


def long_route(name: str, ns: str) -> dict[str, Any]:
    """A VirtualService whose every rule is a socket route to `server` with the wrong rewrite."""
    body = route(name, ns, host=f"{name}.example.com", backend="server")
    template = body["spec"]["http"][0]
    body["spec"]["http"] = [{**template, "match": [{"uri": {"prefix": f"/{'p' * 1700}{i}/socket.io/"}}],
                             "rewrite": {"uri": "/wrong/"}} for i in range(RULES)]
    return body


def reports(cluster: Cluster, ns: str) -> list[dict[str, Any]]:
    found = get_json(cluster, "policyreports.wgpolicyk8s.io", "-n", ns, "-l", MANAGED_SELECTOR)
    return list(found.get("items") or [])


def seen(result: dict[str, Any]) -> Seen:
    return result_key(result), str(result["result"]), str(result["message"])


def shown(cluster: Cluster, ns: str) -> Counter[Seen]:
    return Counter(seen(r) for report in reports(cluster, ns) for r in report.get("results") or [])


def wanted(cluster: Cluster, ns: str) -> Counter[Seen]:
    """What a freshly started operator would report: its own bookkeeping over a fresh evaluation."""
    sg, evaluations = fresh_evaluations(cluster, ns)
    for evaluation in evaluations:
        sg.reports.record(evaluation)
    return Counter(seen(r) for by_key in sg.reports.results[ns].values() for r in by_key.values())


def converged(cluster: Cluster, ns: str) -> bool:
    return shown(cluster, ns) == wanted(cluster, ns)


def test_a_namespace_too_large_for_one_report_is_split_and_cleaned_up(
        control_plane: Cluster, kube_namespace: str, tmp_path: Path) -> None:
    ns = kube_namespace
    kubeconfig = operator_kubeconfig(control_plane)
    control_plane.apply(fresh(server("server", ns, path="/socket.io/"), service("server", ns),
                              *(long_route(f"route-{i:02d}", ns) for i in range(ROUTES))))
    operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
    try:
        wait_for(lambda: converged(control_plane, ns), timeout=240, interval=2.0,
                 what=f"every result in the namespace's reports (log {operator.log_path})")
        found = reports(control_plane, ns)
        results = [r for report in found for r in report["results"]]
        assert Counter(r["policy"] for r in results)["SG102"] == ROUTES * RULES
        assert list_bytes(results) > ETCD_LIMIT  # one report would not fit
        assert len(found) > 1
        for report in found:
            meta = report["metadata"]
            assert is_shard_name(meta["name"])
            assert meta["labels"] == {"app.kubernetes.io/managed-by": "socketguard"}
            assert int(meta["annotations"][SHARDS_ANNOTATION]) >= len(found)
            assert report["summary"] == summary(report["results"])
            assert list_bytes(report["results"]) <= REPORT_BYTES
        assert "refused as too large" not in operator.log()
        unsplit = {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
                   "metadata": {"name": "unsplit", "namespace": ns}, "results": results}
        refusal = control_plane.kubectl("create", "-f", "-", stdin=json.dumps(unsplit), check=False)
        assert refusal.returncode != 0, "the API server took a report of every result"
        assert "too large" in refusal.stderr or "larger than max" in refusal.stderr, refusal.stderr[-500:]
        print(f"\n{len(found)} reports; results as one list: {list_bytes(results)} bytes; refused: {refusal.stderr}")

        # Restarted, the operator reads the reports back as they are: nothing to write.
        settled(operator, 5.0)
        operator.stop()
        operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
        assert settled(operator, 5.0) == 0

        # Most routes go: the reports no longer needed are deleted, the rest hold what is left.
        control_plane.kubectl("delete", "virtualservices.networking.istio.io", "-n", ns,
                              *(f"route-{i:02d}" for i in range(2, ROUTES)))
        wait_for(lambda: [r["metadata"]["name"] for r in reports(control_plane, ns)] == ["socketguard"]
                 and converged(control_plane, ns), timeout=120, interval=2.0, what="one report left")
    finally:
        operator.stop()

    # Cleanup removes every report.
    operator.cleanup()
    assert reports(control_plane, ns) == []


def test_the_fullest_report_the_default_size_allows_is_accepted(control_plane: Cluster, kube_namespace: str) -> None:
    """Created, then replaced by a merge patch: both at the most `REPORT_BYTES` lets a report hold."""
    ns = kube_namespace
    kind = REPORT_KINDS[0]

    def full(message: str) -> list[dict[str, Any]]:
        """Results of one size, as many as a report holds: one more would not fit."""
        results: list[dict[str, Any]] = []
        size = 1
        while True:
            result = pass_result(ObjectRef("apps/v1", "Deployment", ns, f"server-{len(results):05d}"),
                                 "0" * 36, 1_700_000_000, message=message)
            size += result_bytes(result)
            if size > REPORT_BYTES:
                return results
            results.append(result)

    async def write_twice() -> dict[str, Any]:
        kube = Kube(load_configuration(str(control_plane.kubeconfig)))
        writers = Writers(kube, "test")
        try:
            first = full("a" * 1500)
            await writers.write_report(kind, ns, "socketguard", first, 1, exists=False)
            second = full("b<" * 900)
            await writers.write_report(kind, ns, "socketguard", second, 1, exists=True)
            return {"full": (first, second), "written": second}
        finally:
            await kube.close()

    outcome = asyncio.run(write_twice())
    for results in outcome["full"]:
        assert list_bytes(results) <= REPORT_BYTES < list_bytes([*results, results[-1]])
    stored = get_json(control_plane, "policyreports.wgpolicyk8s.io", "socketguard", "-n", ns)
    assert stored["results"] == outcome["written"]
    assert len(json.dumps(stored, separators=(",", ":"))) < ETCD_LIMIT


def test_a_report_etcd_refuses_is_recognised(control_plane: Cluster, kube_namespace: str) -> None:
    """What the operator no longer sends, and would not retry: etcd's and the API server's refusals."""
    ns = kube_namespace
    result = pass_result(ObjectRef("apps/v1", "Deployment", ns, "server"), None, 1, message="x" * 1500)
    too_many = ETCD_LIMIT // result_bytes(result) + 10

    async def refusal() -> BaseException | None:
        kube = Kube(load_configuration(str(control_plane.kubeconfig)))
        try:
            await Writers(kube, "test").write_report(REPORT_KINDS[0], ns, "socketguard", [result] * too_many, 1,
                                                     exists=False)
        except KubeError as error:
            return error
        finally:
            await kube.close()
        return None

    error = asyncio.run(refusal())
    assert error is not None and refused_as_too_large(error), error
