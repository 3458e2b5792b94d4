"""SG203: the route's corsPolicy and the server's CORS both set and disagreeing."""

from __future__ import annotations

from topology import GATEWAY, ROUTE, SERVER, lint, only, route, server, service

from socketguard.engine.findings import Finding, Severity

APP = "https://app.example.com"


def _policy(origins: str, credentials: bool = True) -> str:
    return f"corsPolicy: {{allowOrigins: [{origins}], allowCredentials: {str(credentials).lower()}}}"


def _lint(notes: dict[str, str], policy: str) -> list[Finding]:
    return only(lint(server(notes), service(), GATEWAY, route(policy)), "SG203")


def test_different_origins_are_reported_on_the_cors_policy() -> None:
    [finding] = _lint({"cors-origins": "https://admin.example.com", "cors-credentials": "true"},
                      _policy(f"{{exact: {APP}}}"))
    assert finding.severity is Severity.WARNING
    assert finding.subject == ROUTE
    assert finding.field_path == "spec.http[0].corsPolicy"
    assert "https://admin.example.com" in finding.message and APP in finding.message
    assert SERVER in finding.related
    assert "union" not in finding.message and "pass through" in finding.message


def test_same_origins_and_credentials_agree() -> None:
    assert not _lint({"cors-origins": APP, "cors-credentials": "true"}, _policy(f"{{exact: {APP}}}"))
    assert not _lint({"cors-origins": APP, "cors-credentials": "true"}, _policy("{prefix: 'https://app.'}"))
    assert not _lint({"cors-origins": "*", "cors-credentials": "true"}, _policy("{regex: '.*'}"))


def test_wildcard_on_one_side_only() -> None:
    [finding] = _lint({"cors-origins": "*", "cors-credentials": "true"}, _policy(f"{{exact: {APP}}}"))
    assert "the server allows any origin" in finding.message


def test_credentials_flag_alone_differs() -> None:
    [finding] = _lint({"cors-origins": APP}, _policy(f"{{exact: {APP}}}"))
    assert "allowCredentials is true, the server's credentials false" in finding.message


def test_python_server_keeps_its_own_check() -> None:
    [finding] = _lint({"stack": "python", "cors-origins": "https://admin.example.com"}, _policy(f"{{exact: {APP}}}"))
    assert "400" in finding.message


def test_server_without_cors_is_not_a_conflict() -> None:
    assert not _lint({}, _policy(f"{{exact: {APP}}}"))


def test_a_shadowing_rule_is_compared_with_the_servers_it_reaches_itself() -> None:
    shadowing = f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: chat, namespace: web}}
spec:
  hosts: [chat.example.com]
  gateways: [public]
  http:
    - corsPolicy: {{allowOrigins: [{{exact: {APP}}}]}}
      route:
        - destination: {{host: site}}
    - match:
        - uri: {{prefix: /socket.io/}}
      route:
        - destination: {{host: chat}}
"""
    docs = (server({"cors-origins": "https://admin.example.com"}), service(), service("site"),
            server(name="site", annotated=False), GATEWAY, shadowing)
    findings = lint(*docs)
    assert not only(findings, "SG203")
