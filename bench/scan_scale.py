"""How long `socketguard contract scan` takes on a 50,000-line source tree (target: seconds).

Builds the tree in a temporary directory from the test sources (TypeScript client and server,
python-socketio server) plus generated modules of ordinary code with a few Socket.IO calls in
between, the mix a real repository has, then times the scan of the whole tree.

    python bench/scan_scale.py [--lines 50000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "operator"))

from socketguard.inputs.scan.source import scan_paths  # noqa: E402

SOURCES = ROOT / "tests" / "fixtures" / "sources"

TS_MODULE = """import {{ Socket }} from 'socket.io';

export interface Item{n} {{ id: string; value: number; tags: string[] }}

export function total{n}(items: Item{n}[]): number {{
  let sum = 0;
  for (const item of items) {{
    if (item.tags.includes('skip')) continue;
    sum += item.value * 2;
  }}
  return sum;
}}

export function register{n}(socket: Socket): void {{
  socket.on('module{n}:request', (data) => {{
    const result = total{n}(data.items);
    socket.emit('module{n}:result', {{ id: data.id, result, at: Date.now() }});
  }});
  socket.join(`module{n}:${{socket.id}}`);
}}

export class Cache{n} {{
  private store = new Map<string, Item{n}>();
  get(key: string): Item{n} | undefined {{ return this.store.get(key); }}
  set(key: string, value: Item{n}): void {{ this.store.set(key, value); }}
}}
"""

PY_MODULE = '''"""Generated module {n}."""

import socketio

sio = socketio.AsyncServer()


def score_{n}(values):
    total = 0
    for value in values:
        if value < 0:
            continue
        total += value * 2
    return total


@sio.on("module{n}:request")
async def request_{n}(sid, data):
    await sio.enter_room(sid, f"module{n}:{{data['id']}}")
    await sio.emit("module{n}:result", {{"id": data["id"], "score": score_{n}(data["values"])}})
'''


def build_tree(target: Path, lines: int) -> int:
    """Copies and generated modules until the tree holds at least `lines` lines; returns the count."""
    written = 0
    index = 0
    fixtures = sorted(p for p in SOURCES.rglob("*") if p.is_file())
    while written < lines:
        folder = target / f"pkg{index // 50}"
        folder.mkdir(exist_ok=True)
        kind = index % 4
        if kind == 0:
            source = fixtures[(index // 4) % len(fixtures)]
            destination = folder / f"copy{index}{source.suffix}"
            shutil.copyfile(source, destination)
        elif kind in (1, 2):
            destination = folder / f"module{index}.ts"
            destination.write_text(TS_MODULE.format(n=index))
        else:
            destination = folder / f"module{index}.py"
            destination.write_text(PY_MODULE.format(n=index))
        written += destination.read_text().count("\n")
        index += 1
    (target / "node_modules").mkdir()
    (target / "node_modules" / "skipped.js").write_text("socket.emit('never');\n" * 1000)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tree = Path(directory)
        lines = build_tree(tree, args.lines)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = scan_paths([tree])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    print(f"scanned {len(result.files)} files, {lines} lines in {elapsed:.2f} s wall, {cpu:.2f} s CPU "
          f"({lines / elapsed:,.0f} lines/s): {len(result.emits)} emits, {len(result.listens)} listens, "
          f"{len(result.joins)} joins, {len(result.errors)} errors")


if __name__ == "__main__":
    main()
