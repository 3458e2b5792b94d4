"""`socketguard probe` usage: help that teaches, exit 2 on bad usage (no peers needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from socketguard.cli import main


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["probe", *args])
    return result.exit_code, result.output


def test_probe_is_a_registered_command() -> None:
    result = CliRunner().invoke(main, ["--help"])

    assert "probe" in result.output


def test_help_teaches_with_examples_and_exit_codes() -> None:
    code, output = invoke("--help")

    assert code == 0
    assert "Examples:" in output
    assert "socketguard probe https://api.example.com --origin https://app.example.com" in output
    assert "Exit codes: 0" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["api.example.com"], "no scheme"),
        (["http://h/x", "--path", "/y"], "give it once"),
        (["http://h", "--transport", "flash"], "'flash' is not one of"),
        (["http://h", "--polls", "99"], "99 is not in the range"),
        (["http://h", "--timeout", "0"], "0<x<=120"),
        (["http://h", "-n", "chat"], "namespace 'chat'"),
        (["http://h", "--origin", "https://a/b"], "no path"),
        (["http://h", "--ca-file", "/nonexistent.pem"], "does not exist"),
        ([], "Missing argument 'URL'"),
    ],
)
def test_bad_usage_exits_2_with_the_reason(args: list[str], message: str) -> None:
    code, output = invoke(*args)

    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_ca_file_with_insecure_is_bad_usage(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")

    assert invoke("https://h", "--ca-file", str(ca), "--insecure")[0] == 2


def test_a_ca_file_that_is_not_pem_is_bad_usage(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")

    code, output = invoke("https://127.0.0.1:9", "--ca-file", str(ca))

    assert code == 2
    assert "could not be loaded" in output
