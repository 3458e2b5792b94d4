"""SG116: a regex-looking Ingress path that ingress-nginx refuses (Prefix/Exact) or reads literally.

General cases over regex spellings and path types, with and without regex mode, and the fixes the
finding suggests applied as written.
"""

from __future__ import annotations

import re

import pytest
from nginx_kit import app, codes_on, ingress, lint

from socketguard.engine.findings import Finding, Severity

REGEX_PATHS = ["/(socket.io|ws)(/|$)(.*)", "/socket.io/(.*)", "/(?:socket\\.io)/.*", "/chat/socket.io/.*"]
PLAIN_PATHS = ["/socket.io/", "/socket.io", "/chat/socket.io/"]


def sg116(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code == "SG116"]


def realtime(path: str, path_type: str, annotations: dict[str, str] | None = None) -> list[Finding]:
    return lint(ingress("realtime", [(path, path_type, "realtime"), ("/", "Prefix", "web")], annotations),
                *app("realtime"), *app("web"))


@pytest.mark.parametrize("path", REGEX_PATHS)
def test_a_regex_without_regex_mode_is_a_literal_prefix_the_handshake_misses(path: str) -> None:
    (finding,) = sg116(realtime(path, "ImplementationSpecific"))
    assert (finding.severity, finding.field_path) == (Severity.ERROR, "spec.rules[0].http.paths[0].path")
    assert "plain prefix location" in finding.message
    assert "goes to Ingress app/realtime spec.rules[0].http.paths[1] (Prefix /) instead" in finding.message


@pytest.mark.parametrize("path", REGEX_PATHS)
@pytest.mark.parametrize("path_type", ["Prefix", "Exact"])
@pytest.mark.parametrize("use_regex", [False, True])
def test_regex_characters_in_a_prefix_or_exact_path_get_the_ingress_refused(path: str, path_type: str,
                                                                             use_regex: bool) -> None:
    (finding,) = sg116(realtime(path, path_type, {"use-regex": "true"} if use_regex else None))
    assert "refuses the whole Ingress" in finding.message and "v1.12.0" in finding.message


@pytest.mark.parametrize("path", PLAIN_PATHS)
@pytest.mark.parametrize("path_type", ["Prefix", "Exact", "ImplementationSpecific"])
def test_plain_paths_are_fine(path: str, path_type: str) -> None:
    assert sg116(realtime(path, path_type)) == []


def test_a_regex_in_regex_mode_is_the_socket_route() -> None:
    findings = realtime("/(socket.io|ws)(/|$)(.*)", "ImplementationSpecific", {"use-regex": "true"})
    assert sg116(findings) == [] and "SG004" in codes_on(findings, "realtime")


def test_an_invalid_path_anywhere_in_a_socket_ingress_is_reported() -> None:
    """The refusal takes the whole Ingress, its good socket path with it."""
    findings = lint(ingress("app", [("/socket.io/", "Prefix", "realtime"), ("/api/(.*)", "Prefix", "web")]),
                    *app("realtime"), *app("web"))
    assert [f.field_path for f in sg116(findings)] == ["spec.rules[0].http.paths[1].path"]


def test_ingresses_without_socket_traffic_are_not_this_rule_s_business() -> None:
    findings = lint(ingress("web", [("/api/(.*)", "Prefix", "web"), ("/(v1|v2)/.*", "ImplementationSpecific", "web")]),
                    *app("web"))
    assert sg116(findings) == []


def test_a_regex_path_that_leads_to_an_annotated_server_is_reported() -> None:
    findings = lint(ingress("app", [("/chat/(.*)", "ImplementationSpecific", "realtime")]),
                    *app("realtime", {"socketguard.io/role": "server", "socketguard.io/path": "/chat/socket.io"}))
    (finding,) = sg116(findings)
    assert "the handshake /chat/socket.io/ matches no location" in finding.message


def test_each_suggested_fix_applied_as_written_makes_it_a_socket_route() -> None:
    path = "/(socket.io|ws)(/|$)(.*)"
    (finding,) = sg116(realtime(path, "ImplementationSpecific"))
    use_regex, plain = finding.fixes
    annotation = re.search(r"`nginx\.ingress\.kubernetes\.io/([a-z-]+): \"(\w+)\"`", use_regex)
    prefix = re.search(r"`path: ([^`]+)`", plain)
    assert annotation and prefix
    for fixed in (realtime(path, "ImplementationSpecific", {annotation.group(1): annotation.group(2)}),
                  realtime(prefix.group(1), "ImplementationSpecific")):
        assert sg116(fixed) == [] and "SG004" in codes_on(fixed, "realtime")
