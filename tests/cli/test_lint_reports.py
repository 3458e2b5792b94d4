"""What `socketguard lint` prints: locations, grouping, colour, baseline and config handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lintkit import TEST_RULES, configmap, deployment, service, write

from socketguard.cli import main


@pytest.fixture(autouse=True)
def test_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("socketguard.cli.lint.rule_set", lambda: TEST_RULES)
    monkeypatch.chdir(tmp_path)


def lint(*args: str) -> Result:
    return CliRunner().invoke(main, ["lint", *args])


def as_list(text: str) -> str:
    return "apiVersion: v1\nkind: List\nitems:\n" + "- " + text.replace("\n", "\n  ").rstrip() + "\n"


def test_text_locations_on_multi_document_files_and_lists(tmp_path: Path) -> None:
    write(tmp_path / "k8s" / "app.yaml", configmap("settings"), deployment("api"), service("api"))
    write(tmp_path / "k8s" / "list.yaml", as_list(service("listed")))
    result = lint("k8s", "--color", "never")
    lines = result.stdout.splitlines()
    assert lines[0] == "k8s/app.yaml"
    assert "k8s/app.yaml:6:1: SG903 info test-configmap: configmap settings" in lines
    assert "k8s/app.yaml:11:1: SG902 warning test-deployment: deployment api" in lines  # `metadata:`
    assert "k8s/app.yaml:34:5: SG901 error test-service: service api is bad" in lines  # targetPort
    assert "k8s/list.yaml:13:7: SG901 error test-service: service listed is bad" in lines
    assert "    fix: remove the Service" in lines
    assert "    object: Service web/api  ($.spec.ports[0].targetPort)" in lines
    assert lines[-1] == "2 errors, 1 warning, 1 info in 2 files."
    assert result.exit_code == 1


def test_json_schema_and_locations(tmp_path: Path) -> None:
    write(tmp_path / "app.yaml", configmap("settings"), service("api"))
    result = lint("app.yaml", "-o", "json")
    data = json.loads(result.stdout)
    service_finding = next(item for item in data if item["code"] == "SG901")
    assert service_finding == {
        "code": "SG901",
        "name": "test-service",
        "severity": "error",
        "message": "service api is bad",
        "object": {"apiVersion": "v1", "kind": "Service", "namespace": "web", "name": "api"},
        "path": "spec.ports[0].targetPort",
        "fixes": ["remove the Service"],
        "related": [],
        "assumptions": [],
        "location": {"file": "app.yaml", "line": 18, "column": 5, "jsonPath": "$.spec.ports[0].targetPort"},
    }


def test_sarif_points_at_the_same_lines(tmp_path: Path) -> None:
    write(tmp_path / "app.yaml", configmap("settings"), service("api"))
    result = lint("app.yaml", "-o", "sarif")
    run = json.loads(result.stdout)["runs"][0]
    (service_result,) = [r for r in run["results"] if r["ruleId"] == "SG901"]
    physical = service_result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "app.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 18, "startColumn": 5}
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["SG003", "SG901", "SG902", "SG903"]


def test_colour_only_when_asked(tmp_path: Path) -> None:
    write(tmp_path / "svc.yaml", service("api"))
    assert "\x1b[" in lint("svc.yaml", "--color", "always").stdout
    assert "\x1b[" not in lint("svc.yaml", "--color", "never").stdout
    assert "\x1b[" not in lint("svc.yaml").stdout  # auto: the runner's stdout is no TTY


def test_baseline_round_trip(tmp_path: Path) -> None:
    write(tmp_path / "app.yaml", service("api"), deployment("api"), "not an object\n")
    recorded = lint("app.yaml", "--write-baseline", "baseline.json")
    assert recorded.exit_code == 0
    assert "recorded 3 findings" in recorded.stderr
    entries = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert {e["code"] for e in entries} == {"SG003", "SG901", "SG902"}

    known = lint("app.yaml", "--baseline", "baseline.json", "--fail-on", "info")
    assert known.exit_code == 0, known.output  # the SG003 too is known
    assert "No findings. (3 known from the baseline)" in known.stdout

    write(tmp_path / "app.yaml", service("api"), deployment("api"), "not an object\n", service("new"))
    new = lint("app.yaml", "--baseline", "baseline.json", "-o", "json")
    assert new.exit_code == 1
    assert [(f["code"], f["object"]["name"]) for f in json.loads(new.stdout)] == [("SG901", "new")]


def test_unreadable_baseline_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "svc.yaml", service("api"))
    write(tmp_path / "baseline.json", "{not json")
    result = lint("svc.yaml", "--baseline", "baseline.json")
    assert result.exit_code == 2
    assert "cannot read the baseline" in result.stderr


def test_pyproject_settings_and_flags_that_win(tmp_path: Path) -> None:
    settings = '[tool.socketguard]\nfail-on = "warning"\nignore = ["SG903"]\nshow = "warning"\n'
    write(tmp_path / "pyproject.toml", settings)
    write(tmp_path / "app.yaml", deployment("api"), configmap("settings"))
    from_file = lint("app.yaml", "-o", "json")
    assert from_file.exit_code == 1  # the warning fails, as the file says
    assert [f["code"] for f in json.loads(from_file.stdout)] == ["SG902"]
    assert lint("app.yaml", "--fail-on", "error").exit_code == 0  # the flag wins
    shown = lint("app.yaml", "-o", "json", "--show", "info", "--ignore", "SG902", "--fail-on", "info")
    assert json.loads(shown.stdout) == []  # ignores add up: SG903 from the file, SG902 from the flag
    assert shown.exit_code == 0


def test_nearest_config_wins_and_yaml_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pyproject.toml", '[tool.socketguard]\nfail-on = "never"\n')
    write(tmp_path / "sub" / ".socketguard.yaml", "fail-on: info\nbaseline: known.json\n")
    write(tmp_path / "sub" / "pyproject.toml", '[tool.socketguard]\nfail-on = "error"\n')
    write(tmp_path / "sub" / "deeper" / "cm.yaml", configmap("settings"))
    monkeypatch.chdir(tmp_path / "sub" / "deeper")
    missing_baseline = lint("cm.yaml")
    assert missing_baseline.exit_code == 2  # the baseline is relative to the config file
    assert "sub/known.json" in missing_baseline.stderr
    (tmp_path / "sub" / ".socketguard.yaml").write_text("fail-on: info\n")
    assert lint("cm.yaml").exit_code == 1
    assert lint("cm.yaml", "--config", str(tmp_path / "pyproject.toml")).exit_code == 0


def test_pyproject_without_the_table_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".socketguard.yaml", "ignore: SG901\n")
    write(tmp_path / "app" / "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path / "app" / "svc.yaml", service("api"))
    monkeypatch.chdir(tmp_path / "app")
    assert lint("svc.yaml").exit_code == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (".socketguard.yaml", "fail_on: sometimes\n", "must be one of"),
        (".socketguard.yaml", "colour: red\n", "unknown setting colour"),
        (".socketguard.yaml", "- a list\n", "must be a mapping"),
        (".socketguard.yaml", "ignore: {a: 1}\n", "`ignore` must be a list"),
        ("pyproject.toml", "[tool.socketguard\n", "invalid TOML"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    write(tmp_path / name, content)
    write(tmp_path / "svc.yaml", service("api"))
    result = lint("svc.yaml", "--config", name)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_rejected_objects_are_located_at_the_wrong_field(tmp_path: Path) -> None:
    broken = service("api").replace("  - port: 80\n", "  - port: eighty\n")
    write(tmp_path / "svc.yaml", configmap("settings"), broken)
    result = lint("svc.yaml", "--color", "never")
    assert result.exit_code == 2
    (line,) = [line for line in result.stdout.splitlines() if "SG003" in line]
    assert line.startswith("svc.yaml:17:5: SG003 error unparseable-manifest: ")
    assert "Service web/api is left out of the analysis" in line


def test_exclude_from_flags_and_config(tmp_path: Path) -> None:
    write(tmp_path / "k8s" / "svc.yaml", service("api"))
    write(tmp_path / "charts" / "app" / "templates" / "svc.yaml", "{{ .Values.broken }}\n")
    write(tmp_path / "docker-compose.yml", "services: {web: {image: nginx}}\n")
    assert lint(".").exit_code == 2
    excluded = lint(".", "--exclude", "charts/*/templates", "--exclude", "docker-compose.yml", "-o", "json")
    assert excluded.exit_code == 1
    assert [f["location"]["file"] for f in json.loads(excluded.stdout)] == ["k8s/svc.yaml"]
    write(tmp_path / ".socketguard.yaml", "exclude: [charts]\n")
    assert lint(".", "--exclude", "*compose*").exit_code == 1
    only_excluded = lint("charts", "-o", "json")
    assert only_excluded.exit_code == 2
    assert "after --exclude" in json.loads(only_excluded.stdout)[0]["message"]


def test_objects_defined_twice_are_named_and_the_last_is_checked(tmp_path: Path) -> None:
    write(tmp_path / "base" / "svc.yaml", service("api"))
    write(tmp_path / "overlay" / "svc.yaml", configmap("settings"), service("api"))
    result = lint(".", "-o", "json")
    assert [f["location"]["file"] for f in json.loads(result.stdout) if f["code"] == "SG901"] == ["overlay/svc.yaml"]
    assert "1 object is defined more than once" in result.stderr
    assert "Service web/api (first at base/svc.yaml:1:1)" in result.stderr
