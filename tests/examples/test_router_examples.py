"""The MageAgent situation behind ingress-nginx, Gateway API and Traefik: broken has SG102, fixed has no error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


def lint(directory: Path) -> list[Finding]:
    inventory = Inventory()
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                inventory.add(document)
    return analyze(inventory)


@pytest.mark.parametrize(
    ("example", "kind", "field"),
    [
        ("mageagent-ingress-nginx", "Ingress", "spec.rules[0].http.paths[0]"),
        ("mageagent-gateway-api", "HTTPRoute", "spec.rules[0]"),
        ("mageagent-traefik", "IngressRoute", "spec.routes[0]"),
    ],
)
def test_broken_reports_the_path_mismatch_where_the_route_is(example: str, kind: str, field: str) -> None:
    errors = [f for f in lint(EXAMPLES / example / "broken") if f.severity == Severity.ERROR]
    assert [(f.code, f.subject.kind, f.subject.name, f.field_path) for f in errors] == [
        ("SG102", kind, "adverant", field)]
    assert "/mageagent/socket.io/" in errors[0].message and "/socket.io/" in errors[0].message


@pytest.mark.parametrize("example", ["mageagent-ingress-nginx", "mageagent-gateway-api", "mageagent-traefik"])
def test_fixed_has_no_error(example: str) -> None:
    assert [f for f in lint(EXAMPLES / example / "fixed") if f.severity == Severity.ERROR] == []


def test_argo_rollouts_broken_reports_the_path_and_the_canary_split() -> None:
    findings = lint(EXAMPLES / "mageagent-argo-rollouts" / "broken")
    errors = [(f.code, f.subject.kind, f.field_path) for f in findings if f.severity == Severity.ERROR]
    assert errors == [("SG102", "VirtualService", "spec.http[0]")]
    [split] = [f for f in findings if f.code == "SG303"]
    assert (split.subject.kind, split.field_path) == ("Rollout", "spec.strategy.canary.trafficRouting.istio")
    assert not [f for f in findings if f.code in ("SG106", "SG301")]


def test_argo_rollouts_fixed_has_no_error_and_no_split() -> None:
    findings = lint(EXAMPLES / "mageagent-argo-rollouts" / "fixed")
    assert [f for f in findings if f.severity == Severity.ERROR or f.code in ("SG301", "SG302", "SG303")] == []
