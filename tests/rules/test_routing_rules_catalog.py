"""The routing rules as a set: catalog identity, documentation shape, a clean baseline."""

from __future__ import annotations

import pytest
from routing_kit import lint, world

from socketguard.findings import Severity
from socketguard.rules.registry import get_rule

CATALOG = {
    "SG004": ("inferred-socket-server", Severity.INFO),
    "SG101": ("socket-route-missing", Severity.ERROR),
    "SG102": ("socket-path-mismatch", Severity.ERROR),
    "SG103": ("socket-route-shadowed", Severity.ERROR),
    "SG104": ("exact-match-misses-handshake", Severity.ERROR),
    "SG105": ("destination-port-unresolved", Severity.ERROR),
    "SG106": ("service-selects-no-server", Severity.ERROR),
    "SG107": ("port-protocol-not-http", Severity.ERROR),
    "SG108": ("route-timeout-too-short", Severity.WARNING),
    "SG109": ("client-url-path-is-namespace", Severity.WARNING),
    "SG110": ("gateway-host-not-served", Severity.ERROR),
    "SG111": ("mixed-content", Severity.ERROR),
    "SG112": ("unknown-namespace", Severity.ERROR),
    "SG113": ("route-not-visible", Severity.ERROR),
}


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_rule_matches_the_catalog_and_is_documented(code: str) -> None:
    rule = get_rule(code)
    assert (rule.name, rule.severity) == CATALOG[code]
    assert rule.check is not None
    lines = rule.doc.splitlines()
    assert lines[0].endswith(".") and len(lines[0]) <= 110
    for heading in ("What it checks", "Why it matters", "How to fix"):
        assert f"\n{heading}\n{'-' * len(heading)}\n" in rule.doc
    assert "```yaml" in rule.doc.split("How to fix", 1)[1]


def test_the_base_topology_is_clean_under_every_rule() -> None:
    assert lint(world()) == []
