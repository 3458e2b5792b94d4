"""Every exit-code path of `socketguard lint`, in every output format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lintkit import TEST_RULES, configmap, deployment, service, write

from socketguard.cli import main

FORMATS = ("text", "json", "sarif")


@pytest.fixture(autouse=True)
def test_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("socketguard.cli.lint.rule_set", lambda: TEST_RULES)
    monkeypatch.chdir(tmp_path)


def lint(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["lint", *args], input=stdin)


def codes(result: Result, output: str) -> list[str]:
    if output == "json":
        return [item["code"] for item in json.loads(result.stdout)]
    if output == "sarif":
        return [r["ruleId"] for r in json.loads(result.stdout)["runs"][0]["results"]]
    return [line.split()[1] for line in result.stdout.splitlines() if ": SG" in line]


@pytest.mark.parametrize("output", FORMATS)
def test_no_findings_exits_0(tmp_path: Path, output: str) -> None:
    write(tmp_path / "ok.yaml", configmap("settings"))
    result = lint("ok.yaml", "-o", output, "--show", "warning")
    assert result.exit_code == 0, result.output
    assert codes(result, output) == []


@pytest.mark.parametrize("output", FORMATS)
def test_error_finding_exits_1(tmp_path: Path, output: str) -> None:
    write(tmp_path / "svc.yaml", service("api"))
    result = lint("svc.yaml", "-o", output)
    assert result.exit_code == 1, result.output
    assert codes(result, output) == ["SG901"]


@pytest.mark.parametrize("output", FORMATS)
def test_warning_fails_only_with_fail_on_warning(tmp_path: Path, output: str) -> None:
    write(tmp_path / "deploy.yaml", deployment("api"))
    assert lint("deploy.yaml", "-o", output).exit_code == 0
    assert lint("deploy.yaml", "-o", output, "--fail-on", "warning").exit_code == 1
    assert lint("deploy.yaml", "-o", output, "--fail-on", "info").exit_code == 1


@pytest.mark.parametrize("output", FORMATS)
def test_info_fails_only_with_fail_on_info(tmp_path: Path, output: str) -> None:
    write(tmp_path / "cm.yaml", configmap("settings"))
    assert lint("cm.yaml", "-o", output, "--fail-on", "warning").exit_code == 0
    assert lint("cm.yaml", "-o", output, "--fail-on", "info").exit_code == 1


@pytest.mark.parametrize("output", FORMATS)
def test_fail_on_never_exits_0_despite_errors(tmp_path: Path, output: str) -> None:
    write(tmp_path / "svc.yaml", service("api"))
    result = lint("svc.yaml", "-o", output, "--fail-on", "never")
    assert result.exit_code == 0
    assert codes(result, output) == ["SG901"]


@pytest.mark.parametrize("output", FORMATS)
def test_unparseable_input_exits_2_even_with_fail_on_never(tmp_path: Path, output: str) -> None:
    write(tmp_path / "bad.yaml", "kind: [unclosed\n")
    write(tmp_path / "svc.yaml", service("api"))
    result = lint(".", "-o", output, "--fail-on", "never")
    assert result.exit_code == 2, result.output
    assert sorted(codes(result, output)) == ["SG003", "SG901"]


@pytest.mark.parametrize("output", FORMATS)
def test_ignoring_sg003_lifts_exit_2(tmp_path: Path, output: str) -> None:
    write(tmp_path / "bad.yaml", "- kind: Service\n- not an object\n")
    write(tmp_path / "svc.yaml", service("api"))
    assert lint(".", "-o", output, "--ignore", "SG003").exit_code == 1
    assert lint(".", "-o", output, "--ignore", "sg003,SG901").exit_code == 0


@pytest.mark.parametrize("output", FORMATS)
def test_show_hides_output_but_not_the_exit_code(tmp_path: Path, output: str) -> None:
    write(tmp_path / "all.yaml", service("api"), deployment("api"), configmap("settings"))
    everything = lint("all.yaml", "-o", output)
    assert sorted(codes(everything, output)) == ["SG901", "SG902", "SG903"]
    errors_only = lint("all.yaml", "-o", output, "--show", "error", "--fail-on", "info")
    assert codes(errors_only, output) == ["SG901"]
    assert errors_only.exit_code == 1
    quiet = lint("all.yaml", "-o", output, "--show", "error", "--ignore", "SG901", "--fail-on", "warning")
    assert codes(quiet, output) == []
    assert quiet.exit_code == 1


@pytest.mark.parametrize("output", FORMATS)
def test_ignore_annotation_suppresses_on_one_object(tmp_path: Path, output: str) -> None:
    annotated = service("api").replace(
        "  namespace: web\n", "  namespace: web\n  annotations:\n    socketguard.io/ignore: SG901\n"
    )
    write(tmp_path / "svc.yaml", annotated, service("other"))
    result = lint("svc.yaml", "-o", output)
    assert codes(result, output) == ["SG901"]
    assert "other" in result.stdout and result.exit_code == 1


@pytest.mark.parametrize("output", FORMATS)
def test_stdin(output: str) -> None:
    result = lint("-", "-o", output, stdin=service("api").encode())
    assert result.exit_code == 1
    assert codes(result, output) == ["SG901"]


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("missing.yaml",),
        ("--cluster", "x.yaml"),
        ("-", "-"),
        ("x.yaml", "--fail-on", "sometimes"),
        ("x.yaml", "-o", "xml"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    write(tmp_path / "x.yaml", configmap("settings"))
    result = lint(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(main, ["lint", "--help"])
    assert result.exit_code == 0
    for text in ("socketguard lint manifests/", "helm template", "--write-baseline", "Exit codes", "explain"):
        assert text in result.output


def test_cluster_without_kube_config_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = lint("--cluster", "-o", "json")
    assert result.exit_code == 2
    assert "no usable kube config" in result.stderr
    assert result.stdout == ""


GARBAGE = {
    "list.yaml": b"- apiVersion: v1\n  kind: Service\n",
    "string.yaml": b"just some text\n",
    "number.json": b"42\n",
    "no-metadata.yaml": b"apiVersion: v1\nkind: Service\nspec: {}\n",
    "binary.yaml": b"\x7fELF\x02\x01\x01\x00\x00\x00",
    "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
    "syntax.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: x\n",
    "huge.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: "
    + b"x" * 5_000_000
    + b"\n  bad: [\n",
}


@pytest.mark.parametrize("output", FORMATS)
@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_input_is_a_located_sg003_and_exit_2(tmp_path: Path, name: str, output: str) -> None:
    (tmp_path / name).write_bytes(GARBAGE[name])
    result = lint(name, "-o", output, "--fail-on", "never")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert codes(result, output) == ["SG003"]
    if output == "json":
        (finding,) = json.loads(result.stdout)
        assert finding["location"]["file"] == name
        assert finding["location"]["line"] >= 1 or name == "binary.yaml"
