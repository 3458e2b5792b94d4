"""Operator start-up: how soon a waiting replica says why, and how soon a standalone one writes.

    python bench/operator_start.py [--runs 3]

Starts a control plane without kopf's peering CRDs, applies the broken MageAgent example, then
per run: starts `socketguard operator` without `--standalone` and times the first "waiting for
peering" log line (target: 10 s), and starts it with `--standalone` and times the example's
Deployment condition (target: 5 s). Both from the moment the process is started.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "operator"), str(ROOT / "tests" / "operator")]

from sg_objects import mageagent  # noqa: E402
from sg_operator import OperatorProcess, condition, fresh, operator_kubeconfig  # noqa: E402

from socketguard.testing import ControlPlane, find_toolset, wait_for  # noqa: E402


def timed(process: OperatorProcess, reached: object, what: str) -> float:
    began = time.monotonic()
    process.launch()
    try:
        wait_for(reached, timeout=120, interval=0.05, what=what)  # type: ignore[arg-type]
        return time.monotonic() - began
    finally:
        process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    toolset = find_toolset()
    if toolset is None:
        sys.exit("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    with tempfile.TemporaryDirectory(prefix="sg-bench-start-") as scratch, \
            ControlPlane(run_dir=Path(scratch) / "plane", toolset=toolset, controller_manager=False) as plane:
        kubeconfig = operator_kubeconfig(plane, peering=False)
        waiting, standalone = [], []
        for run in range(args.runs):
            namespace = f"start-{run}"
            plane.create_namespace(namespace)
            plane.apply(fresh(*mageagent("broken", namespace)))
            paused = OperatorProcess(kubeconfig, Path(scratch))
            waiting.append(timed(paused, lambda p=paused: "waiting for peering" in p.log(), "waiting message"))
            alone = OperatorProcess(kubeconfig, Path(scratch), "--standalone")
            standalone.append(timed(alone, lambda n=namespace: (condition(plane, "deployment", n, "mageagent")
                                                                 or {}).get("status") == "False", "condition"))
    for label, values, target in (("start -> waiting message", waiting, 10.0),
                                  ("start -> condition (--standalone)", standalone, 5.0)):
        print(f"{label}: median {statistics.median(values):.1f} s, max {max(values):.1f} s "
              f"(target {target:.0f} s) over {len(values)} runs")


if __name__ == "__main__":
    main()
