"""The seed's situation, as shipped in manifests/examples/mageagent, gives the documented findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "mageagent"
VARIANTS = ("broken", "fixed-by-path", "fixed-by-rewrite")
MAGEAGENT = ObjectRef("apps/v1", "Deployment", "mageagent", "mageagent")


def load_documents(directory: Path) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as stream:
            documents.extend(doc for doc in yaml.safe_load_all(stream) if doc is not None)
    return documents


def inventory_of(documents: list[dict[str, Any]]) -> Inventory:
    inventory = Inventory()
    for document in documents:
        inventory.add(document)
    return inventory


def lint(variant: str) -> list[Finding]:
    return analyze(inventory_of(load_documents(EXAMPLE / variant)))


def codes(findings: list[Finding], severity: Severity | None = None) -> set[str]:
    return {f.code for f in findings if severity is None or f.severity == severity}


def strip_socketguard_annotations(document: dict[str, Any]) -> None:
    for metadata in (document["metadata"], document["spec"]["template"]["metadata"]):
        notes = metadata.get("annotations", {})
        for key in [k for k in notes if k.startswith(ANNOTATION_PREFIX)]:
            del notes[key]


def test_every_variant_has_the_same_objects() -> None:
    names = {variant: sorted(p.name for p in (EXAMPLE / variant).glob("*.yaml")) for variant in VARIANTS}
    assert names["broken"] == names["fixed-by-path"] == names["fixed-by-rewrite"]
    refs = [ObjectRef.of(doc) for doc in load_documents(EXAMPLE / "broken")]
    assert {(ref.kind, ref.name) for ref in refs} == {
        ("Namespace", "mageagent"), ("Deployment", "mageagent"), ("Service", "mageagent"),
        ("Deployment", "dashboard"), ("Service", "dashboard"), ("Gateway", "adverant-gateway"),
        ("VirtualService", "adverant"),
    }


def test_broken_reports_the_path_mismatch_with_both_fixes() -> None:
    findings = lint("broken")
    mismatches = [f for f in findings if f.code == "SG102"]
    assert mismatches, findings
    mismatch = mismatches[0]
    assert mismatch.severity is Severity.ERROR
    assert mismatch.subject == ObjectRef("networking.istio.io/v1", "VirtualService", "mageagent", "adverant")
    assert mismatch.field_path.startswith("spec.http[0]")
    assert "/mageagent/socket.io" in mismatch.message
    assert "/socket.io" in mismatch.message
    fixes = " ".join(mismatch.fixes)
    assert "socketguard.io/path" in fixes or "path" in fixes
    assert "rewrite" in fixes
    assert len(mismatch.fixes) >= 2
    assert MAGEAGENT in mismatch.related


def test_broken_reports_the_latent_wildcard_with_credentials_as_a_warning() -> None:
    findings = lint("broken")
    wildcard = [f for f in findings if f.code == "SG202"]
    assert wildcard, findings
    # The page (https://adverant.ai) and the socket share one origin: CORS does not apply yet.
    assert {f.severity for f in wildcard} == {Severity.WARNING}
    assert wildcard[0].subject == MAGEAGENT


@pytest.mark.parametrize("variant", ["fixed-by-path", "fixed-by-rewrite"])
def test_fixed_variants_report_no_error(variant: str) -> None:
    findings = lint(variant)
    assert not [f for f in findings if f.severity is Severity.ERROR], findings
    assert "SG102" not in codes(findings)
    assert "SG004" not in codes(findings)


def test_fixed_by_path_also_tightens_cors() -> None:
    assert not {"SG202", "SG204"} & codes(lint("fixed-by-path"))


def test_unannotated_server_is_inferred_and_the_mismatch_still_reported() -> None:
    documents = load_documents(EXAMPLE / "broken")
    server = next(d for d in documents if ObjectRef.of(d) == MAGEAGENT)
    strip_socketguard_annotations(server)
    assert not [k for k in server["metadata"].get("annotations", {}) if k.startswith(ANNOTATION_PREFIX)]
    findings = analyze(inventory_of(documents))
    mismatches = [f for f in findings if f.code == "SG102"]
    assert mismatches, findings
    assert {f.severity for f in mismatches} == {Severity.WARNING}
    inferred = [f for f in findings if f.code == "SG004"]
    assert [f.subject for f in inferred] == [MAGEAGENT]
    assert inferred[0].severity is Severity.INFO
    assert "socketguard.io/" in inferred[0].message + " ".join(inferred[0].fixes)
    assert not [f for f in findings if f.severity is Severity.ERROR], findings
