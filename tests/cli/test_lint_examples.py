"""`socketguard lint` on the repository's example manifests, with the real rules."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from socketguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.relative_to(ROOT) for p in (ROOT / "manifests" / "examples").glob("*/broken"))
SCHEMA = json.loads((ROOT / "tests" / "report" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_sarif_of_a_real_lint_validates_and_points_into_the_repository(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["lint", str(example), "-o", "sarif"])
    assert result.exit_code in (0, 1), result.output
    log = json.loads(result.stdout)
    jsonschema.validate(log, SCHEMA)
    results = log["runs"][0]["results"]
    assert results, "the broken examples have findings"
    for item in results:
        physical = item["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = physical["artifactLocation"]["uri"]
        assert (ROOT / uri).is_file() and uri.startswith(str(example))
        assert physical["region"]["startLine"] >= 1


def test_pre_commit_hook_definition() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "socketguard-lint"
    assert hook["entry"].startswith("socketguard lint")
    assert hook["pass_filenames"] is False
    assert "yaml" in hook["types_or"]
