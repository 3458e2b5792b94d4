"""SG201: a cross-origin page whose origin the server (per stack) or the corsPolicy does not allow."""

from __future__ import annotations

from topology import CLIENT, GATEWAY, ROUTE, SERVER, client, lint, only, page, route, server, service

from socketguard.engine.findings import Severity

APP = "https://app.example.com"
ROUTED = (service(), GATEWAY, route())


def test_node_without_cors_refuses_a_cross_origin_page() -> None:
    [finding] = only(lint(page(APP), server(), *ROUTED), "SG201")
    assert finding.severity is Severity.ERROR
    assert finding.subject == SERVER
    assert finding.field_path == "metadata.annotations"
    assert APP in finding.message and "https://chat.example.com" in finding.message
    assert "no cors option" in finding.message
    assert CLIENT in finding.related and ROUTE in finding.related
    assert any("CORS does not apply to WebSocket on node" in fix for fix in finding.fixes)
    assert any("corsPolicy" in fix for fix in finding.fixes)
    assert any("polling" in text for text in finding.assumptions)


def test_origin_outside_the_list_points_at_the_annotation() -> None:
    [finding] = only(lint(page(APP), server({"cors-origins": "https://admin.example.com"}), *ROUTED), "SG201")
    assert finding.field_path == "metadata.annotations['socketguard.io/cors-origins']"
    assert "https://admin.example.com" in finding.message
    assert any("https://admin.example.com" in fix and APP in fix for fix in finding.fixes)


def test_listed_origin_and_same_origin_pass() -> None:
    assert not only(lint(page(APP), server({"cors-origins": f"https://x.example.com,{APP}"}), *ROUTED), "SG201")
    assert not only(lint(page("https://chat.example.com"), server(), *ROUTED), "SG201")
    assert not only(lint(page("https://chat.example.com:443", url="wss://chat.example.com/"), server(), *ROUTED),
                    "SG201")


def test_websocket_only_is_not_subject_to_cors_on_node() -> None:
    docs = (page(APP, transports="websocket"), server({"transports": "websocket"}), *ROUTED)
    assert not only(lint(*docs), "SG201")


def test_python_default_refuses_other_origins_even_over_websocket() -> None:
    docs = (page(APP, transports="websocket"), server({"stack": "python-asgi"}), *ROUTED)
    [finding] = only(lint(*docs), "SG201")
    assert finding.severity is Severity.ERROR
    assert "websocket" in finding.message and "400" in finding.message


def test_python_list_without_its_own_origin_refuses_a_same_origin_page() -> None:
    docs = (page("https://chat.example.com"), server({"stack": "python", "cors-origins": APP}), *ROUTED)
    [finding] = only(lint(*docs), "SG201")
    assert "on its own origin" in finding.message and "carry Origin" in finding.message


def test_python_wildcard_and_reflect_allow_everyone() -> None:
    for origins in ("*", "reflect"):
        docs = (page(APP, client_credentials="true"), server({"stack": "python", "cors-origins": origins}), *ROUTED)
        assert not only(lint(*docs), "SG201")


def test_a_matching_cors_policy_answers_for_a_node_server() -> None:
    policy = "corsPolicy: {allowOrigins: [{exact: https://app.example.com}]}"
    assert not only(lint(page(APP), server(), service(), GATEWAY, route(policy)), "SG201")


def test_a_non_matching_cors_policy_in_front_of_a_node_server_is_the_subject() -> None:
    policy = "corsPolicy: {allowOrigins: [{prefix: https://admin.}]}"
    [finding] = only(lint(page(APP), server(), service(), GATEWAY, route(policy)), "SG201")
    assert finding.subject == ROUTE
    assert finding.field_path == "spec.http[0].corsPolicy.allowOrigins"
    assert "prefix https://admin." in finding.message


def test_a_cors_policy_does_not_lift_python_socketio_origin_check() -> None:
    policy = "corsPolicy: {allowOrigins: [{exact: https://app.example.com}]}"
    [finding] = only(lint(page(APP), server({"stack": "python"}), service(), GATEWAY, route(policy)), "SG201")
    assert finding.subject == SERVER


def test_credentials_need_the_servers_consent() -> None:
    docs = (page(APP, client_credentials="true"), server({"cors-origins": APP}), *ROUTED)
    [finding] = only(lint(*docs), "SG201")
    assert finding.field_path == "metadata.annotations"  # the annotation to add (node default: false)
    assert "does not allow its credentials" in finding.message
    assert any("credentials: true" in fix for fix in finding.fixes)
    explicit = (page(APP, client_credentials="true"), server({"cors-origins": APP, "cors-credentials": "false"}),
                *ROUTED)
    [finding] = only(lint(*explicit), "SG201")
    assert finding.field_path == "metadata.annotations['socketguard.io/cors-credentials']"
    ok = (page(APP, client_credentials="true"), server({"cors-origins": APP, "cors-credentials": "true"}), *ROUTED)
    assert not only(lint(*ok), "SG201")


def test_wildcard_with_credentials_is_left_to_sg202() -> None:
    docs = (page(APP, client_credentials="true"), server({"cors-origins": "*", "cors-credentials": "true"}), *ROUTED)
    findings = lint(*docs)
    assert not only(findings, "SG201")
    assert only(findings, "SG202")


def test_mixed_content_is_left_to_sg111_and_non_browser_clients_are_skipped() -> None:
    assert not only(lint(page("https://chat.example.com", url="ws://chat.example.com"), server(), *ROUTED), "SG201")
    in_cluster = client({"client-url": "http://chat.web.svc.cluster.local"})  # a pod, not a browser page
    assert not only(lint(in_cluster, server(), service()), "SG201")


def test_inferred_server_is_capped_at_warning_and_says_what_it_assumed() -> None:
    [finding] = only(lint(page(APP), server(annotated=False), *ROUTED), "SG201")
    assert finding.severity is Severity.WARNING
    assert any("cors-origins" in text for text in finding.assumptions)


def test_python_default_refuses_its_own_page_when_the_route_rewrites_the_host() -> None:
    rewrite = "rewrite: {authority: chat.web.svc.cluster.local}"
    docs = (page("https://chat.example.com"), server({"stack": "python-asgi"}), service(), GATEWAY, route(rewrite))
    [finding] = only(lint(*docs), "SG201")
    assert finding.subject == SERVER
    assert "rewrites that to chat.web.svc.cluster.local" in finding.message
    assert any("rewrite.authority" in fix for fix in finding.fixes)
    node = (page("https://chat.example.com"), server(), service(), GATEWAY, route(rewrite))
    assert not only(lint(*node), "SG201")
