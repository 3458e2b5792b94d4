"""The operator against a real control plane, as a ServiceAccount bound to rbac.yaml."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sg_objects import mageagent, route, server, service
from sg_operator import (
    OperatorProcess,
    condition,
    events,
    get_json,
    operator_kubeconfig,
    report_results,
    settled,
)

from socketguard.testing import Cluster, ControlPlane, find_toolset, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kubeconfig(control_plane: Cluster) -> Path:
    return operator_kubeconfig(control_plane)


@pytest.fixture
def operator(kubeconfig: Path, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
    yield process
    process.stop()


def test_broken_route_then_fix_then_quiet_then_restart(
        control_plane: Cluster, kube_namespace: str, operator: OperatorProcess, kubeconfig: Path,
        tmp_path: Path) -> None:
    ns = kube_namespace
    began = time.monotonic()
    control_plane.apply(mageagent("broken", ns))

    # The verdict on the server and its route, as `kubectl describe` shows it.
    wait_for(lambda: (condition(control_plane, "deployment", ns, "mageagent") or {}).get("status") == "False",
             timeout=30, what="Deployment condition False")
    print(f"\nbroken example to condition written: {time.monotonic() - began:.1f} s")
    described = control_plane.kubectl("describe", "deployment", "mageagent", "-n", ns).stdout
    assert re.search(r"SocketRouteReady\s+False\s+SocketPathMismatch", described), described
    ours = condition(control_plane, "deployment", ns, "mageagent")
    assert ours is not None and "rewrite: {uri: /socket.io/}" in ours["message"]
    route_condition = wait_for(lambda: condition(control_plane, "virtualservice", ns, "adverant"),
                               timeout=30, what="VirtualService condition")
    assert (route_condition["status"], route_condition["reason"]) == ("False", "SocketPathMismatch")
    assert route_condition["observedGeneration"] == 1

    warnings = wait_for(lambda: [e for e in events(control_plane, ns) if e["type"] == "Warning"
                                 and e["reason"] == "SocketPathMismatch"], timeout=30, what="Warning Events")
    assert sorted(e["involvedObject"]["kind"] for e in warnings) == ["Deployment", "VirtualService"]
    assert all("Fix:" in e["message"] for e in warnings)
    assert re.search(r"Warning\s+SocketPathMismatch", described) or "SocketPathMismatch" in \
        control_plane.kubectl("describe", "deployment", "mageagent", "-n", ns).stdout

    results = wait_for(lambda: report_results(control_plane, ns), timeout=30, what="PolicyReport")
    assert [r["result"] for r in results if r["policy"] == "SG102"] == ["fail"]

    # The Deployment controller's own conditions survive our writes, and nothing of kopf's is left.
    deployment = wait_for(lambda: _with_condition(control_plane, ns, "Progressing"), timeout=60,
                          what="Deployment controller's Progressing condition")
    types = {c["type"] for c in deployment["status"]["conditions"]}
    assert {"SocketRouteReady", "Progressing"} <= types
    for body in (deployment, get_json(control_plane, "virtualservice", "adverant", "-n", ns)):
        assert not body["metadata"].get("finalizers")
        assert not [k for k in body["metadata"].get("annotations") or {} if "kopf" in k]

    # Fix the route: True, a Normal Event, a passing report.
    control_plane.apply(mageagent("fixed-by-rewrite", ns, files=("virtualservice.yaml",)))
    wait_for(lambda: (condition(control_plane, "virtualservice", ns, "adverant") or {}).get("status") == "True",
             timeout=30, what="VirtualService condition True")
    wait_for(lambda: (condition(control_plane, "deployment", ns, "mageagent") or {}).get("status") == "True",
             timeout=30, what="Deployment condition True")
    assert re.search(r"SocketRouteReady\s+True\s+SocketRouteOK",
                     control_plane.kubectl("describe", "deployment", "mageagent", "-n", ns).stdout)
    wait_for(lambda: [e for e in events(control_plane, ns) if e["reason"] == "SocketRouteOK"], timeout=30,
             what="Normal SocketRouteOK Event")
    results = wait_for(lambda: [r for r in report_results(control_plane, ns)
                                if r["policy"] == "SG102" and r["result"] == "pass"], timeout=30,
                       what="SG102 result passing")
    assert results
    # The route is clean; the server still has the example's event mismatches (SG501 warnings).
    assert any(r["result"] == "pass" and r["policy"] == "socketguard" and r["resources"][0]["kind"] == "VirtualService"
               for r in report_results(control_plane, ns))
    assert "warnings: SG501" in condition(control_plane, "deployment", ns, "mageagent")["message"]  # type: ignore[index]
    progressing = _with_condition(control_plane, ns, "Progressing")
    assert progressing is not None

    # Quiet: nothing changes, nothing is written.
    before = settled(operator)
    time.sleep(20)
    assert operator.writes() == before

    # Restart: no new Event, no transition.
    transitions = {kind: condition(control_plane, kind, ns, name)["lastTransitionTime"]  # type: ignore[index]
                   for kind, name in (("deployment", "mageagent"), ("virtualservice", "adverant"))}
    posted = len(events(control_plane, ns))
    operator.stop()
    restarted = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
    try:
        assert settled(restarted) == 0
        assert len(events(control_plane, ns)) == posted
        for kind, name in (("deployment", "mageagent"), ("virtualservice", "adverant")):
            assert condition(control_plane, kind, ns, name)["lastTransitionTime"] == transitions[kind]  # type: ignore[index]
        assert restarted.metrics().get("socketguard_evaluations_total", 0) > 0
    finally:
        restarted.stop()

    # Cleanup removes our conditions and reports, and only those.
    assert "removed" in restarted.cleanup()
    assert condition(control_plane, "deployment", ns, "mageagent") is None
    assert condition(control_plane, "virtualservice", ns, "adverant") is None
    assert report_results(control_plane, ns) == []
    assert _with_condition(control_plane, ns, "Progressing") is not None


def _with_condition(cluster: Cluster, ns: str, kind: str) -> dict[str, Any] | None:
    body: dict[str, Any] = get_json(cluster, "deployment", "mageagent", "-n", ns)
    types = {c.get("type") for c in (body.get("status") or {}).get("conditions") or []}
    return body if kind in types else None


def test_held_deployment_resumes_when_the_finding_clears(
        control_plane: Cluster, kube_namespace: str, operator: OperatorProcess) -> None:
    ns = kube_namespace
    held = server("api", ns, path="/ws")
    held["metadata"]["annotations"]["socketguard.io/held"] = "SG102 socket-path-mismatch"
    held["spec"]["paused"] = True
    paused_by_someone_else = server("other", ns)
    paused_by_someone_else["spec"]["paused"] = True
    objects = [held, service("api", ns), route("api", ns), paused_by_someone_else, service("other", ns),
               route("other", ns)]
    for obj in objects:
        for key in ("uid", "generation"):
            obj["metadata"].pop(key, None)
    control_plane.apply(objects)
    wait_for(lambda: (condition(control_plane, "deployment", ns, "api") or {}).get("status") == "False",
             timeout=30, what="held Deployment condition False")
    wait_for(lambda: (condition(control_plane, "deployment", ns, "other") or {}).get("status") == "True",
             timeout=30, what="other Deployment condition True")
    assert get_json(control_plane, "deployment", "api", "-n", ns)["spec"].get("paused") is True

    fixed = route("api", ns, rewrite="/ws/")
    fixed["metadata"].pop("uid")
    fixed["metadata"].pop("generation")
    control_plane.apply(fixed)
    wait_for(lambda: not get_json(control_plane, "deployment", "api", "-n", ns)["spec"].get("paused"),
             timeout=30, what="held Deployment resumed")
    body = get_json(control_plane, "deployment", "api", "-n", ns)
    assert "socketguard.io/held" not in body["metadata"].get("annotations", {})
    assert get_json(control_plane, "deployment", "other", "-n", ns)["spec"].get("paused") is True


def test_starts_without_istio_and_picks_up_virtual_services_when_installed(tmp_path: Path) -> None:
    toolset = find_toolset()
    if toolset is None:
        pytest.fail("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    with ControlPlane(run_dir=tmp_path / "bare", toolset=toolset, install_crds=False,
                      controller_manager=False) as bare:
        kubeconfig = operator_kubeconfig(bare)
        bare.create_namespace("demo")
        process = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
        try:
            bare.apply([_fresh(server("api", path="/ws")), _fresh(service("api"))])
            unknown = wait_for(lambda: condition(bare, "deployment", "demo", "api"), timeout=30,
                               what="condition without Istio")
            assert (unknown["status"], unknown["reason"]) == ("Unknown", "RoutingNotEvaluated")

            istio = next(path for path in toolset.crd_files if "istio" in path.name)
            bare.kubectl("apply", "--server-side", "-f", str(istio))
            bare.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(istio), timeout=90)
            vs = _fresh(route("api"))
            wait_for(lambda: bare.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(vs), check=False).returncode == 0,
                     timeout=30, what="VirtualService accepted")
            route_condition = wait_for(lambda: condition(bare, "virtualservice", "demo", "api"), timeout=60,
                                       what="VirtualService condition after the CRDs came")
            assert (route_condition["status"], route_condition["reason"]) == ("False", "SocketPathMismatch")
            wait_for(lambda: (condition(bare, "deployment", "demo", "api") or {}).get("status") == "False",
                     timeout=30, what="server condition re-evaluated")
        finally:
            process.stop()


def _fresh(obj: dict[str, Any]) -> dict[str, Any]:
    for key in ("uid", "generation"):
        obj["metadata"].pop(key, None)
    return obj


def test_a_workload_that_stops_being_an_annotated_server_loses_its_condition(
        control_plane: Cluster, kube_namespace: str, operator: OperatorProcess) -> None:
    ns = kube_namespace
    control_plane.apply([_fresh(server("api", ns)), _fresh(service("api", ns))])
    wait_for(lambda: condition(control_plane, "deployment", ns, "api"), timeout=30, what="condition written")
    control_plane.kubectl("annotate", "deployment", "api", "-n", ns, "socketguard.io/role-")
    wait_for(lambda: condition(control_plane, "deployment", ns, "api") is None, timeout=30,
             what="condition removed")
    assert _with_condition_of(control_plane, ns, "api") is not None


def _with_condition_of(cluster: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    body: dict[str, Any] = get_json(cluster, "deployment", name, "-n", ns)
    return body if (body.get("status") or {}).get("conditions") else None


def test_two_replicas_one_active(control_plane: Cluster, kube_namespace: str, kubeconfig: Path,
                                 tmp_path: Path) -> None:
    ns = kube_namespace
    active = OperatorProcess(kubeconfig, tmp_path, "--priority", "200").start()
    standby = OperatorProcess(kubeconfig, tmp_path, "--priority", "100").launch()
    try:
        control_plane.apply([_fresh(server("api", ns, path="/ws")), _fresh(service("api", ns)),
                             _fresh(route("api", ns))])
        wait_for(lambda: (condition(control_plane, "deployment", ns, "api") or {}).get("status") == "False",
                 timeout=30, what="condition from the active replica")
        settled(active)
        assert standby.writes() == 0 and not standby.ready()
        active.stop()
        wait_for(standby.ready, timeout=90, what="standby takes over")
        fixed = _fresh(route("api", ns, rewrite="/ws/"))
        control_plane.apply(fixed)
        wait_for(lambda: (condition(control_plane, "deployment", ns, "api") or {}).get("status") == "True",
                 timeout=30, what="condition from the former standby")
    finally:
        active.stop()
        standby.stop()


def test_namespace_option_limits_watching_and_writing(
        control_plane: Cluster, kubeconfig: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    watched, ignored = (f"ns-only-{suffix}-{abs(hash(request.node.nodeid)) % 10000}" for suffix in ("a", "b"))
    for ns in (watched, ignored):
        control_plane.create_namespace(ns)
    process = OperatorProcess(kubeconfig, tmp_path, "--standalone", "--namespace", watched).start()
    try:
        for ns in (ignored, watched):
            control_plane.apply([_fresh(server("api", ns)), _fresh(service("api", ns))])
        wait_for(lambda: condition(control_plane, "deployment", watched, "api"), timeout=30,
                 what="condition in the watched namespace")
        settled(process)
        assert condition(control_plane, "deployment", ignored, "api") is None
    finally:
        process.stop()
        for ns in (watched, ignored):
            control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_an_ingress_class_names_the_router_and_its_change_is_followed(
        control_plane: Cluster, kube_namespace: str, operator: OperatorProcess) -> None:
    """IngressClasses are watched: a class named `edge` whose controller is Traefik's makes its
    Ingress a Traefik route (SG102 on a path the server does not serve); deleting the class (its
    controller is immutable) re-evaluates the server without any change to the Ingress itself."""
    ns, name = kube_namespace, f"edge-{kube_namespace}"
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "chat", "namespace": ns},
               "spec": {"ingressClassName": name, "rules": [{"host": f"{ns}.example.com", "http": {"paths": [
                   {"path": "/app/socket.io", "pathType": "Prefix",
                    "backend": {"service": {"name": "chat", "port": {"number": 8080}}}}]}}]}}
    control_plane.apply([_ingress_class(name, "traefik.io/ingress-controller"), _fresh(server("chat", ns)),
                         _fresh(service("chat", ns)), ingress])
    try:
        wait_for(lambda: (condition(control_plane, "deployment", ns, "chat") or {}).get("reason")
                 == "SocketPathMismatch", timeout=30, what="SG102 through the Traefik class")
        control_plane.kubectl("delete", "ingressclass", name)
        wait_for(lambda: (condition(control_plane, "deployment", ns, "chat") or {}).get("status") == "True",
                 timeout=30, what="re-evaluated after the class was deleted")
    finally:
        control_plane.kubectl("delete", "ingressclass", name, "--ignore-not-found")


def _ingress_class(name: str, controller: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": name},
            "spec": {"controller": controller}}
