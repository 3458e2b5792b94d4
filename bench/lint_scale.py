"""How `socketguard lint` scales, against the floor of reading the same files with PyYAML's C loader.

Generates N objects as copies of an example topology (one namespace and host per copy, one
directory of files per copy), then times, each in a fresh process:
  floor: python reading every file with yaml.CSafeLoader (the least any YAML linter must do);
  lint:  python -m socketguard lint DIR -o json --fail-on never.
Prints wall and CPU seconds, the lint/floor ratio, and the growth from the smallest N to the
largest relative to the growth in objects (1.0 = linear).

    python bench/lint_scale.py                      # N = 2,000, 10,000 and 20,000
    python bench/lint_scale.py --objects 2000 20000 --example manifests/examples/mageagent/broken
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES = [ROOT / "manifests/examples/mageagent/broken"]

FLOOR = """
import sys, yaml
from pathlib import Path
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    with path.open("rb") as stream:
        count += sum(1 for doc in yaml.load_all(stream, Loader=yaml.CSafeLoader) if doc)
print(count)
"""


def topology(example: Path) -> tuple[dict[str, str], str, str]:
    """The example's files, its namespace and its public host (found in the files)."""
    files = {p.name: p.read_text() for p in sorted(example.glob("*.yaml"))}
    if not files:
        sys.exit(f"no *.yaml files in {example}")
    namespace = next(line.split(":", 1)[1].strip() for text in files.values() for line in text.splitlines()
                     if line.strip().startswith("namespace:"))
    return files, namespace, "adverant.ai"


def objects_per_copy(files: dict[str, str]) -> int:
    return sum(text.count("\nkind:") + text.startswith("kind:") for text in files.values())


def generate(directory: Path, examples: list[Path], objects: int) -> int:
    """Copies of the examples, each in its own namespace and host, until `objects` are written."""
    written, copy = 0, 0
    while written < objects:
        files, namespace, host = topology(examples[copy % len(examples)])
        target = directory / f"copy-{copy:05d}"
        target.mkdir()
        for name, text in files.items():
            text = text.replace(f"namespace: {namespace}", f"namespace: sg-{copy}")
            text = text.replace(f"name: {namespace}\n  labels", f"name: sg-{copy}\n  labels")
            (target / name).write_text(text.replace(host, f"t{copy}.{host}"))
        written += objects_per_copy(files)
        copy += 1
    return written


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_of(runs: int, command: list[str]) -> tuple[float, float]:
    results = [timed(command) for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, nargs="+", default=[2000, 10000, 20000])
    parser.add_argument("--example", type=Path, action="append", help="example directory (repeatable)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()
    examples = args.example or DEFAULT_EXAMPLES
    rows = []
    print(f"{'objects':>8} {'floor s':>8} {'lint s':>8} {'ratio':>6} {'floor cpu':>10} {'lint cpu':>9} {'ratio':>6}")
    for count in sorted(args.objects):
        with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
            written = generate(Path(tmp), examples, count)
            floor = best_of(args.runs, [sys.executable, "-c", FLOOR, tmp])
            lint = best_of(args.runs, [sys.executable, "-m", "socketguard", "lint", tmp, "-o", "json",
                                       "--fail-on", "never"])
        rows.append((written, floor, lint))
        print(f"{written:>8} {floor[0]:>8.2f} {lint[0]:>8.2f} {lint[0] / floor[0]:>6.2f} "
              f"{floor[1]:>10.2f} {lint[1]:>9.2f} {lint[1] / floor[1]:>6.2f}")
    if len(rows) > 1:
        (n0, _, l0), (n1, _, l1) = rows[0], rows[-1]
        growth = (l1[1] / l0[1]) / (n1 / n0)
        print(f"growth {n0} -> {n1} objects: lint cpu x{l1[1] / l0[1]:.2f} for x{n1 / n0:.1f} objects "
              f"(1.00 = linear): {growth:.2f}")


if __name__ == "__main__":
    main()
