"""`python -m socketguard lint` as a process: what the console script and the pre-commit hook run.

The program ends a lint without tearing the interpreter down (`socketguard.cli.run`), so what it
prints, the files it writes and its exit code are checked here against the command run in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from socketguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests" / "examples" / "mageagent" / "broken"


def program(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    return subprocess.run([sys.executable, "-m", "socketguard", *arguments], capture_output=True, text=True,
                          check=False, env=environment, cwd=ROOT)


def test_the_program_prints_and_exits_as_the_command_does() -> None:
    in_process = CliRunner().invoke(main, ["lint", str(EXAMPLE), "-o", "json"])
    done = program("lint", str(EXAMPLE), "-o", "json")
    assert done.returncode == in_process.exit_code == 1, done.stderr
    assert json.loads(done.stdout) == json.loads(in_process.stdout) != []


def test_a_baseline_the_program_writes_is_whole(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    written = program("lint", str(EXAMPLE), "--write-baseline", str(baseline))
    assert written.returncode == 0, written.stderr
    again = program("lint", str(EXAMPLE), "--baseline", str(baseline), "-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == []


def test_usage_errors_exit_2_with_their_message() -> None:
    done = program("lint", str(ROOT / "no-such-directory"))
    assert done.returncode == 2
    assert "no such file or directory" in done.stderr


def test_a_closed_standard_output_is_an_input_error_not_a_traceback() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m socketguard lint {EXAMPLE} >&-"],
                          capture_output=True, text=True, check=False, env=environment, cwd=ROOT)
    assert done.returncode == 2
    assert "standard output is closed" in done.stderr
    assert "Traceback" not in done.stderr
