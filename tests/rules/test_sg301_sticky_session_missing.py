"""SG301: several replicas with polling and no session affinity on the path that reaches them."""

from __future__ import annotations

from topology import GATEWAY, ROUTE, SERVER, client, destination_rule, hpa, lint, only, page, route, server, service

from socketguard.engine.findings import Severity
from socketguard.engine.objects import ObjectRef

SAME_ORIGIN = page("https://chat.example.com")
ROUTED = (service(), GATEWAY, route())
COOKIE = "{httpCookie: {name: io-affinity, path: /, ttl: 0s}}"


def test_three_replicas_round_robin() -> None:
    [finding] = only(lint(SAME_ORIGIN, server({"adapter": "redis"}, replicas=3), *ROUTED), "SG301")
    assert finding.severity is Severity.ERROR
    assert (finding.subject, finding.field_path) == (SERVER, "spec.replicas")
    assert "3 replicas" in finding.message and "spec.http[0].route[0]" in finding.message
    assert "Session ID unknown" in finding.message
    assert ROUTE in finding.related
    assert any("consistentHash" in fix and "chat.web.svc.cluster.local" in fix for fix in finding.fixes)
    assert any("websocket" in fix for fix in finding.fixes)


def test_an_hpa_that_may_scale_out_counts() -> None:
    [finding] = only(lint(SAME_ORIGIN, server(replicas=1), hpa(4), *ROUTED), "SG301")
    assert "up to 4 replicas" in finding.message
    assert ObjectRef("autoscaling/v2", "HorizontalPodAutoscaler", "web", "chat") in finding.related
    assert any("may scale" in text for text in finding.assumptions)


def test_a_daemonset_is_several_pods() -> None:
    [finding] = only(lint(server(kind="DaemonSet"), *ROUTED), "SG301")
    assert finding.subject.kind == "DaemonSet" and finding.field_path == "spec"


def test_one_replica_is_fine() -> None:
    assert not only(lint(SAME_ORIGIN, server(replicas=1), hpa(1), *ROUTED), "SG301")


def test_consistent_hash_for_the_host_in_any_form_is_affinity() -> None:
    for host in ("chat", "chat.web.svc.cluster.local"):
        docs = (SAME_ORIGIN, server(replicas=3), destination_rule(COOKIE, host=host), *ROUTED)
        assert not only(lint(*docs), "SG301"), host
    assert not only(lint(server(replicas=3), destination_rule("{useSourceIp: true}"), *ROUTED), "SG301")


def test_a_destination_rule_for_another_host_does_not_count() -> None:
    docs = (server(replicas=3), destination_rule(COOKIE, host="other"), *ROUTED)
    assert only(lint(*docs), "SG301")


def test_websocket_only_on_both_ends_needs_no_affinity() -> None:
    assert not only(lint(server({"transports": "websocket"}, replicas=3), *ROUTED), "SG301")
    client = page("https://chat.example.com", transports="websocket")
    assert not only(lint(client, server(replicas=3), *ROUTED), "SG301")


def test_service_client_ip_does_not_count_behind_istio() -> None:
    findings = lint(server(replicas=3), service(affinity=True), GATEWAY, route())
    [finding] = only(findings, "SG301")
    assert "ClientIP is ignored" in finding.message
    assert only(findings, "SG303")


def test_no_route_reports_the_service_and_client_ip_counts_there() -> None:
    [finding] = only(lint(server(replicas=2), service()), "SG301")
    assert "Service web/chat (no route)" in finding.message
    assert not only(lint(server(replicas=2), service(affinity=True)), "SG301")


def test_inferred_server_is_a_warning_with_its_assumption() -> None:
    [finding] = only(lint(server(annotated=False, replicas=3), *ROUTED), "SG301")
    assert finding.severity is Severity.WARNING
    assert any("polling assumed" in text for text in finding.assumptions)


def _in_cluster(injected: bool) -> tuple[str, ...]:
    labels = "{istio-injection: enabled}" if injected else "{}"
    namespace = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: web, labels: {labels}}}\n"
    pod_client = client({"client-url": "http://chat"})
    return (namespace, pod_client, server(replicas=3), service(affinity=True))


def test_direct_connections_keep_client_ip_unless_a_sidecar_balances_them() -> None:
    assert not only(lint(*_in_cluster(injected=False)), "SG301")
    findings = lint(*_in_cluster(injected=True))
    [finding] = only(findings, "SG301")
    assert "direct connection to Service web/chat" in finding.message
    [ineffective] = only(findings, "SG303")
    assert "sidecar-injected" in ineffective.message
