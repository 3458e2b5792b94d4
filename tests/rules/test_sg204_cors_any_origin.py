"""SG204: `*` or `reflect` on a server: any website can open sockets to it."""

from __future__ import annotations

from topology import SERVER, lint, only, server

from socketguard.engine.findings import Severity

PATH = "metadata.annotations['socketguard.io/cors-origins']"


def test_wildcard_on_node() -> None:
    [finding] = only(lint(server({"cors-origins": "*"})), "SG204")
    assert finding.severity is Severity.WARNING
    assert (finding.subject, finding.field_path) == (SERVER, PATH)
    assert "`*`" in finding.message and "never checks the Origin of a WebSocket" in finding.message
    assert "cookies" not in finding.message
    assert any("allowRequest" in fix for fix in finding.fixes)


def test_reflect_with_credentials_mentions_cookies() -> None:
    [finding] = only(lint(server({"cors-origins": "reflect", "cors-credentials": "true"})), "SG204")
    assert "`reflect`" in finding.message and "cookies" in finding.message


def test_python_wildcard_echoes_with_its_default_credentials() -> None:
    [finding] = only(lint(server({"stack": "python", "cors-origins": "*"})), "SG204")
    assert "cookies" in finding.message and "WebSocket" not in finding.message
    assert any("cors_allowed_origins" in fix for fix in finding.fixes)


def test_listed_origins_and_default_are_fine() -> None:
    assert not only(lint(server({"cors-origins": "https://app.example.com"})), "SG204")
    assert not only(lint(server()), "SG204")
