from __future__ import annotations

from routing_kit import ROUTE, lint, of, where, world

from socketguard.engine.rules.sg104_exact_match_misses_handshake import RULE


def test_exact_match_without_the_slash_never_matches() -> None:
    route = ROUTE.replace("prefix: /socket.io/", "exact: /socket.io")
    findings = lint(world(route=route))
    [finding] = of(findings, "SG104")
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].match[0].uri.exact", "error")
    assert "`exact: /socket.io`" in finding.message and "/socket.io/" in finding.message
    assert "matches no rule" in finding.message
    assert "prefix: /socket.io/" in finding.fixes[0]
    assert not of(findings, "SG102") and not of(findings, "SG101")


def test_exact_match_with_the_slash_is_fine() -> None:
    route = ROUTE.replace("prefix: /socket.io/", "exact: /socket.io/")
    assert lint(world(route=route)) == []


def test_exact_match_with_a_query_never_matches() -> None:
    route = ROUTE.replace("prefix: /socket.io/", "exact: '/socket.io/?EIO=4'")
    assert of(lint(world(route=route), RULE), "SG104")


def test_exact_match_on_the_client_path_names_where_the_handshake_goes() -> None:
    route = ROUTE.replace("prefix: /socket.io/}", "exact: /socket.io}\n    route:\n    - destination: {host: chat}\n"
                          "  - match:\n    - uri: {prefix: /}")
    [finding] = lint(world(route=route), RULE)
    assert "goes to VirtualService web/chat spec.http[1] (prefix /) instead" in finding.message


def test_unrelated_exact_match_is_ignored() -> None:
    route = ROUTE.replace("prefix: /socket.io/}", "exact: /healthz}\n  - match:\n    - uri: {prefix: /socket.io/}")
    assert lint(world(route=route), RULE) == []
