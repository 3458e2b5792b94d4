"""Start-up: what a pre-commit hook waits for, against the floor of starting Python with PyYAML.

Times, each in a fresh process and interleaved so machine load hits both alike:
  floor: python -c "import yaml";
  lint:  python -m socketguard lint DIR (the console script runs the same `socketguard.cli:run`).
Prints the median and spread (min..max) of wall and CPU seconds, and the ratio of medians (the wall
ratio is the goal: lint <= 4x the floor; the CPU ratio is steadier on a loaded machine).

    python bench/startup.py                                   # mageagent fixed-by-rewrite, 10 runs
    python bench/startup.py --runs 20 manifests/examples/mageagent/broken
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = ROOT / "manifests/examples/mageagent/fixed-by-rewrite"


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=environment)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def installed_like(pycache: str) -> dict[str, str]:
    """An installed package has its bytecode compiled; a source tree with PYTHONDONTWRITEBYTECODE
    would compile every module on every start and measure the compiler, not the start-up."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, "PYTHONPATH": str(ROOT / "operator"), "PYTHONPYCACHEPREFIX": pycache}


def summary(name: str, times: list[float]) -> str:
    return f"{name:>10}: median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    floor_command = [sys.executable, "-c", "import yaml"]
    lint_command = [sys.executable, "-m", "socketguard", "lint", str(args.target), "--fail-on", "never"]
    floor: list[tuple[float, float]] = []
    lint: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="sg-bench-pycache-") as pycache:
        environment = installed_like(pycache)
        timed(lint_command, environment)  # writes the bytecode, as `pip install` does
        for _ in range(args.runs):
            floor.append(timed(floor_command, environment))
            lint.append(timed(lint_command, environment))
    for index, what in enumerate(("wall", "cpu")):
        floors, lints = [run[index] for run in floor], [run[index] for run in lint]
        print(summary(f"floor {what}", floors))
        print(summary(f"lint {what}", lints))
        print(f"{what} ratio: {statistics.median(lints) / statistics.median(floors):.2f} (goal <= 4)")


if __name__ == "__main__":
    main()
