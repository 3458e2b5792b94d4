"""SG709: socket-relevant ingress-nginx annotations without a Gateway API equivalent."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, ingress, only


def test_an_upgrade_snippet_is_reported() -> None:
    snippet = 'proxy_set_header Upgrade $http_upgrade;\nproxy_set_header Connection "upgrade";\n'
    difference = only(compared(before(configuration_snippet=snippet), faithful_after()), "SG709")
    assert "configuration-snippet" in difference.finding.message
    assert difference.side == "after"


def test_a_canary_ingress_is_reported() -> None:
    canary = ingress(name="chat-canary", backend="chat", canary="true", canary_weight="10")
    difference = only(compared([*before(), canary], faithful_after()), "SG709")
    assert "weight 10" in difference.before


def test_plain_annotations_are_not_flagged() -> None:
    assert "SG709" not in codes(compared(before(proxy_read_timeout="3600"), faithful_after()))
