"""`socketguard compare`: the migration example, the JSON shape, exit codes, stdin and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from socketguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests/examples/migration"
OBJECT_KEYS = {"apiVersion", "kind", "namespace", "name"}


def compare(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["compare", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def compare_json(*args: str) -> tuple[int, dict[str, object]]:
    status, stdout, _ = compare(*args, "-o", "json")
    return status, json.loads(stdout)


def test_the_faithful_conversion_is_same() -> None:
    status, output = compare_json("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-faithful"))
    assert status == 0
    assert output["summary"] == {"same": 1, "changed": 0, "broken": 0, "added": 0, "removed": 0}
    assert any("experimental-channel" in a for a in output["assumptions"])  # type: ignore[union-attr]
    assert any("implementation unknown" in a for a in output["assumptions"])  # type: ignore[union-attr]


def test_the_naive_conversion_reports_each_loss_in_the_after_file() -> None:
    status, output = compare_json("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-naive"))
    assert status == 1
    [route] = output["routes"]  # type: ignore[misc]
    assert set(route) == {"host", "path", "client", "verdict", "differences"}
    assert set(route["client"]) == OBJECT_KEYS
    assert (route["host"], route["path"], route["verdict"]) == ("adverant.ai", "/mageagent/socket.io/", "broken")
    by_aspect = {d["aspect"]: d for d in route["differences"]}
    assert {"path", "stickiness", "timeouts"} <= set(by_aspect)
    assert by_aspect["path"]["code"] == "SG702"
    assert by_aspect["stickiness"]["code"] == "SG704"
    assert by_aspect["timeouts"]["before"] == "3600 s read (idle) timeout"
    for difference in route["differences"]:
        assert set(difference) == {"aspect", "code", "severity", "before", "after", "message", "fixes", "location"}
        assert difference["location"]["file"].endswith("after-naive/httproute.yaml")


def test_fail_on_never_and_warning() -> None:
    paths = ("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-naive"))
    assert compare(*paths, "--fail-on", "never")[0] == 0
    assert compare("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-faithful"),
                   "--fail-on", "info")[0] == 0


def test_after_from_stdin_and_the_implementation_flag() -> None:
    documents = "\n---\n".join(p.read_text() for p in sorted((EXAMPLE / "after-naive").glob("*.yaml")))
    status, stdout, _ = compare("--before", str(EXAMPLE / "before"), "--after", "-",
                                "--implementation", "envoy-gateway", stdin=documents)
    assert status == 1
    assert "implementation: Envoy Gateway (--implementation)" in stdout
    assert "BackendTrafficPolicy" in stdout


def test_the_implementation_comes_from_a_gateway_class(tmp_path: Path) -> None:
    for source in (EXAMPLE / "after-naive").glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "class.yaml").write_text("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
                                         "metadata: {name: eg}\nspec: {controllerName: "
                                         "gateway.envoyproxy.io/gatewayclass-controller}\n")
    _, output = compare_json("--before", str(EXAMPLE / "before"), "--after", str(tmp_path))
    assert any("Envoy Gateway (GatewayClass" in a for a in output["assumptions"])  # type: ignore[union-attr]


def test_sarif_output() -> None:
    status, stdout, _ = compare("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-naive"),
                                "-o", "sarif")
    assert status == 1
    rule_ids = {result["ruleId"] for result in json.loads(stdout)["runs"][0]["results"]}
    assert {"SG702", "SG704"} <= rule_ids


def test_unparseable_input_exits_2_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: [unclosed\n")
    status, _, stderr = compare("--before", str(EXAMPLE / "before"), "--after", str(tmp_path))
    assert status == 2
    assert "broken.yaml" in stderr and "Traceback" not in stderr


def test_usage_errors_exit_2() -> None:
    assert compare("--after", str(EXAMPLE / "after-naive"))[0] == 2
    assert compare("--before", str(EXAMPLE / "before"))[0] == 2
    assert compare("--before", "-", "--after", "-")[0] == 2
    assert compare("--before", "/nonexistent", "--after", str(EXAMPLE / "after-naive"))[0] == 2
    assert compare("--before", str(EXAMPLE / "before"), "--after", str(EXAMPLE / "after-naive"),
                   "--implementation", "nope")[0] == 2
