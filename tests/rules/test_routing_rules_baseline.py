"""The routing rules as a set (their names, severities and docs are checked by test_registry)."""

from __future__ import annotations

from routing_kit import lint, world


def test_the_base_topology_is_clean_under_every_rule() -> None:
    assert lint(world()) == []
