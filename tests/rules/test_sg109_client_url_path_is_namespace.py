from __future__ import annotations

from routing_kit import CLIENT, SERVER, annotate, lint, of, where, world

from socketguard.rules.sg109_client_url_path_is_namespace import RULE


def _client(url: str) -> str:
    return CLIENT.replace("client-url: https://chat.example.com", f"client-url: {url}")


def test_origin_only_url_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_url_with_a_path_is_a_namespace_not_the_http_path() -> None:
    findings = lint(world(client=_client("https://chat.example.com/chat")))
    [finding] = of(findings, "SG109")
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']", "warning")
    assert "path /chat is a Socket.IO namespace" in finding.message and "/socket.io/" in finding.message
    assert 'path: "/chat/socket.io"' in finding.fixes[0]
    assert of(findings, "SG112")  # the server does not serve /chat either


def test_path_served_as_a_namespace_is_fine() -> None:
    server = annotate(SERVER, namespaces="/,/chat")
    assert lint(world(client=_client("https://chat.example.com/chat"), server=server), RULE) == []
