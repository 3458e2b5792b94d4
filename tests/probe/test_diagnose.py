"""From an HTTP answer to a cause: the answers below are the bodies real servers and proxies send."""

from __future__ import annotations

import pytest

from socketguard.probe.diagnose import (
    cors_check,
    engineio_error,
    from_answer,
    not_engineio,
    upgrade_not_switched,
)
from socketguard.probe.model import Cause, HttpAnswer

NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
    "</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
)


def answer(status: int, body: str = "", **headers: str) -> HttpAnswer:
    return HttpAnswer(status, "", {key.replace("_", "-"): value for key, value in headers.items()}, body)


def polling(status: int, body: str = "", **headers: str) -> Cause:
    return from_answer(answer(status, body, **headers), path="/socket.io", websocket=False, sid="s1").cause


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"code":0,"message":"Transport unknown"}', 0),
        ('{"code":1,"message":"Session ID unknown"}', 1),
        ('{"code":2,"message":"Bad handshake method"}', 2),
        ('{"code":3,"message":"Bad request"}', 3),
        ('{"code":4,"message":"Forbidden"}', 4),
        ('{"code":5,"message":"Unsupported protocol version"}', 5),
        ("Session ID unknown", 1),
        ('"Invalid session Z3x"', 1),
        ('"Invalid transport"', 0),
        ('"The client is using an unsupported version of the Socket.IO or Engine.IO protocols"', 5),
        ('"Invalid websocket upgrade"', 3),
    ],
)
def test_engineio_refusals_of_both_servers_map_to_node_codes(body: str, code: int) -> None:
    refusal = engineio_error(answer(400, body))

    assert refusal is not None and refusal[0] == code


@pytest.mark.parametrize("body", ["", "Bad Request", "<html>400</html>", '{"error":"nope"}'])
def test_other_bodies_are_not_engineio_refusals(body: str) -> None:
    assert engineio_error(answer(400, body)) is None


def test_unknown_session_means_no_sticky_sessions() -> None:
    diagnosis = from_answer(
        answer(400, '{"code":1,"message":"Session ID unknown"}'), path="/socket.io", websocket=False, sid="s1"
    )

    assert diagnosis.cause is Cause.NO_STICKY_SESSIONS
    assert diagnosis.engineio_code == 1
    assert "s1" in diagnosis.summary


@pytest.mark.parametrize(
    ("status", "body", "websocket", "cause"),
    [
        (400, '{"code":0,"message":"Transport unknown"}', False, Cause.ENGINEIO_ERROR),
        (400, '{"code":0,"message":"Transport unknown"}', True, Cause.UPGRADE_REFUSED),
        (400, '{"code":3,"message":"Bad request"}', False, Cause.ENGINEIO_ERROR),
        (400, '{"code":3,"message":"Bad request"}', True, Cause.UPGRADE_REFUSED),
        (403, '{"code":4,"message":"Forbidden"}', False, Cause.FORBIDDEN),
        (400, '{"code":5,"message":"Unsupported protocol version"}', False, Cause.ENGINEIO_ERROR),
        (400, '"https://evil.example is not an accepted origin."', False, Cause.CORS),
        (400, '"https://evil.example is not an accepted origin."', True, Cause.CORS),
    ],
)
def test_engineio_codes_by_transport(status: int, body: str, websocket: bool, cause: Cause) -> None:
    diagnosis = from_answer(answer(status, body), path="/socket.io", websocket=websocket, sid=None)

    assert diagnosis.cause is cause


def test_nginx_own_404_page_says_no_location_matched() -> None:
    diagnosis = from_answer(answer(404, NGINX_404, server="nginx/1.22.1"), path="/x", websocket=False, sid=None)

    assert diagnosis.cause is Cause.WRONG_PATH
    assert "nginx's own" in diagnosis.summary


def test_envoy_empty_404_says_no_route_matched() -> None:
    diagnosis = from_answer(answer(404, "", server="istio-envoy"), path="/x", websocket=False, sid=None)

    assert "no route matched" in diagnosis.summary


def test_application_404_quotes_the_path_it_received_without_html() -> None:
    body = "<!DOCTYPE html><html><body><pre>Cannot GET /api/socket.io/?EIO=4</pre></body></html>"
    diagnosis = from_answer(answer(404, body), path="/socket.io", websocket=False, sid=None)

    assert "'Cannot GET /api/socket.io/?EIO=4'" in diagnosis.summary


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_proxy_errors(status: int) -> None:
    assert polling(status, "upstream connect error", server="envoy") is Cause.PROXY_ERROR


def test_redirect_names_its_target() -> None:
    diagnosis = from_answer(
        answer(301, "", location="https://h/socket.io/"), path="/socket.io", websocket=False, sid=None
    )

    assert diagnosis.cause is Cause.REDIRECT
    assert "https://h/socket.io/" in diagnosis.summary


def test_plain_http_to_a_tls_port_is_a_tls_problem() -> None:
    body = "<html><center>The plain HTTP request was sent to HTTPS port</center></html>"
    assert polling(400, body, server="nginx") is Cause.TLS


def test_anything_else_is_an_http_error_with_the_body() -> None:
    diagnosis = from_answer(answer(401, "login first"), path="/socket.io", websocket=False, sid=None)

    assert diagnosis.cause is Cause.HTTP_ERROR
    assert "login first" in diagnosis.summary


def test_websocket_403_without_reason_and_with_origin_is_cors() -> None:
    refused = answer(403, "")

    with_origin = upgrade_not_switched(refused, path="/p", sid=None, origin="https://evil.example")
    upgrade = upgrade_not_switched(refused, path="/p", sid="s1", origin="https://evil.example")

    assert with_origin.cause is Cause.CORS
    assert upgrade.cause is Cause.UPGRADE_REFUSED


def test_websocket_answered_200_is_an_upgrade_refused() -> None:
    diagnosis = upgrade_not_switched(answer(200, "<html>app</html>"), path="/p", sid=None, origin=None)

    assert diagnosis.cause is Cause.UPGRADE_REFUSED


@pytest.mark.parametrize(
    ("allowed", "refused"),
    [(None, True), ("https://other.example", True), ("*", False), ("https://app.example", False)],
)
def test_cors_compares_the_allowed_origin_with_the_page(allowed: str | None, refused: bool) -> None:
    headers = {} if allowed is None else {"access-control-allow-origin": allowed}
    result = cors_check("https://app.example", HttpAnswer(200, "OK", headers, "0{}"))

    assert (result is not None) is refused
    if result is not None:
        assert result.cause is Cause.CORS


def test_a_json_health_answer_is_not_engineio_and_says_why() -> None:
    diagnosis = not_engineio(answer(200, '{"status":"up"}'), path="/socket.io", problem="not an Engine.IO packet")

    assert diagnosis.cause is Cause.NOT_ENGINEIO
    assert "not an Engine.IO packet" in diagnosis.summary
    assert '{"status":"up"}' in diagnosis.summary
