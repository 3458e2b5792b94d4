"""How `socketguard lint` scales, against the floor of reading the same files with PyYAML's C loader.

Generates N objects as copies of an example topology (one namespace and host per copy, one
directory of files per copy), then times, each in a fresh process:
  floor: python reading every file with yaml.CSafeLoader (the least any YAML linter must do);
  lint:  python -m socketguard lint DIR -o json --fail-on never.
Prints wall and CPU seconds (the best of --runs, or their median), the lint/floor ratio, and the
growth from the smallest N to the largest relative to the growth in objects (1.0 = linear).
With --breakdown, also where lint's CPU time goes at the largest N (one more process, the
stages `lint -o json` runs, timed one after the other).

    python bench/lint_scale.py                      # N = 2,000, 10,000 and 20,000
    python bench/lint_scale.py --objects 2000 20000 --example manifests/examples/mageagent/broken
    python bench/lint_scale.py --objects 10000 --runs 5 --stat median --breakdown
    python bench/lint_scale.py --objects 2000 10000 --shared-namespace   # a monorepo's one namespace
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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

# The stages of `socketguard lint DIR -o json`, as cli/lint.py runs them, timed in CPU seconds.
BREAKDOWN = """
import gc, sys, time
clock, marks = time.process_time, [time.process_time()]
def mark(): marks.append(clock())
gc.disable()  # as in `lint`, which pauses collections for the whole command
from socketguard.cli.lint import Locator, by_location, rule_set
from socketguard.engine.analysis import analyze
from socketguard.engine.inventory import Inventory
from socketguard.inputs.loader import load_inputs
from socketguard.report import json as json_report
rules = rule_set(); mark()
loaded = load_inputs([sys.argv[1]]); mark()
inventory, locator = Inventory(), Locator()
for item in loaded.objects:
    locator.add(inventory.add(item.raw), item.origin)
mark()
findings = analyze(inventory, rules=rules); mark()
located = sorted((locator.locate_finding(finding) for finding in findings), key=by_location); mark()
json_report.render(located); mark()
names = ("imports", "load", "inventory", "analysis", "locate", "render")
print(" ".join(f"{name} {end - start:.2f}" for name, start, end in zip(names, marks, marks[1:])),
      f"(total {marks[-1] - marks[0]:.2f} s CPU, {len(findings)} findings)")
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


def generate(directory: Path, examples: list[Path], objects: int, *, shared: bool = False) -> int:
    """Copies of the examples, each in its own namespace and host, until `objects` are written.

    `shared`: every copy in one namespace instead, its objects' names given the copy's number
    (and every mention of them: selectors, destinations, paths), so one namespace holds them all.
    """
    written, copy = 0, 0
    while written < objects:
        files, namespace, host = topology(examples[copy % len(examples)])
        target = directory / f"copy-{copy:05d}"
        target.mkdir()
        space = "sg-shared" if shared else f"sg-{copy}"
        for name, text in files.items():
            text = text.replace(f"namespace: {namespace}", f"namespace: {space}")
            if "kind: Namespace" in text and shared and copy:
                continue  # one Namespace object for all copies
            text = text.replace(f"name: {namespace}\n  labels", f"name: {space}\n  labels")
            text = text.replace(host, f"t{copy}.{host}")
            if shared:
                text = re.sub(rf"(?<![\w.-])({'|'.join(map(re.escape, object_names(files)))})(?![\w.-])",
                              rf"\1-{copy}", text)
            (target / name).write_text(text)
            written += objects_per_copy({name: text})
        copy += 1
    return written


def object_names(files: dict[str, str]) -> list[str]:
    """The `metadata.name`s of the example's objects, longest first (so no name renames part of another)."""
    found = {match for text in files.values() for match in re.findall(r"^metadata:\n(?:  .*\n)*?  name: (\S+)$",
                                                                      text, re.MULTILINE)}
    return sorted(found, key=len, reverse=True)


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summary(runs: int, command: list[str], stat: Callable[[list[float]], float]) -> tuple[float, float]:
    results = [timed(command) for _ in range(runs)]
    return stat([r[0] for r in results]), stat([r[1] for r in results])


def breakdown(directory: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    return subprocess.run([sys.executable, "-c", BREAKDOWN, directory], check=True, capture_output=True,
                          text=True, env=environment).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, nargs="+", default=[2000, 10000, 20000])
    parser.add_argument("--example", type=Path, action="append", help="example directory (repeatable)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement")
    parser.add_argument("--stat", choices=["best", "median"], default="best",
                        help="which of the runs is printed (median on a machine others use)")
    parser.add_argument("--breakdown", action="store_true", help="where lint's CPU time goes, at the largest N")
    parser.add_argument("--shared-namespace", action="store_true",
                        help="every copy in one namespace (names numbered), not one namespace per copy")
    args = parser.parse_args()
    examples = args.example or DEFAULT_EXAMPLES
    stat = min if args.stat == "best" else statistics.median
    rows = []
    print(f"{'objects':>8} {'floor s':>8} {'lint s':>8} {'ratio':>6} {'floor cpu':>10} {'lint cpu':>9} {'ratio':>6}")
    stages = ""
    for count in sorted(args.objects):
        with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
            written = generate(Path(tmp), examples, count, shared=args.shared_namespace)
            floor = summary(args.runs, [sys.executable, "-c", FLOOR, tmp], stat)
            lint = summary(args.runs, [sys.executable, "-m", "socketguard", "lint", tmp, "-o", "json",
                                       "--fail-on", "never"], stat)
            if args.breakdown and count == max(args.objects):
                stages = f"where lint's time goes at {written} objects: {breakdown(tmp)}"
        rows.append((written, floor, lint))
        print(f"{written:>8} {floor[0]:>8.2f} {lint[0]:>8.2f} {lint[0] / floor[0]:>6.2f} "
              f"{floor[1]:>10.2f} {lint[1]:>9.2f} {lint[1] / floor[1]:>6.2f}")
    if len(rows) > 1:
        (n0, _, l0), (n1, _, l1) = rows[0], rows[-1]
        growth = (l1[1] / l0[1]) / (n1 / n0)
        print(f"growth {n0} -> {n1} objects: lint cpu x{l1[1] / l0[1]:.2f} for x{n1 / n0:.1f} objects "
              f"(1.00 = linear): {growth:.2f}")
    if stages:
        print(stages)


if __name__ == "__main__":
    main()
