"""SG705: request timeouts against the ping cycle and long-lived sessions."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, only

from socketguard.engine.findings import Severity


def test_request_timeout_shorter_than_the_ping_interval_is_an_error() -> None:
    difference = only(compared(before(proxy_read_timeout="3600"), faithful_after(timeouts={"request": "10s"})),
                      "SG705")
    assert difference.finding.severity is Severity.ERROR
    assert "ping interval (25 s)" in difference.finding.message
    assert difference.finding.field_path == "spec.rules[0].timeouts.request"


def test_request_timeout_longer_than_the_ping_interval_ends_websocket_sessions() -> None:
    difference = only(compared(before(proxy_read_timeout="3600"), faithful_after(timeouts={"request": "30s"})),
                      "SG705")
    assert difference.finding.severity is Severity.WARNING
    assert difference.before == "3600 s read (idle) timeout"


def test_disabled_request_timeout_is_equivalent_to_a_read_timeout() -> None:
    assert "SG705" not in codes(compared(before(proxy_read_timeout="3600"), faithful_after()))


def test_the_implementation_default_applies_when_the_route_sets_none() -> None:
    after = faithful_after()
    del after[4]["spec"]["rules"][0]["timeouts"]
    difference = only(compared(before(), after, implementation="envoy-gateway"), "SG705")
    assert "default request timeout of Envoy Gateway" in difference.after
    assert "SG705" not in codes(compared(before(), after, implementation="istio"))


def test_an_implementation_that_ignores_route_timeouts_keeps_its_idle_timeout() -> None:
    after = faithful_after(timeouts={"request": "10s"})
    assert "SG705" not in codes(compared(before(), after, implementation="nginx-gateway-fabric"))
