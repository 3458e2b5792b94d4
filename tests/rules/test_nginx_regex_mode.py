"""ingress-nginx regex mode: a socket path is still a socket route, and a rewrite that drops it shows.

When any Ingress of a host sets `use-regex`, or a `rewrite-target` that differs from a path of
the host, every location of the host (Exact ones included) is `~* "^path"`. Zero-config
inference must still see `/socket.io/` there (SG004), and a rewrite that delivers the handshake
without its socket path must be reported (SG102), annotated server or not.
"""

from __future__ import annotations

import re

import pytest
from nginx_kit import app, codes_on, ingress, lint

from socketguard.engine.findings import Finding, Severity

# What puts the host in regex mode, and on which Ingress: the socket path's own, or another one.
TRIGGERS = {
    "use-regex on another Ingress": ({}, {"use-regex": "true"}),
    "rewrite-target on another Ingress": ({}, {"rewrite-target": "/$2"}),
    "use-regex on the socket Ingress": ({"use-regex": "true"}, {}),
    "use-regex True (Go's ParseBool) on another Ingress": ({}, {"use-regex": "True"}),
}
PLAIN_CASES = [(path, path_type) for path in ("/socket.io/", "/socket.io", "/chat/socket.io/")
               for path_type in ("Exact", "Prefix", "ImplementationSpecific")
               if not (path_type == "Exact" and not path.endswith("/"))]  # `= /socket.io`: see below


def host(socket_path: str, path_type: str, own: dict[str, str], other: dict[str, str]) -> list[Finding]:
    return lint(
        ingress("realtime", [(socket_path, path_type, "realtime")], own),
        ingress("api", [("/api(/|$)(.*)", "ImplementationSpecific", "api")], other),
        *app("realtime"), *app("api"),
    )


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize(("socket_path", "path_type"), PLAIN_CASES)
def test_regex_mode_changes_nothing_for_a_socket_path_that_means_itself(
        socket_path: str, path_type: str, trigger: str) -> None:
    """Whatever SocketGuard says about a plain socket path, it says in regex mode too (SG004 included)."""
    plain = host(socket_path, path_type, {}, {})
    regex = host(socket_path, path_type, *TRIGGERS[trigger])
    assert "SG004" in codes_on(plain, "realtime")
    assert codes_on(regex, "realtime") == codes_on(plain, "realtime")
    assert "SG004" not in codes_on(regex, "api")


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize(("socket_path", "path_type"), [
    ("/socket.io", "Exact"),  # `= /socket.io` misses the handshake; `~* "^/socket.io"` catches it
    *(("/Socket.IO/", path_type) for path_type in ("Exact", "Prefix", "ImplementationSpecific")),  # `~*`
])
def test_in_regex_mode_letter_case_and_an_exact_slash_no_longer_miss(socket_path: str, path_type: str,
                                                                      trigger: str) -> None:
    plain = host(socket_path, path_type, {}, {})
    regex = host(socket_path, path_type, *TRIGGERS[trigger])
    assert {"SG101", "SG102", "SG104"} & {f.code for f in plain}
    assert "SG004" in codes_on(regex, "realtime")
    assert not {"SG101", "SG102", "SG104"} & {f.code for f in regex}, [f.message for f in regex]


def test_a_rewrite_target_equal_to_the_path_is_no_regex_mode() -> None:
    """ingress-nginx emits no rewrite, and keeps plain locations, when the target is the path itself.

    The Ingress is not the host's first in the controller's order (names descending without
    timestamps): the first one's annotations also go to the host's default `location /`, whose
    path differs from the target, and that alone would turn regex mode on (tests/oracles/nginx).
    """
    findings = lint(
        ingress("a-same", [("/socket.io/", "Prefix", "realtime")], {"rewrite-target": "/socket.io/"}),
        ingress("exact", [("/socket.io", "Exact", "realtime")]),
        *app("realtime"),
    )
    assert "SG104" in {f.code for f in findings}  # `= /socket.io` stays an exact location
    assert not [f for f in findings if f.code == "SG102"]


@pytest.mark.parametrize("target", ["/$1", "/$2", "/"])
@pytest.mark.parametrize("socket_path", ["/socket.io/", "/socket.io", "/chat/socket.io/"])
def test_a_rewrite_that_drops_the_socket_path_is_reported(socket_path: str, target: str) -> None:
    """The classic failure: the socket path shares an Ingress with `rewrite-target` and has no capture group."""
    for server in ({}, {"socketguard.io/role": "server"}):
        findings = lint(
            ingress("app", [("/api(/|$)(.*)", "ImplementationSpecific", "api"), (socket_path, "Prefix", "realtime")],
                    {"rewrite-target": target}),
            *app("api"), *app("realtime", server),
        )
        (mismatch,) = [f for f in findings if f.code == "SG102"]
        assert (mismatch.subject.name, mismatch.field_path) == (
            "app", "metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target']")
        assert "as /," in mismatch.message
        assert mismatch.severity is (Severity.WARNING if not server else Severity.ERROR)  # zero-config cap
        # the route is the fix, never a server on `/`
        assert mismatch.fixes[0].startswith(f"move `{socket_path}` to an Ingress of its own")
        assert not any("server path to /:" in fix or "path: /;" in fix for fix in mismatch.fixes)


@pytest.mark.parametrize("socket_path", ["/socket.io/", "/chat/socket.io/"])
def test_the_first_suggested_route_fix_removes_the_mismatch(socket_path: str) -> None:
    """Applied as written: the socket path alone (with the capture group when the server is on /socket.io)."""
    api = ("/api(/|$)(.*)", "ImplementationSpecific", "api")
    broken = [ingress("app", [api, (socket_path, "Prefix", "realtime")], {"rewrite-target": "/$2"}),
              *app("api"), *app("realtime")]
    (mismatch,) = [f for f in lint(*broken) if f.code == "SG102"]
    first = mismatch.fixes[0]
    assert first.startswith(f"move `{socket_path}` to an Ingress of its own")
    path = re.search(r"`path: ([^`]+)`", first)
    target = re.search(r"`rewrite-target: ([^`]+)`", first)
    alone = (ingress("realtime", [(path.group(1), "ImplementationSpecific", "realtime")],
                     {"rewrite-target": target.group(1)}) if path and target
             else ingress("realtime", [(socket_path, "Prefix", "realtime")]))
    fixed = lint(ingress("app", [api], {"rewrite-target": "/$2"}), alone, *app("api"), *app("realtime"))
    assert "SG004" in codes_on(fixed, "realtime")
    assert not [f for f in fixed if f.code == "SG102"], [f.message for f in fixed]
    assert (path is None) == (socket_path == "/socket.io/")  # a capture group only where it is needed


def test_the_shared_capture_group_fix_removes_the_mismatch() -> None:
    api = ("/api(/|$)(.*)", "ImplementationSpecific", "api")
    broken = [ingress("app", [api, ("/socket.io/", "Prefix", "realtime")], {"rewrite-target": "/$2"}),
              *app("api"), *app("realtime")]
    (mismatch,) = [f for f in lint(*broken) if f.code == "SG102"]
    path = re.search(r"`path: ([^`]+)`", mismatch.fixes[1])
    target = re.search(r"`rewrite-target: ([^`]+)`", mismatch.fixes[1])
    assert path and target and (path.group(1), target.group(1)) == ("/(socket\\.io/.*)", "/$1")
    fixed = lint(ingress("app", [api, (path.group(1), "ImplementationSpecific", "realtime")],
                         {"rewrite-target": target.group(1)}), *app("api"), *app("realtime"))
    assert "SG004" in codes_on(fixed, "realtime")
    assert not [f for f in fixed if f.code == "SG102"]
