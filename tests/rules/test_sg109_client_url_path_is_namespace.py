from __future__ import annotations

from routing_kit import CLIENT, ROUTE, SERVER, annotate, lint, of, where, world

from socketguard.engine.rules.sg109_client_url_path_is_namespace import RULE


def _client(url: str) -> str:
    return CLIENT.replace("client-url: https://chat.example.com", f"client-url: {url}")


def test_origin_only_url_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_url_with_a_path_is_a_namespace_not_the_http_path() -> None:
    client = annotate(_client("https://chat.example.com/chat"), client_path="/chat/socket.io")
    findings = lint(world(client=client, route=ROUTE.replace("/socket.io/", "/chat/socket.io/")))
    [finding] = of(findings, "SG109")
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']", "warning")
    assert "path /chat is a Socket.IO namespace" in finding.message and "goes to /chat/socket.io/" in finding.message
    assert 'path: "/chat/socket.io"' in finding.fixes[0]
    assert of(findings, "SG112")  # the server does not serve /chat either


def test_path_served_as_a_namespace_is_fine() -> None:
    server = annotate(SERVER, namespaces="/,/chat")
    assert lint(world(client=_client("https://chat.example.com/chat"), server=server), RULE) == []


def test_path_meant_as_a_namespace_is_left_to_sg112() -> None:
    findings = lint(world(client=_client("https://chat.example.com/admin")))
    assert not of(findings, "SG109") and of(findings, "SG112")


def test_path_without_a_known_server_is_reported() -> None:
    [finding] = lint(world(client=_client("https://chat.example.com/admin"), route=None), RULE)
    assert "no server it reaches" not in finding.message


def test_path_a_route_serves_under_is_read_as_the_http_path() -> None:
    # The client reaches the server, but another rule routes /api/socket.io/: /api reads as the HTTP prefix.
    route = ROUTE.replace("  - match:\n", "  - match:\n    - uri: {prefix: /api/socket.io/}\n    route:\n"
                          "    - destination: {host: chat, port: {number: 80}}\n  - match:\n", 1)
    [finding] = lint(world(client=_client("https://chat.example.com/api"), route=route), RULE)
    assert "path /api is a Socket.IO namespace" in finding.message
    assert lint(world(client=_client("https://chat.example.com/api")), RULE) == []  # no such route: SG112's
