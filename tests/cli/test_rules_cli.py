"""`socketguard rules`, `socketguard explain` and the generated docs/rules.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from socketguard.cli import main
from socketguard.engine.rules.registry import all_rules
from socketguard.report.annotation_docs import render_annotations
from socketguard.report.docs import ANNOTATIONS_OUTPUT, DEFAULT_OUTPUT, render_rules


def test_rules_table_lists_every_rule() -> None:
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "SEVERITY", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == [rule.code for rule in all_rules()]
    assert any(line.split()[:3] == ["SG003", "unparseable-manifest", "error"] for line in lines)


def test_rules_as_json() -> None:
    result = CliRunner().invoke(main, ["rules", "-o", "json"])
    data = json.loads(result.output)
    sg003 = next(item for item in data if item["code"] == "SG003")
    assert sg003 == {
        "code": "SG003",
        "name": "unparseable-manifest",
        "severity": "error",
        "summary": "A file or document that is not valid YAML/JSON or not a Kubernetes object",
    }


def test_explain_prints_the_docstring() -> None:
    result = CliRunner().invoke(main, ["explain", "sg003"])
    assert result.exit_code == 0
    assert result.output.startswith("SG003 unparseable-manifest (error)\nAdmission: advisory (never denies")
    for section in ("What it checks", "Why it matters", "How to fix", "helm template"):
        assert section in result.output


def test_explain_unknown_code_exits_2_and_says_where_codes_are() -> None:
    result = CliRunner().invoke(main, ["explain", "SG999"])
    assert result.exit_code == 2
    assert "unknown rule code 'SG999'" in result.stderr
    assert "socketguard rules" in result.stderr


def test_docs_rules_md_is_up_to_date() -> None:
    """Regenerate with `python -m socketguard.report.docs` after changing a rule's docstring."""
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_rules(), (
        "docs/rules.md is stale: run `python -m socketguard.report.docs`"
    )


def test_docs_annotations_md_is_up_to_date() -> None:
    """Regenerate with `python -m socketguard.report.docs` after changing the annotation table."""
    assert ANNOTATIONS_OUTPUT.read_text(encoding="utf-8") == render_annotations(), (
        "docs/annotations.md is stale: run `python -m socketguard.report.docs`"
    )


def test_docs_have_every_rule_section() -> None:
    text = render_rules()
    for rule in all_rules():
        assert f"## {rule.code} {rule.name}" in text
        assert f"[{rule.code}](#{rule.code.lower()}-{rule.name})" in text
    assert "### How to fix" in text and "\n----" not in text


def test_docs_generator_writes_the_file(tmp_path: Path) -> None:
    from socketguard.report.docs import main as generate

    target = tmp_path / "out"
    assert generate([str(target)]) == 0
    assert (target / "rules.md").read_text(encoding="utf-8") == render_rules()
    assert (target / "annotations.md").read_text(encoding="utf-8") == render_annotations()


def test_docs_generator_help_explains_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from socketguard.report.docs import main as generate

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        generate(["--help"])
    assert done.value.code == 0
    assert "DIRECTORY" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # once, `--help` became a directory of docs
