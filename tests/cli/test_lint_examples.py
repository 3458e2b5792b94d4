"""`socketguard lint` on the repository's example manifests, with the real rules."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from tests.chart.chart_render import find_binary

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
    assert "types_or" not in hook  # pre-commit's yaml type would leave out Helm's .tpl helpers
    files = re.compile(hook["files"])  # pre-commit matches it with re.search
    changed = ("k8s/app.yaml", "a.yml", "b.json", "chart/templates/_helpers.tpl", "overlays/prod/Kustomization")
    assert all(files.search(path) for path in changed)
    assert not any(files.search(path) for path in ("README.md", "src/app.py", "MyKustomization.txt"))


def _with_helm_and_kubectl(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = [find_binary("helm"), find_binary("kubectl")]
    if None in tools:
        pytest.fail("helm or kubectl not found: run .ci/provision.sh", pytrace=False)
    folders = [str(path.parent) for path in tools if path is not None]
    monkeypatch.setenv("PATH", os.pathsep.join([*folders, os.environ.get("PATH", "")]))


def test_lint_of_this_repository_reports_only_findings_of_its_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the pre-commit hook runs here: no chart templates, values, schemas or tool files."""
    _with_helm_and_kubectl(monkeypatch)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["lint", ".", "-o", "json", "--verbose"])
    assert result.exit_code in (0, 1), result.output
    findings = json.loads(result.stdout)
    assert not {"SG003", "SG005"} & {item["code"] for item in findings}  # all read, all rendered
    assert all(item["location"]["file"].startswith("manifests/examples/") for item in findings)
    chart_findings = [item for item in findings if item["location"]["file"].startswith("manifests/examples/repo/")]
    assert [(item["code"], item["location"]["file"]) for item in chart_findings] == [
        ("SG102", "manifests/examples/repo/chart/templates/virtualservice.yaml")
    ]
    # the project's own chart and the example overlay were rendered, and checked clean
    assert "rendered: helm template release charts/socketguard --namespace default" in result.stderr
    assert "rendered: kubectl kustomize manifests/examples/repo/deploy/overlays/production" in result.stderr


def test_sarif_of_a_rendered_chart_points_at_its_template(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_helm_and_kubectl(monkeypatch)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["lint", "manifests/examples/repo", "-o", "sarif"])
    assert result.exit_code == 1, result.output
    log = json.loads(result.stdout)
    jsonschema.validate(log, SCHEMA)
    (item,) = log["runs"][0]["results"]
    physical = item["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "manifests/examples/repo/chart/templates/virtualservice.yaml"
