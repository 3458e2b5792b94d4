"""The README's "Try the operator on your machine" block, run line by line as a newcomer would.

Each `kubectl describe` line is retried until the condition its comment promises shows (the
operator needs a moment after each apply); every other line must succeed as written. The block's
`/tmp/sg` becomes a temporary directory, and the background operator is stopped at the end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DESCRIBE_WAIT_S = 60.0


def readme_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Try the operator on your machine", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def expected_condition(line: str) -> list[str] | None:
    """`# SocketRouteReady  False  SocketPathMismatch` -> the three words, for describe lines."""
    command, _, comment = line.partition("#")
    if "kubectl describe" not in command:
        return None
    return comment.split()


def test_the_readme_operator_example_works(tmp_path: Path) -> None:
    lines = readme_block()
    assert any("socketguard operator --standalone" in line for line in lines)
    assert sum(expected_condition(line) is not None for line in lines) == 2
    shell_env = {**os.environ, "PYTHONPATH": str(ROOT / "operator"), "PATH": f"{Path(sys.executable).parent}:"
                 f"{os.environ['PATH']}"}
    script = tmp_path / "state.sh"  # exports carried from line to line, as one shell would
    script.write_text("")
    operator_log = tmp_path / "operator.log"
    background: list[subprocess.Popen[bytes]] = []
    try:
        for line in lines:
            line = line.replace("/tmp/sg", str(tmp_path / "sg"))
            command = line.partition("#")[0].rstrip()
            if command.startswith("kill %1"):
                break  # the cleanup below stops what the block started
            if command.endswith("&"):
                background.append(subprocess.Popen(
                    ["bash", "-c", f"source {script}; exec {command[:-1]} > {operator_log} 2>&1"],
                    cwd=ROOT, env=shell_env, start_new_session=True))
                continue
            expected = expected_condition(line)
            if expected is not None:
                _wait_for_describe(script, line, expected, shell_env, operator_log)
                continue
            done = _run(script, line, shell_env)
            assert done.returncode == 0, f"`{line}` failed: {done.stdout}{done.stderr}"
            if command.startswith("export "):
                with script.open("a") as state:
                    state.write(command + "\n")
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        subprocess.run([sys.executable, "-m", "socketguard.testing", "down", "--dir", str(tmp_path / "sg")],
                       cwd=ROOT, env=shell_env, check=False, capture_output=True, timeout=120)


def _run(script: Path, line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"source {script}; {line}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _wait_for_describe(script: Path, line: str, expected: list[str], env: dict[str, str], log: Path) -> None:
    pattern = re.compile(r"\s+".join(map(re.escape, expected)))
    deadline, output = time.monotonic() + DESCRIBE_WAIT_S, ""
    while time.monotonic() < deadline:
        done = _run(script, line, env)
        output = done.stdout
        if pattern.search(output):
            return
        time.sleep(1.0)
    pytest.fail(f"`{line}` never showed {' '.join(expected)}:\n{output}\noperator log:\n"
                f"{log.read_text(errors='replace')[-3000:] if log.exists() else '(none)'}")
