from __future__ import annotations

from routing_kit import ROUTE, SERVER, lint, where, world

from socketguard.engine.rules.sg108_route_timeout_too_short import RULE


def _timeout(value: str) -> str:
    return ROUTE + f"    timeout: {value}\n"


def _server(transports: str) -> str:
    return SERVER.replace("socketguard.io/port: http", f"socketguard.io/port: http\n    socketguard.io/transports: "
                          f"{transports}")


def test_no_timeout_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_timeout_at_or_below_the_ping_interval_is_an_error() -> None:
    [finding] = lint(world(route=_timeout("20s")), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].timeout", "error")
    assert "timeout 20s" in finding.message and "pingInterval 25s" in finding.message


def test_timeout_below_interval_plus_ping_timeout_is_a_warning() -> None:
    [finding] = lint(world(route=_timeout("40s")), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].timeout", "warning")
    assert "25s + 20s" in finding.message


def test_long_timeout_still_cuts_websockets() -> None:
    [finding] = lint(world(route=_timeout("1h")), RULE)
    assert where(finding)[3] == "warning"
    assert "WebSocket" in finding.message and "3600s" in finding.message


def test_polling_only_with_a_long_timeout_is_fine() -> None:
    assert lint(world(server=_server("polling"), route=_timeout("60s")), RULE) == []


def test_zero_timeout_disables_it() -> None:
    assert lint(world(route=_timeout("0s")), RULE) == []


def test_custom_ping_interval_is_used() -> None:
    server = SERVER.replace("socketguard.io/port: http", "socketguard.io/port: http\n    "
                            "socketguard.io/ping-interval: '10000'\n    socketguard.io/transports: polling")
    [finding] = lint(world(server=server, route=_timeout("20s")), RULE)
    assert where(finding)[3] == "warning" and "pingInterval + pingTimeout (10s + 20s)" in finding.message
