"""Security properties of the rendered objects, for the default values and with every option on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chart_render import (
    CONFIGURATION_NAME,
    EVERYTHING_ON,
    NAMESPACE,
    OPERATOR_SA,
    WEBHOOK_SA,
    Manifest,
    of_kind,
    permissions,
    render,
    service_account_rules,
)

READ_VERBS = {"get", "list", "watch"}
#: Every write the operator may make, and why (docs/operator.md: it writes nothing else).
OPERATOR_WRITES = {
    ("apps", "deployments/status", "patch"),  # SocketRouteReady condition
    ("apps", "statefulsets/status", "patch"),
    ("apps", "daemonsets/status", "patch"),
    ("networking.istio.io", "virtualservices/status", "patch"),
    ("argoproj.io", "rollouts/status", "patch"),
    ("", "events", "create"),  # one Event per finding
    *{(group, plural, verb) for group, plural in (("wgpolicyk8s.io", "policyreports"), ("openreports.io", "reports"))
      for verb in ("create", "patch", "delete")},
    ("kopf.dev", "clusterkopfpeerings", "patch"),  # peering (cluster-wide)
    ("kopf.dev", "kopfpeerings", "patch"),  # peering (watchNamespaces)
    ("apps", "deployments", "patch"),  # resuming what hold paused (hold only)
}
VARIANTS = {
    "defaults": {},
    "everything": EVERYTHING_ON,
    "hold-cluster-wide": {"hold": {"enabled": True}},
    "secret-tls": {"webhook": {"tls": {"mode": "secret", "secretName": "t", "caBundle": "Zm9v"}}},
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def docs(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(VARIANTS[request.param])


def _roles(docs: list[Manifest]) -> list[Manifest]:
    return of_kind(docs, "ClusterRole") + of_kind(docs, "Role")


def test_no_wildcards_in_rbac(docs: list[Manifest]) -> None:
    for role in _roles(docs):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), f"{role['metadata']['name']}: wildcard in {field}"
            assert "nonResourceURLs" not in rule
            assert "resourceNames" not in rule or rule["resourceNames"]


def test_no_access_to_secrets_or_privilege_escalation(docs: list[Manifest]) -> None:
    for role in _roles(docs):
        for group, resource, verb in permissions(role["rules"]):
            assert resource not in {"secrets", "configmaps", "pods/exec", "serviceaccounts/token"}, role["metadata"]
            assert verb not in {"escalate", "bind", "impersonate", "deletecollection", "*"}, role["metadata"]
            assert group != "rbac.authorization.k8s.io", role["metadata"]


def test_operator_writes_only_its_own_things(docs: list[Manifest]) -> None:
    granted = permissions(service_account_rules(docs, OPERATOR_SA))
    writes = {permission for permission in granted if permission[2] not in READ_VERBS}
    assert writes <= OPERATOR_WRITES, writes - OPERATOR_WRITES
    # The watched objects themselves are never updated; only the status subresource is patched.
    for group, resource, verb in writes:
        if verb == "patch" and group in {"apps", "networking.istio.io", "gateway.networking.k8s.io", "argoproj.io"}:
            assert resource.endswith("/status") or (resource == "deployments" and _hold_on(docs))


def _hold_on(docs: list[Manifest]) -> bool:
    return any(doc["kind"] == "MutatingWebhookConfiguration" for doc in docs)


def test_deployment_patch_only_with_hold(docs: list[Manifest]) -> None:
    granted = permissions(service_account_rules(docs, OPERATOR_SA))
    assert (("apps", "deployments", "patch") in granted) == _hold_on(docs)


def test_operator_reads_every_watched_kind(docs: list[Manifest]) -> None:
    granted = permissions(service_account_rules(docs, OPERATOR_SA))
    for group, resource in [
        ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("", "services"),
        ("", "namespaces"), ("autoscaling", "horizontalpodautoscalers"),
        ("networking.istio.io", "virtualservices"), ("networking.istio.io", "destinationrules"),
        ("networking.istio.io", "gateways"), ("gateway.networking.k8s.io", "httproutes"),
        ("gateway.networking.k8s.io", "gateways"), ("gateway.networking.k8s.io", "referencegrants"),
        ("gateway.networking.k8s.io", "gatewayclasses"),  # the implementation behind a Gateway
        ("networking.k8s.io", "ingresses"), ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("argoproj.io", "rollouts"), ("keda.sh", "scaledobjects"),
    ]:
        assert {(group, resource, verb) for verb in READ_VERBS} <= granted, (group, resource)


def test_webhook_only_reads(docs: list[Manifest]) -> None:
    granted = permissions(service_account_rules(docs, WEBHOOK_SA))
    if not granted:
        pytest.fail("the webhook's ServiceAccount is bound to nothing")
    assert {verb for _, _, verb in granted} == READ_VERBS


def _pod_specs(docs: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def test_pods_meet_restricted_pod_security(docs: list[Manifest]) -> None:
    pods = dict(_pod_specs(docs))
    assert pods, "no pod templates rendered"
    for where, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(field), where
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= {"emptyDir", "secret", "projected"}, (where, volume)
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert not context["capabilities"].get("add"), where
            assert not context.get("privileged"), where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert container["resources"]["requests"]["memory"], where
            assert container["resources"]["limits"]["memory"], where
            assert not container.get("ports") or all("hostPort" not in port for port in container["ports"]), where


def test_long_running_pods_have_probes(docs: list[Manifest]) -> None:
    for where, pod in _pod_specs(docs):
        if where.startswith("Job/"):
            continue
        for container in pod["containers"]:
            assert container["livenessProbe"]["httpGet"]["port"] == "health", where
            assert container["readinessProbe"]["httpGet"]["port"] == "health", where


def test_webhooks_fail_open_fast_and_skip_system_namespaces(docs: list[Manifest]) -> None:
    configurations = of_kind(docs, "ValidatingWebhookConfiguration") + of_kind(docs, "MutatingWebhookConfiguration")
    assert configurations
    for configuration in configurations:
        assert configuration["metadata"]["name"] == CONFIGURATION_NAME
        for webhook in configuration["webhooks"]:
            assert webhook["failurePolicy"] == "Ignore"
            assert webhook["timeoutSeconds"] == 3
            assert webhook["sideEffects"] == "None"
            assert webhook["admissionReviewVersions"] == ["v1"]
            assert webhook["matchPolicy"] == "Equivalent"
            expressions = webhook["namespaceSelector"]["matchExpressions"]
            excluded = next(
                e for e in expressions if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"
            )
            assert {"kube-system", NAMESPACE} <= set(excluded["values"])
            assert {"key": "socketguard.io/enforce", "operator": "NotIn", "values": ["off"]} in expressions
            for rule in webhook["rules"]:
                assert "*" not in rule["resources"] and "*" not in rule["operations"]
                assert "CONNECT" not in rule["operations"]
            assert webhook["clientConfig"]["service"]["port"] == 443


def test_webhook_excludes_extra_namespaces() -> None:
    docs = render({"webhook": {"excludeNamespaces": ["legacy"]}})
    webhook = of_kind(docs, "ValidatingWebhookConfiguration")[0]["webhooks"][0]
    excluded = webhook["namespaceSelector"]["matchExpressions"][0]
    assert excluded == {
        "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", NAMESPACE, "legacy"]
    }


def test_failure_policy_can_be_made_strict_explicitly() -> None:
    docs = render({"webhook": {"failurePolicy": "Fail", "timeoutSeconds": 5}})
    webhook = of_kind(docs, "ValidatingWebhookConfiguration")[0]["webhooks"][0]
    assert (webhook["failurePolicy"], webhook["timeoutSeconds"]) == ("Fail", 5)
