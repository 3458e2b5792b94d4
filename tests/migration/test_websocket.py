"""SG708: the WebSocket upgrade still passes."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, only, service


def test_an_http2_only_service_port_is_an_error() -> None:
    after = faithful_after()
    after[1] = service(app_protocol="kubernetes.io/h2c")
    difference = only(compared(before(), after), "SG708")
    assert "appProtocol: kubernetes.io/ws" in difference.finding.fixes[0]


def test_a_websocket_app_protocol_is_not_flagged() -> None:
    after = faithful_after()
    after[1] = service(app_protocol="kubernetes.io/ws")
    assert "SG708" not in codes(compared(before(), after))
