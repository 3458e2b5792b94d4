"""The port renders what the controller renders (controller-v1.15.1) for the cases the oracle leans on."""

from __future__ import annotations

from typing import Any

from ingress_nginx_port import build_servers, duplicate_locations, render_server

ANNOTATION = "nginx.ingress.kubernetes.io/"


def ingress(name: str, paths: list[tuple[str, str]], **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "web",
                     "annotations": {ANNOTATION + key.replace("_", "-"): value for key, value in annotations.items()}},
        "spec": {"rules": [{"host": "chat.test", "http": {"paths": [
            {"path": path, "pathType": path_type, "backend": {"service": {"name": "chat", "port": {"number": 80}}}}
            for path_type, path in paths]}}]},
    }


def locations(*ingresses: dict[str, Any]) -> list[str]:
    server = next(s for s in build_servers(ingresses) if s.hostname == "chat.test")
    return [line.strip() for line in render_server(server, "127.0.0.1:80").splitlines()
            if line.strip().startswith(("location", "if"))]


def test_prefix_expands_to_a_slash_location_and_an_exact_one() -> None:
    assert locations(ingress("a", [("Prefix", "/app")])) == [
        'location "/app/" { proxy_pass http://web-chat-80; }',
        'location = "/app" { proxy_pass http://web-chat-80; }',
        'location "/" { proxy_pass http://upstream-default-backend; }',
    ]


def test_prefix_with_a_trailing_slash_keeps_its_path_and_an_exact_location_of_it() -> None:
    assert locations(ingress("a", [("Prefix", "/app/")]))[:2] == [
        'location "/app/" { proxy_pass http://web-chat-80; }',
        'location = "/app/" { proxy_pass http://web-chat-80; }',
    ]


def test_a_rewrite_turns_every_location_of_the_host_into_a_regex_exact_ones_included() -> None:
    rendered = locations(ingress("a", [("ImplementationSpecific", "/api(/|$)(.*)")], rewrite_target="/$2"),
                         ingress("b", [("Exact", "/socket.io/")]))
    assert rendered == [
        'location ~* "^/api(/|$)(.*)" { rewrite "(?i)/api(/|$)(.*)" /$2 break; proxy_pass http://web-chat-80; }',
        'location ~* "^/socket.io/" { proxy_pass http://web-chat-80; }',
        'location ~* "^/" { proxy_pass http://upstream-default-backend; }',
    ]


def test_the_default_location_of_a_host_carries_the_first_ingress_s_rewrite() -> None:
    rendered = locations(ingress("b", [("ImplementationSpecific", "/api(/|$)(.*)")], rewrite_target="/$2"),
                         ingress("a", [("Exact", "/socket.io/")]))
    assert rendered[-1] == 'location ~* "^/" { rewrite "(?i)/" /$2 break; proxy_pass http://upstream-default-backend; }'


def test_a_rewrite_target_equal_to_an_unslashed_prefix_path_still_rewrites_its_slash_location() -> None:
    # The no-op check runs before the Prefix expansion, the rewrite after it (path /app/ != /app).
    assert locations(ingress("a", [("Prefix", "/app")], rewrite_target="/app"))[:2] == [
        'location ~* "^/app/" { rewrite "(?i)/app/" /app break; proxy_pass http://web-chat-80; }',
        'location ~* "^/app" { proxy_pass http://web-chat-80; }',
    ]


def test_use_regex_false_and_an_exact_no_op_rewrite_leave_plain_locations() -> None:
    rendered = locations(ingress("b", [("Exact", "/")]), ingress("a", [("Exact", "/x")], use_regex="false"))
    assert rendered[0] == 'location = "/x" { proxy_pass http://web-chat-80; }'


def test_same_path_and_type_goes_to_the_first_ingress_by_name_descending_without_timestamps() -> None:
    rendered = locations(ingress("a", [("Exact", "/x")]), ingress("b", [("Exact", "/x")], rewrite_target="/y"))
    assert rendered[0] == 'location ~* "^/x" { rewrite "(?i)/x" /y break; proxy_pass http://web-chat-80; }'


def test_app_root_redirects_only_the_root() -> None:
    assert locations(ingress("a", [("Prefix", "/app")], app_root="/app"))[0] == (
        "if ($uri = /) { return 302 $scheme://$http_host/app; }")


def test_a_path_rendered_twice_is_a_configuration_nginx_refuses() -> None:
    servers = build_servers([ingress("a", [("Prefix", "/app"), ("ImplementationSpecific", "/app/")])])
    assert [duplicate_locations(s) for s in servers if s.hostname == "chat.test"] == [['"/app/"']]
