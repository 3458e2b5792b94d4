"""SARIF output validates against the official SARIF 2.1.0 schema (vendored, see README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from socketguard.engine.findings import Finding
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.registry import all_rules
from socketguard.engine.rules.sg003_unparseable_manifest import RULE as SG003
from socketguard.engine.rules.sg003_unparseable_manifest import file_problem
from socketguard.inputs.locate import Located, Location
from socketguard.report import sarif

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")
SERVICE = ObjectRef("v1", "Service", "web", "api")
ROUTE = ObjectRef("networking.istio.io/v1", "VirtualService", "web", "api")


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def render(located: list[Located], root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render(located, all_rules(), source_root=root))
    errors = sorted(validator().iter_errors(data), key=str)
    assert not errors, "\n".join(e.message for e in errors)
    return data


def a_finding(path: tuple[str | int, ...] = ("spec", "ports", 0)) -> Finding:
    return SG003.finding(SERVICE, path, "port is wrong", fixes=["set it to 8080"], related=[ROUTE])


def test_every_kind_of_location_validates(tmp_path: Path) -> None:
    located = [
        Located(a_finding(), Location("k8s/app.yaml", 12, 5, "$.spec.ports[0]")),
        Located(file_problem("k8s/empty", "no manifests"), Location("k8s/empty")),
        Located(a_finding(("metadata",)), Location(None, json_path="$.metadata")),
        Located(a_finding(), Location("/elsewhere/with space.yaml", 3, 1)),
        Located(a_finding(), Location("<stdin>", 3, 1)),
    ]
    data = render(located, tmp_path)
    run = data["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    first, file_level, cluster, absolute, stdin = run["results"]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "k8s/app.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12, "startColumn": 5},
    }
    assert first["message"]["text"] == "port is wrong Fix: set it to 8080"
    assert "region" not in file_level["locations"][0]["physicalLocation"]
    assert "physicalLocation" not in cluster["locations"][0]
    assert cluster["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "v1/Service/web/api:$.metadata"
    assert absolute["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/with%20space.yaml"
    }
    assert "physicalLocation" not in stdin["locations"][0]


def test_rule_ids_are_codes_with_metadata_from_the_registry(tmp_path: Path) -> None:
    data = render([Located(a_finding(), Location("a.yaml", 1, 1))], tmp_path)
    driver = data["runs"][0]["tool"]["driver"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(rule.code for rule in all_rules())
    sg003 = driver["rules"][ids.index("SG003")]
    assert sg003["name"] == "UnparseableManifest"
    assert sg003["shortDescription"]["text"] == SG003.summary
    assert "How to fix" in sg003["help"]["text"]
    assert sg003["defaultConfiguration"]["level"] == "error"
    (result,) = data["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("SG003", "error")
    assert ids[result["ruleIndex"]] == "SG003"


def test_fingerprints_are_stable_per_key(tmp_path: Path) -> None:
    one = render([Located(a_finding(), Location("a.yaml", 1, 1))], tmp_path)
    moved = render([Located(a_finding(), Location("a.yaml", 40, 3))], tmp_path)
    other = render([Located(a_finding(("spec",)), Location("a.yaml", 1, 1))], tmp_path)
    fingerprint = one["runs"][0]["results"][0]["partialFingerprints"]
    assert fingerprint == moved["runs"][0]["results"][0]["partialFingerprints"]
    assert fingerprint != other["runs"][0]["results"][0]["partialFingerprints"]


def test_empty_report_validates(tmp_path: Path) -> None:
    assert render([], tmp_path)["runs"][0]["results"] == []


def test_codes_outside_the_registry_get_a_descriptor(tmp_path: Path) -> None:
    finding = Finding("SG999", "made-up", SG003.severity, "m", SERVICE)
    data = render([Located(finding, Location("a.yaml", 1, 1))], tmp_path)
    rules = data["runs"][0]["tool"]["driver"]["rules"]
    assert rules[data["runs"][0]["results"][0]["ruleIndex"]]["id"] == "SG999"
