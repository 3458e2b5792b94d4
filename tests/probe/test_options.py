"""ProbeOptions: what the probe accepts, normalized, and located errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketguard.probe import ProbeOptions, ProbeUsageError


def test_defaults_follow_socketio() -> None:
    options = ProbeOptions.create("https://api.example.com")

    assert options.endpoint == "https://api.example.com/socket.io/"
    assert (options.namespace, options.transport, options.polls) == ("/", "both", 3)


@pytest.mark.parametrize(
    ("url", "path", "endpoint"),
    [
        ("wss://h:8443", None, "https://h:8443/socket.io/"),
        ("ws://h", "/app/socket.io/", "http://h/app/socket.io/"),
        ("https://h/mageagent/socket.io/", None, "https://h/mageagent/socket.io/"),
        ("https://h/mageagent/socket.io", "/mageagent/socket.io/", "https://h/mageagent/socket.io/"),
        ("http://[::1]:3000/", None, "http://[::1]:3000/socket.io/"),
    ],
)
def test_url_and_path_make_the_endpoint(url: str, path: str | None, endpoint: str) -> None:
    assert ProbeOptions.create(url, path=path).endpoint == endpoint


def test_origin_is_normalized_like_a_browser_sends_it() -> None:
    assert ProbeOptions.create("http://h", origin="https://App.Example/").origin == "https://app.example"


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("api.example.com", {}, "no scheme"),
        ("ftp://h", {}, "not one of http"),
        ("http://h/x", {"path": "/y"}, "give it once"),
        ("http://h?EIO=4", {}, "query"),
        ("http://u:p@h", {}, "user:password"),
        ("http://h:99999", {}, "invalid port"),
        ("http://h:0", {}, "port 0"),
        ("http://[::g]/", {}, "not valid"),
        ("http://" + "a" * 70 + ".com", {}, "1-63 characters"),
        ("http://exa mple.com", {}, "no host name has"),
        ("http://h", {"origin": "https://a:99999"}, "not a valid URL"),
        ("http://h", {"path": "socket.io"}, "must start with '/'"),
        ("http://h", {"namespace": "chat"}, "namespace"),
        ("http://h", {"origin": "https://app.example/page"}, "no path"),
        ("http://h", {"origin": "app.example"}, "https://app.example.com"),
        ("http://h", {"transport": "flash"}, "not one of polling"),
        ("http://h", {"polls": 21}, "between 0 and 20"),
        ("http://h", {"timeout_s": 0.0}, "timeout"),
        ("http://h", {"timeout_s": float("nan")}, "timeout"),
        ("http://h", {"ca_file": "/nonexistent/ca.pem"}, "does not exist"),
    ],
)
def test_bad_requests_are_usage_errors_naming_the_value(url: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ProbeUsageError, match=message):
        ProbeOptions.create(url, **options)  # type: ignore[arg-type]


def test_ca_file_and_insecure_contradict(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")

    with pytest.raises(ProbeUsageError, match="contradict"):
        ProbeOptions.create("https://h", ca_file=str(ca), verify_tls=False)


@given(st.text(max_size=120), st.one_of(st.none(), st.text(max_size=40)), st.one_of(st.none(), st.text(max_size=40)))
def test_any_input_is_accepted_or_a_usage_error(url: str, path: str | None, origin: str | None) -> None:
    for candidate in (url, "http://" + url, "https://h" + url):
        try:
            options = ProbeOptions.create(candidate, path=path, origin=origin)
        except ProbeUsageError:
            continue
        assert options.endpoint.startswith(("http://", "https://"))
