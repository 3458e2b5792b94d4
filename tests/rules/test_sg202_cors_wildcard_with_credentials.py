"""SG202: `*` with credentials at a node server (error when a credentialed cross-origin page polls) or in corsPolicy."""

from __future__ import annotations

from topology import CLIENT, GATEWAY, ROUTE, SERVER, lint, only, page, route, server, service

from socketguard.engine.findings import Severity

APP = "https://app.example.com"
ROUTED = (service(), GATEWAY, route())
WILDCARD = {"cors-origins": "*", "cors-credentials": "true"}


def test_credentialed_cross_origin_page_makes_it_an_error() -> None:
    [finding] = only(lint(page(APP, client_credentials="true"), server(WILDCARD), *ROUTED), "SG202")
    assert finding.severity is Severity.ERROR
    assert finding.subject == SERVER
    assert finding.field_path == "metadata.annotations['socketguard.io/cors-origins']"
    assert "Access-Control-Allow-Origin: *" in finding.message and APP in finding.message
    assert CLIENT in finding.related
    assert any(APP in fix for fix in finding.fixes)


def test_same_origin_page_leaves_it_latent() -> None:
    [finding] = only(lint(page("https://chat.example.com", client_credentials="true"), server(WILDCARD), *ROUTED),
                     "SG202")
    assert finding.severity is Severity.WARNING
    assert "latent" in finding.message and "same-origin" in finding.message


def test_no_credentials_no_clients_or_websocket_only_are_latent() -> None:
    cases = [
        (page(APP), server(WILDCARD)),
        (server(WILDCARD),),
        (page(APP, client_credentials="true", transports="websocket"), server({**WILDCARD, "transports": "websocket"})),
    ]
    for docs in cases:
        [finding] = only(lint(*docs, *ROUTED), "SG202")
        assert finding.severity is Severity.WARNING, finding


def test_python_socketio_echoes_the_origin() -> None:
    docs = (page(APP, client_credentials="true"), server({**WILDCARD, "stack": "python-asgi"}), *ROUTED)
    assert not only(lint(*docs), "SG202")


def test_wildcard_without_credentials_is_not_this_rule() -> None:
    assert not only(lint(page(APP), server({"cors-origins": "*"}), *ROUTED), "SG202")


def test_a_matching_cors_policy_replaces_the_wildcard_header() -> None:
    policy = "corsPolicy: {allowOrigins: [{exact: https://app.example.com}], allowCredentials: true}"
    docs = (page(APP, client_credentials="true"), server(WILDCARD), service(), GATEWAY, route(policy))
    assert {f.severity for f in only(lint(*docs), "SG202")} == {Severity.WARNING}


def test_cors_policy_wildcard_with_credentials_is_a_warning_on_the_route() -> None:
    policy = "corsPolicy: {allowOrigins: [{regex: '.*'}], allowCredentials: true}"
    [finding] = only(lint(page(APP, client_credentials="true"), server(), service(), GATEWAY, route(policy)),
                     "SG202")
    assert finding.severity is Severity.WARNING
    assert finding.subject == ROUTE
    assert finding.field_path == "spec.http[0].corsPolicy.allowOrigins"
    assert "echoes" in finding.message
    assert SERVER in finding.related


def test_cors_policy_wildcard_without_credentials_is_fine() -> None:
    policy = "corsPolicy: {allowOrigins: [{exact: '*'}]}"
    assert not only(lint(page(APP), server(), service(), GATEWAY, route(policy)), "SG202")
