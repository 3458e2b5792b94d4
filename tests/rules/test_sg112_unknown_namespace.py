from __future__ import annotations

from routing_kit import CLIENT, SERVER, annotate, lint, where, world

from socketguard.engine.rules.sg112_unknown_namespace import RULE

ADMIN = CLIENT.replace("client-url: https://chat.example.com", "client-url: https://chat.example.com/admin")


def test_default_namespace_is_fine() -> None:
    assert lint(world(), RULE) == []


def test_namespace_the_server_does_not_serve() -> None:
    [finding] = lint(world(client=ADMIN), RULE)
    assert where(finding) == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']", "error")
    assert "joins namespace /admin" in finding.message and "serves only /" in finding.message
    assert finding.assumptions  # the server's namespaces are the default


def test_served_namespace_and_patterns() -> None:
    served = annotate(SERVER, namespaces="/,/adm*")
    assert lint(world(client=ADMIN, server=served), RULE) == []


def test_no_paired_server_is_not_judged() -> None:
    assert lint(world(client=ADMIN, route=None), RULE) == []
