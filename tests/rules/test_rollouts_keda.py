"""Argo Rollouts as workloads (inline template or workloadRef), their canary traffic routing, and KEDA ScaledObjects."""

from __future__ import annotations

import json

from topology import (
    GATEWAY,
    K8S_GATEWAY,
    destination_rule,
    hpa,
    http_route,
    ingress,
    lint,
    only,
    route,
    server,
    service,
)

from socketguard.engine.objects import ObjectRef

ROLLOUT = ObjectRef("argoproj.io/v1alpha1", "Rollout", "web", "chat")


def rollout(notes: dict[str, str] | None = None, *, replicas: int = 1, canary: str = "{}",
            workload_ref: str | None = None) -> str:
    """A Socket.IO server Rollout `chat` (inline template unless `workload_ref` names a Deployment)."""
    annotations = json.dumps({f"socketguard.io/{k}": v for k, v in {"role": "server", **(notes or {})}.items()})
    template = f"""
  workloadRef: {workload_ref}""" if workload_ref else """
  template:
    metadata: {labels: {app: chat}}
    spec:
      containers:
        - {name: chat, image: example/chat:2.0.0, ports: [{name: http, containerPort: 3000}]}"""
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: chat, namespace: web, annotations: {annotations}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: chat}}}}{template}
  strategy:
    canary: {canary}
"""


def scaled_object(max_replicas: int | None, *, kind: str = "Deployment") -> str:
    maximum = f"\n  maxReplicaCount: {max_replicas}" if max_replicas is not None else ""
    return f"""
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: chat, namespace: web}}
spec:
  scaleTargetRef: {{name: chat, kind: {kind}}}{maximum}
  triggers: [{{type: cpu, metricType: Utilization, metadata: {{value: "60"}}}}]
"""


ISTIO_CANARY = """{stableService: chat, canaryService: chat-canary,
      trafficRouting: {istio: {virtualService: {name: chat}}}, steps: [{setWeight: 20}, {pause: {}}]}"""
STABLE_AND_CANARY = ("""- destination: {host: chat, port: {number: 80}}
  weight: 100
- destination: {host: chat-canary, port: {number: 80}}
  weight: 0""")


def test_service_selecting_a_rollout_is_no_sg106() -> None:
    findings = lint(rollout(), service(), GATEWAY, route())
    assert not only(findings, "SG106")
    assert not [f for f in findings if f.severity.value == "error"]


def test_argo_pod_template_hash_in_the_selector_still_selects_the_rollout() -> None:
    hashed = service().replace("selector: {app: chat}", "selector: {app: chat, rollouts-pod-template-hash: 6d4f}")
    assert not only(lint(rollout(), hashed, GATEWAY, route()), "SG106")


def test_sg102_on_a_rollout_server_as_on_a_deployment() -> None:
    for workload in (rollout({"path": "/chat"}), server({"path": "/chat"})):
        [finding] = only(lint(workload, service(), GATEWAY, route()), "SG102")
        assert "/chat" in finding.message


def test_rollout_replicas_count_for_sg301() -> None:
    [finding] = only(lint(rollout(replicas=3), service(), GATEWAY, route()), "SG301")
    assert finding.subject == ROLLOUT


def test_weighted_istio_canary_of_a_polling_rollout_is_sg303() -> None:
    canary_service = service("chat-canary").replace("{app: chat-canary}", "{app: chat}")
    docs = (rollout(canary=ISTIO_CANARY), service(), canary_service, GATEWAY,
            route(destinations=STABLE_AND_CANARY), destination_rule("{httpCookie: {name: io, ttl: 0s}}"))
    [split] = only(lint(*docs), "SG303")
    assert split.subject == ROLLOUT
    assert split.field_path == "spec.strategy.canary.trafficRouting.istio"
    assert "Session ID unknown" in split.message
    assert any("setHeaderRoute" in fix for fix in split.fixes)


def test_websocket_only_rollout_canary_is_fine() -> None:
    docs = (rollout({"transports": "websocket"}, canary=ISTIO_CANARY), service(), GATEWAY,
            route(destinations=STABLE_AND_CANARY))
    assert not only(lint(*docs), "SG303")


def test_istio_canary_limited_to_other_routes_is_no_split() -> None:
    canary = ISTIO_CANARY.replace("virtualService: {name: chat}", "virtualService: {name: chat, routes: [api]}")
    assert not only(lint(rollout(canary=canary), service(), GATEWAY, route()), "SG303")


def test_nginx_canary_of_a_rollout_needs_affinity_on_both_sides() -> None:
    nginx = "{canaryService: chat-canary, stableService: chat, trafficRouting: {nginx: {stableIngress: chat}}}"
    [split] = only(lint(rollout(canary=nginx), service(), ingress()), "SG303")
    assert split.field_path == "spec.strategy.canary.trafficRouting.nginx"
    assert any("canaryIngressAnnotations" in fix for fix in split.fixes)
    sticky = nginx.replace("stableIngress: chat", "stableIngress: chat, canaryIngressAnnotations: "
                                                  "{nginx.ingress.kubernetes.io/affinity: cookie}")
    assert not only(lint(rollout(canary=sticky), service(), ingress({"affinity": "cookie"})), "SG303")


def test_workload_ref_takes_the_deployment_template() -> None:
    deployment = server(annotated=False, replicas=0)
    docs = (rollout(workload_ref="{apiVersion: apps/v1, kind: Deployment, name: chat}"), deployment, service(),
            GATEWAY, route())
    findings = lint(*docs)
    assert not only(findings, "SG106")
    broken = rollout({"path": "/chat"}, workload_ref="{kind: Deployment, name: chat}")
    [finding] = only(lint(broken, deployment, service(), GATEWAY, route()), "SG102")
    assert "Rollout web/chat" in finding.message


def test_workload_ref_deployment_keeps_its_pods_unless_scaled_down() -> None:
    deployment = server(replicas=3)
    kept = rollout(workload_ref="{kind: Deployment, name: chat}")
    subjects = {f.subject.kind for f in only(lint(kept, deployment, service(), GATEWAY, route()), "SG301")}
    assert "Deployment" in subjects
    scaled_down = rollout(workload_ref="{kind: Deployment, name: chat, scaleDown: onsuccess}")
    subjects = {f.subject.kind for f in only(lint(scaled_down, deployment, service(), GATEWAY, route()), "SG301")}
    assert "Deployment" not in subjects


def test_keda_max_replica_count_gives_sg301() -> None:
    [finding] = only(lint(server(), service(), GATEWAY, route(), scaled_object(5)), "SG301")
    assert "up to 5 replicas by ScaledObject web/chat" in finding.message
    assert ("ScaledObject", "web/chat") in [(r.kind, f"{r.namespace}/{r.name}") for r in finding.related]


def test_keda_default_maximum_is_100() -> None:
    [finding] = only(lint(server(), service(), GATEWAY, route(), scaled_object(None)), "SG301")
    assert "up to 100 replicas" in finding.message


def test_keda_scaling_a_rollout() -> None:
    assert only(lint(rollout(), service(), GATEWAY, route(), scaled_object(4, kind="Rollout")), "SG301")


def test_the_hpa_keda_creates_is_not_counted_twice() -> None:
    keda_hpa = hpa(50).replace("name: chat\n", "name: keda-hpa-chat\n", 1)
    [finding] = only(lint(server(), service(), GATEWAY, route(), scaled_object(5), keda_hpa), "SG301")
    assert "up to 5 replicas by ScaledObject web/chat" in finding.message
    assert "keda-hpa-chat" not in " ".join(str(r) for r in finding.related)


def test_keda_one_replica_is_fine() -> None:
    assert not only(lint(server(), service(), GATEWAY, route(), scaled_object(1)), "SG301")



def test_gateway_api_plugin_canary_is_a_split_too() -> None:
    plugin = ("{canaryService: chat-canary, stableService: chat, trafficRouting: {plugins: "
              "{argoproj-labs/gatewayAPI: {httpRoute: chat, namespace: web}}}}")
    [split] = only(lint(rollout(canary=plugin), service(), K8S_GATEWAY, http_route()), "SG303")
    assert split.field_path == "spec.strategy.canary.trafficRouting.plugins"


def test_keda_hpa_with_a_custom_name_is_counted_once() -> None:
    custom = "advanced: {horizontalPodAutoscalerConfig: {name: chat-keda}}\n  triggers:"
    named = scaled_object(5).replace("triggers:", custom)
    keda_hpa = hpa(50).replace("name: chat\n", "name: chat-keda\n", 1)
    [finding] = only(lint(server(), service(), GATEWAY, route(), named, keda_hpa), "SG301")
    assert "up to 5 replicas by ScaledObject web/chat" in finding.message
