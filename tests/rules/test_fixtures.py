"""Hand-written rule fixtures: each file states the findings it must and must not produce.

A fixture is a multi-document YAML file under tests/fixtures/rules/<CODE>/ whose leading comment
lines carry the expectations, worked out by hand from the routers' documented semantics:

    # expect: SG102 error VirtualService web/chat spec.http[0]
    # expect-none: SG101
    # expect-none: SG108 error

`expect` needs a finding with that code, severity and subject (kind and namespace/name) whose
field path starts with the optional prefix. `expect-none` forbids the code (at that severity,
when one is given). A `good-*` file must also produce no error finding at all.

Every rule of the registry needs good and bad fixtures, except the few that no set of
well-formed manifests can trigger (`WITHOUT_MANIFEST_FIXTURES`, each with the tests that hold it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.rules.registry import all_rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
WITHOUT_MANIFEST_FIXTURES = {
    "SG003": "a fixture is well-formed by definition; tests/cli/test_sg003_rule.py feeds broken files",
    "SG005": "it reports a chart or overlay the loader could not render; tests/cli/test_discovery.py",
    "SG505": "payload fields come only from a source scan; tests/rules/test_sg505_payload_fields_missing.py",
    "SG601": "it reports a live probe's result; tests/operator/test_probes.py",
    # compare-only: a difference needs two pictures (BEFORE and AFTER); each has its test module
    **{code: f"it compares two pictures (socketguard compare); tests/migration/test_{aspect}.py"
       for code, aspect in (("SG701", "reachability"), ("SG702", "path"), ("SG703", "backends"),
                            ("SG704", "stickiness"), ("SG705", "timeouts"), ("SG706", "cors"),
                            ("SG707", "tls"), ("SG708", "websocket"), ("SG709", "no_equivalent"))},
}
CATALOG = tuple(rule.code for rule in all_rules() if rule.code not in WITHOUT_MANIFEST_FIXTURES)
_EXPECT = re.compile(
    r"^#\s*expect:\s*(?P<code>SG\d{3})\s+(?P<severity>error|warning|info)\s+(?P<kind>[A-Za-z]+)\s+"
    r"(?P<namespace>[a-z0-9-]+)/(?P<name>[a-z0-9.-]+)(?:\s+(?P<path>\S+))?\s*$"
)
_EXPECT_NONE = re.compile(r"^#\s*expect-none:\s*(?P<code>SG\d{3})(?:\s+(?P<severity>error|warning|info))?\s*$")


@dataclass(frozen=True)
class Expected:
    code: str
    severity: Severity
    kind: str
    namespace: str
    name: str
    path: str

    def matched_by(self, finding: Finding) -> bool:
        subject = finding.subject
        return (
            finding.code == self.code
            and finding.severity is self.severity
            and (subject.kind, subject.namespace, subject.name) == (self.kind, self.namespace, self.name)
            and finding.field_path.startswith(self.path)
        )

    def __str__(self) -> str:
        return f"{self.code} {self.severity.label} {self.kind} {self.namespace}/{self.name} {self.path}".strip()


@dataclass(frozen=True)
class Forbidden:
    code: str
    severity: Severity | None

    def matched_by(self, finding: Finding) -> bool:
        return finding.code == self.code and (self.severity is None or finding.severity is self.severity)


@dataclass(frozen=True)
class Fixture:
    path: Path
    expected: tuple[Expected, ...]
    forbidden: tuple[Forbidden, ...]

    @property
    def good(self) -> bool:
        return self.path.name.startswith("good-")


def read_fixture(path: Path) -> Fixture:
    expected: list[Expected] = []
    forbidden: list[Forbidden] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if match := _EXPECT.match(line):
            expected.append(Expected(
                match["code"], Severity.parse(match["severity"]), match["kind"], match["namespace"],
                match["name"], match["path"] or "",
            ))
        elif match := _EXPECT_NONE.match(line):
            severity = match["severity"]
            forbidden.append(Forbidden(match["code"], Severity.parse(severity) if severity else None))
        elif re.match(r"^#\s*expect", line):
            raise ValueError(f"{path}: malformed expectation {line!r}")
    return Fixture(path, tuple(expected), tuple(forbidden))


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("SG*/*.yaml"))


def lint(path: Path) -> list[Finding]:
    inventory = Inventory()
    with path.open(encoding="utf-8") as stream:
        for document in yaml.safe_load_all(stream):
            if document is not None:
                inventory.add(document)
    return analyze(inventory)


def describe(findings: list[Finding]) -> str:
    return "\n".join(
        f"  {f.code} {f.severity.label} {f.subject.kind} {f.subject.namespace}/{f.subject.name} "
        f"{f.field_path}: {f.message}"
        for f in findings
    ) or "  (no findings)"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(path: Path) -> None:
    fixture = read_fixture(path)
    findings = lint(path)
    missing = [str(e) for e in fixture.expected if not any(e.matched_by(f) for f in findings)]
    unwanted = [f for f in findings if any(x.matched_by(f) for x in fixture.forbidden)]
    errors = [f for f in findings if f.severity is Severity.ERROR] if fixture.good else []
    assert not (missing or unwanted or errors), (
        f"{path.relative_to(FIXTURES)}\n missing: {missing}\n unwanted: {describe(unwanted)}\n"
        f" errors in a good case: {describe(errors)}\n all findings:\n{describe(findings)}"
    )


@pytest.mark.parametrize("code", CATALOG)
def test_every_catalog_rule_has_good_and_bad_fixtures(code: str) -> None:
    fixtures = [read_fixture(p) for p in sorted((FIXTURES / code).glob("*.yaml"))]
    assert any(f.path.name.startswith("bad-") for f in fixtures), f"{code} has no bad-*.yaml fixture"
    assert any(f.good for f in fixtures), f"{code} has no good-*.yaml fixture"
    assert any(e.code == code for f in fixtures for e in f.expected), f"no fixture of {code} expects {code}"
    for fixture in fixtures:
        if fixture.path.name.startswith("bad-"):
            assert fixture.expected, f"{fixture.path.name} expects no finding"
        if fixture.good:
            assert fixture.forbidden or fixture.expected, f"{fixture.path.name} states no expectation"


def test_every_exemption_names_a_registered_rule_without_fixtures() -> None:
    codes = {rule.code for rule in all_rules()}
    for code in WITHOUT_MANIFEST_FIXTURES:
        assert code in codes, f"{code} is exempted from fixtures but is not a rule"
        assert not (FIXTURES / code).exists(), f"{code} has fixtures: remove its exemption"


def test_every_fixture_directory_is_a_catalog_rule() -> None:
    assert {path.name for path in FIXTURES.glob("SG*")} <= set(CATALOG)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_objects_are_well_formed(path: Path) -> None:
    """A fixture documents routing, not parsing: every object must be read without a problem."""
    inventory = Inventory()
    with path.open(encoding="utf-8") as stream:
        for document in yaml.safe_load_all(stream):
            assert isinstance(document, dict), path
            inventory.add(document)
    assert not [(e.ref, e.problems) for e in inventory.rejected()]


def test_malformed_expectation_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad-typo.yaml"
    bad.write_text("# expect: SG102 eror VirtualService web/chat\napiVersion: v1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="malformed expectation"):
        read_fixture(bad)
