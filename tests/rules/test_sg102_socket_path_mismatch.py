"""SG102 is the model rule; these cover the subtle routing cases it depends on."""

from __future__ import annotations

from routing_kit import ROUTE, SERVER, annotate, lint, of, where, world

from socketguard.engine.rules.sg102_socket_path_mismatch import RULE


def _route(http: str) -> str:
    return ROUTE.split("  http:\n")[0] + "  http:\n" + http


def _server(stack: str, path: str = "/socket.io") -> str:
    return SERVER.replace("socketguard.io/port: http", f"socketguard.io/port: http\n    socketguard.io/stack: {stack}"
                          f"\n    socketguard.io/path: {path}")


DROPS_SLASH = _route("""  - match:
    - uri: {prefix: /chat/socket.io/}
    rewrite: {uri: /socket.io}
    route:
    - destination: {host: chat, port: {number: 80}}
""")


def test_prefix_rewrite_dropping_the_slash_breaks_a_node_server() -> None:
    [finding] = lint(world(client=None, server=_server("node"), route=DROPS_SLASH), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].rewrite.uri", "error")
    assert "as /socket.io?" not in finding.message
    assert "/socket.io" in finding.message and "/socket.io/" in finding.message


def test_prefix_rewrite_dropping_the_slash_is_fine_for_python_asgi() -> None:
    assert lint(world(client=None, server=_server("python-asgi"), route=DROPS_SLASH), RULE) == []


def test_prefix_rewrite_dropping_the_slash_breaks_python_wsgi() -> None:
    assert of(lint(world(client=None, server=_server("python"), route=DROPS_SLASH), RULE), "SG102")


REGEX = _route("""  - match:
    - uri: {regex: '^/chat/socket\\.io/.*'}
    rewrite:
      uriRegexRewrite: {match: '^/chat/(socket\\.io/.*)$', rewrite: '/\\1'}
    route:
    - destination: {host: chat, port: {number: 80}}
""")


def test_regex_match_with_uri_regex_rewrite_reaching_the_server_path() -> None:
    assert lint(world(client=None, route=REGEX), RULE) == []


def test_regex_match_with_uri_regex_rewrite_to_another_path() -> None:
    findings = lint(world(client=None, server=_server("node", "/ws"), route=REGEX), RULE)
    [finding] = findings
    assert where(finding)[:3] == ("VirtualService", "web/chat", "spec.http[0].rewrite.uriRegexRewrite")
    assert "/ws/" in finding.message


CANARY_SERVER = (annotate(SERVER, path="/v2/socket.io")
                 .replace("name: chat\n  namespace", "name: chat-canary\n  namespace")
                 .replace("{app: chat, version: v1}", "{app: chat-canary}")
                 .replace("{app: chat}", "{app: chat-canary}"))
CANARY_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: chat-canary, namespace: web}
spec:
  selector: {app: chat-canary}
  ports: [{name: http, port: 80, targetPort: http}]
"""
CANARY = _route("""  - match:
    - uri: {prefix: /socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
      weight: 90
    - destination: {host: chat-canary, port: {number: 80}}
      weight: 10
""")


def test_canary_with_another_path_is_a_mismatch_for_its_share() -> None:
    [finding] = lint(world(client=None, route=CANARY, extra=[CANARY_SERVER, CANARY_SERVICE]), RULE)
    assert "chat-canary" in finding.message and "10% of the traffic" in finding.message
