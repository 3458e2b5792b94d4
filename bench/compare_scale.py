"""How `socketguard compare` scales: N copies of the migration example, BEFORE vs AFTER.

Each copy of manifests/examples/migration (one namespace and host per copy) adds one Socket.IO
route. Times, each in a fresh process, over the same generated directories:
  floor: python -m socketguard lint BEFORE -o json --fail-on never (one picture, every rule);
  compare: python -m socketguard compare --before BEFORE --after AFTER -o json --fail-on never.
Prints wall seconds of both, their ratio and compare's CPU seconds; the issue's target is 1,000
routes in under 5 s.

    python bench/compare_scale.py                       # 1,000 routes, after-naive
    python bench/compare_scale.py --routes 200 1000 --after after-faithful
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "manifests/examples/migration"


def generate(side: str, copies: int, target: Path) -> Path:
    """`copies` copies of one side of the example, namespace and host renamed per copy."""
    out = target / side
    out.mkdir(parents=True)
    texts = [p.read_text() for p in sorted((EXAMPLE / side).glob("*.yaml"))]
    for index in range(copies):
        body = "\n---\n".join(texts).replace("mageagent-affinity", "sticky")
        body = body.replace("namespace: mageagent", f"namespace: m{index}").replace("name: mageagent\n",
                                                                                      f"name: m{index}\n", 1)
        body = body.replace("adverant.ai", f"a{index}.example.com")
        (out / f"copy-{index:05d}.yaml").write_text(body)
    return out


def timed(arguments: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run, and its output (CPU is steadier on a shared machine)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "socketguard", *arguments], capture_output=True, text=True,
                          env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"socketguard {' '.join(arguments[:1])} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", type=int, nargs="+", default=[1000])
    parser.add_argument("--after", default="after-naive", choices=["after-naive", "after-faithful"])
    options = parser.parse_args()
    print(f"{'routes':>7} {'lint BEFORE (floor) s':>22} {'compare s':>10} {'ratio':>6} {'compare cpu s':>14}  summary")
    for routes in options.routes:
        with tempfile.TemporaryDirectory() as directory:
            before = generate("before", routes, Path(directory))
            after = generate(options.after, routes, Path(directory))
            floor, _, _ = timed(["lint", str(before), "-o", "json", "--fail-on", "never"])
            took, cpu, stdout = timed(["compare", "--before", str(before), "--after", str(after), "-o", "json",
                                       "--fail-on", "never"])
            summary = json.loads(stdout)["summary"]
            print(f"{routes:>7} {floor:>22.2f} {took:>10.2f} {took / floor:>6.2f} {cpu:>14.2f}  {summary}")


if __name__ == "__main__":
    main()
