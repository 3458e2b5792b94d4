"""The allow-list that keeps unattended probes on in-cluster Services and listed hosts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketguard.probe import is_allowed_target, target_refusal

LISTED = ["api.example.com", "*.apps.example.net", "10.0.0.7"]


@pytest.mark.parametrize(
    "url",
    [
        "http://mageagent.nexus.svc:8080/socket.io/",
        "http://mageagent.nexus.svc.cluster.local/socket.io",
        "https://MageAgent.Nexus.SVC.cluster.local./x",
        "wss://api.example.com",
        "https://chat.apps.example.net",
        "https://a.b.apps.example.net",
        "http://10.0.0.7:3000",
    ],
)
def test_services_and_listed_hosts_are_allowed(url: str) -> None:
    assert is_allowed_target(url, LISTED), target_refusal(url, LISTED)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "IP address"),
        ("http://127.0.0.1:6443/", "IP address"),
        ("http://[::1]/", "IP address"),
        ("https://example.com", "neither"),
        ("https://apps.example.net", "neither"),
        ("http://svc.cluster.local", "neither"),
        ("http://pod.name.ns.svc.cluster.local", "neither"),
        ("http://name.ns.svc.evil.example", "neither"),
        ("http://name.ns.svc.cluster.local.evil.example", "neither"),
        ("http://api.example.com.evil.example", "neither"),
        ("http://user:pw@api.example.com", "user:password"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://name.ns.svc", "scheme"),
        ("http://name.ns.svc:99999", "not a valid URL"),
        ("http:///socket.io", "no host"),
    ],
)
def test_everything_else_is_refused_with_a_reason(url: str, reason: str) -> None:
    refusal = target_refusal(url, LISTED)

    assert refusal is not None and reason in refusal
    assert not is_allowed_target(url, LISTED)


def test_a_custom_cluster_domain_replaces_cluster_local() -> None:
    assert is_allowed_target("http://web.shop.svc.corp.internal", [], cluster_domain="corp.internal")
    assert not is_allowed_target("http://web.shop.svc.cluster.local", [], cluster_domain="corp.internal")


@given(st.text(max_size=120), st.lists(st.text(max_size=30), max_size=3))
def test_the_allow_list_never_raises(url: str, allowed: list[str]) -> None:
    for candidate in (url, "http://" + url):
        assert isinstance(is_allowed_target(candidate, allowed), bool)
