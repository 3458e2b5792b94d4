"""SG704: cookie affinity in BEFORE needs stickiness in AFTER where it matters."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, only, server

from socketguard.engine.migration.compare import Comparison


def _without_persistence(**kwargs: object) -> list[dict[str, object]]:
    after = faithful_after(**kwargs)  # type: ignore[arg-type]
    del after[4]["spec"]["rules"][0]["sessionPersistence"]
    return after  # type: ignore[return-value]


def test_cookie_affinity_lost_on_three_replicas_is_an_error() -> None:
    difference = only(compared(before(), _without_persistence()), "SG704")
    assert "3 replicas" in difference.finding.message
    assert any("sessionPersistence" in fix and "experimental" in fix for fix in difference.finding.fixes)


def test_session_persistence_keeps_it_and_the_channel_is_said() -> None:
    comparison: Comparison = compared(before(), faithful_after())
    assert "SG704" not in codes(comparison)
    assert any("experimental-channel" in a for a in comparison.assumptions)


def test_affinity_on_one_replica_does_not_matter() -> None:
    objects = _without_persistence(workload=server(replicas=1))
    assert "SG704" not in codes(compared(before(workload=server(replicas=1)), objects))


def test_websocket_only_server_needs_no_stickiness() -> None:
    ws = server(transports="websocket")
    assert "SG704" not in codes(compared(before(workload=ws), _without_persistence(workload=ws)))


def test_nginx_gateway_fabric_without_plus_ignores_session_persistence() -> None:
    difference = only(compared(before(), faithful_after(), implementation="nginx-gateway-fabric"), "SG704")
    assert "NGINX Plus" in difference.finding.message
    assert any("ip_hash" in fix for fix in difference.finding.fixes)


def test_istio_destination_rule_consistent_hash_keeps_it() -> None:
    rule = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "chat", "namespace": "web"},
            "spec": {"host": "chat.web.svc.cluster.local", "trafficPolicy": {"loadBalancer": {
                "consistentHash": {"httpCookie": {"name": "io", "ttl": "0s"}}}}}}
    after = [*_without_persistence(), rule]
    assert "SG704" not in codes(compared(before(), after, implementation="istio"))
    assert "SG704" in codes(compared(before(), after, implementation="envoy-gateway"))
