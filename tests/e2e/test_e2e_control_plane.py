"""Smoke test of the test control plane: the API behaviours the operator and webhook rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from socketguard.testing import Cluster, ControlPlane, KubectlError, Subject, wait_for

pytestmark = pytest.mark.e2e

CUSTOM_CONDITION = "SocketGuardRouting"


@pytest.fixture
def apps(control_plane: Cluster) -> Iterator[client.AppsV1Api]:
    api_client = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    try:
        yield client.AppsV1Api(api_client)
    finally:
        api_client.close()


def _deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }


def _condition(deployment: Any, condition_type: str) -> Any:
    return next((c for c in deployment.status.conditions or [] if c.type == condition_type), None)


def _virtual_service(name: str, namespace: str, hosts: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": hosts,
            "http": [{"route": [{"destination": {"host": "web", "port": {"number": 80}}}]}],
        },
    }


def test_namespace_is_created_and_active(control_plane: Cluster, kube_namespace: str) -> None:
    namespace = json.loads(control_plane.kubectl("get", "namespace", kube_namespace, "-o", "json").stdout)

    assert namespace["status"]["phase"] == "Active"


def test_virtual_service_crd_accepts_valid_and_rejects_invalid(control_plane: Cluster, kube_namespace: str) -> None:
    control_plane.apply(_virtual_service("web", kube_namespace, ["web"]))
    stored = json.loads(
        control_plane.kubectl("get", "virtualservice", "web", "-n", kube_namespace, "-o", "json").stdout
    )
    assert stored["spec"]["hosts"] == ["web"]

    with pytest.raises(KubectlError) as rejected:
        control_plane.kubectl("create", "-f", "-", stdin=json.dumps(_virtual_service("broken", kube_namespace, "web")))

    assert "spec.hosts" in rejected.value.stderr
    assert "must be of type array" in rejected.value.stderr


def test_gateway_api_and_policy_report_crds_are_served(control_plane: Cluster) -> None:
    resources = control_plane.kubectl("api-resources", "-o", "name").stdout.split()

    assert "httproutes.gateway.networking.k8s.io" in resources
    assert "policyreports.wgpolicyk8s.io" in resources
    http_route_rules = control_plane.kubectl("explain", "httproute.spec.rules").stdout
    assert "sessionPersistence" in http_route_rules


def test_deployment_gets_replica_set_and_progressing_condition(
    control_plane: Cluster, kube_namespace: str, apps: client.AppsV1Api
) -> None:
    apps.create_namespaced_deployment(kube_namespace, _deployment("web"))

    replica_sets = wait_for(
        lambda: apps.list_namespaced_replica_set(kube_namespace, label_selector="app=web").items,
        what="ReplicaSet for deployment web",
    )
    progressing = wait_for(
        lambda: _condition(apps.read_namespaced_deployment_status("web", kube_namespace), "Progressing"),
        what="Progressing condition on deployment web",
    )

    assert replica_sets[0].metadata.owner_references[0].name == "web"
    assert progressing.status == "True"


def test_custom_condition_survives_the_next_controller_status_update(
    control_plane: Cluster, kube_namespace: str, apps: client.AppsV1Api
) -> None:
    apps.create_namespaced_deployment(kube_namespace, _deployment("api"))
    wait_for(
        lambda: _condition(apps.read_namespaced_deployment_status("api", kube_namespace), "Progressing"),
        what="Progressing condition on deployment api",
    )
    custom = {
        "type": CUSTOM_CONDITION,
        "status": "False",
        "reason": "RouteNotSticky",
        "message": "set by the e2e test",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    control_plane.kubectl(
        "patch",
        "deployment",
        "api",
        "-n",
        kube_namespace,
        "--subresource=status",
        "--type=json",
        "-p",
        json.dumps([{"op": "add", "path": "/status/conditions/-", "value": custom}]),
    )

    apps.patch_namespaced_deployment_scale("api", kube_namespace, {"spec": {"replicas": 2}})
    updated = wait_for(
        lambda: (
            (d := apps.read_namespaced_deployment_status("api", kube_namespace)).status.observed_generation == 2
            and d.status.replicas == 2
            and d
        ),
        what="controller status update after scaling deployment api",
    )

    survived = _condition(updated, CUSTOM_CONDITION)
    assert survived is not None
    assert (survived.status, survived.reason) == ("False", "RouteNotSticky")
    assert _condition(updated, "Progressing") is not None


def test_token_user_without_rights_is_forbidden(control_plane: Cluster, kube_namespace: str) -> None:
    nobody = control_plane.service_account_kubeconfig(kube_namespace, "nobody")

    denied = control_plane.kubectl("get", "deployments", "-n", kube_namespace, kubeconfig=nobody, check=False)

    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    api_client = config.new_client_from_config(config_file=str(nobody))
    with api_client, pytest.raises(ApiException) as forbidden:
        client.AppsV1Api(api_client).list_namespaced_deployment(kube_namespace)
    assert forbidden.value.status == 403


def test_granted_rules_allow_exactly_what_they_name(control_plane: Cluster, kube_namespace: str) -> None:
    reader = control_plane.service_account_kubeconfig(
        kube_namespace,
        "reader",
        rules=[{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}],
    )

    allowed = control_plane.kubectl("get", "deployments", "-n", kube_namespace, kubeconfig=reader, check=False)
    denied = control_plane.kubectl("get", "secrets", "-n", kube_namespace, kubeconfig=reader, check=False)

    assert allowed.returncode == 0, allowed.stderr
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()


def test_certificate_user_gets_rights_from_its_group(control_plane: Cluster, kube_namespace: str) -> None:
    if not isinstance(control_plane, ControlPlane):
        return  # client certificates need the harness's own CA; token users are covered above
    alice = control_plane.user_kubeconfig("alice", ["socketguard-viewers"])
    control_plane.grant(Subject("Group", "socketguard-viewers"), cluster_roles=["view"])

    whoami = json.loads(control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=alice).stdout)
    read = control_plane.kubectl("get", "deployments", "-n", kube_namespace, kubeconfig=alice, check=False)
    write = control_plane.kubectl("create", "configmap", "x", "-n", kube_namespace, kubeconfig=alice, check=False)

    assert whoami["status"]["userInfo"]["username"] == "alice"
    assert "socketguard-viewers" in whoami["status"]["userInfo"]["groups"]
    assert read.returncode == 0, read.stderr
    assert "forbidden" in write.stderr.lower()
