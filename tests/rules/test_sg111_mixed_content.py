from __future__ import annotations

from routing_kit import CLIENT, GATEWAY, lint, where, world

from socketguard.engine.rules.sg111_mixed_content import RULE


def _client(url: str) -> str:
    return CLIENT.replace("client-url: https://chat.example.com", f"client-url: {url}")


def test_wss_on_an_https_page_is_fine() -> None:
    assert lint(world(client=_client("wss://chat.example.com")), RULE) == []


def test_ws_on_an_https_page_is_blocked() -> None:
    [finding] = lint(world(client=_client("ws://chat.example.com")), RULE)
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']", "error")
    assert "https://chat.example.com" in finding.message and "ws://chat.example.com" in finding.message
    assert finding.fixes[0].startswith("use wss://chat.example.com")


def test_loopback_is_trusted() -> None:
    assert lint(world(client=_client("ws://localhost:3000")), RULE) == []


HTTP_GATEWAY = GATEWAY.replace("number: 443, name: https, protocol: HTTPS", "number: 443, name: http, protocol: HTTP") \
    .replace("    tls: {mode: SIMPLE, credentialName: chat-tls}\n", "")


def test_https_url_to_a_gateway_port_without_tls() -> None:
    [finding] = lint(world(gateway=HTTP_GATEWAY), RULE)
    assert where(finding) == ("Gateway", "web/public", "spec.servers[0]", "error")
    assert "terminates no TLS" in finding.message


def test_https_url_when_the_gateway_has_only_port_80_is_a_warning() -> None:
    gateway = HTTP_GATEWAY.replace("number: 443", "number: 80")
    [finding] = lint(world(gateway=gateway), RULE)
    assert where(finding)[3] == "warning" and "load balancer" in finding.assumptions[0]
