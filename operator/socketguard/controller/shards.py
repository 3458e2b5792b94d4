"""Which report of a namespace holds which result: reports that always fit the API server.

A namespace's results are split over as many reports as their JSON size needs (`plan`). The
API server refuses a request body over 3 MiB (HTTP 413) and etcd an object over 1.5 MiB (HTTP
500 "etcdserver: request is too large"), so each report's results stay under `REPORT_BYTES`,
measured as the compact JSON the API server stores, with half of etcd's limit left as headroom.

Results are placed by a stable hash of their object, into a power-of-two number of buckets:
one object's change rewrites the one report holding it, not every report after it (as packing
results in order would: a result that grows pushes all later ones along). The count doubles
when a bucket overflows (every report is rewritten once, as a hash table rehashes) and halves
only when the halves would fill at most half a report, so a namespace at a boundary does not
flip back and forth. An object whose results alone would fill a quarter of a report is placed
result by result, so doubling always ends with every bucket under the budget. Bucket `i` is the
report `socketguard` (i = 0) or `socketguard-<i+1>`; empty buckets have no report.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REPORT_NAME = "socketguard"
REPORT_BYTES = 768 * 1024  # results per report, as compact JSON
MAX_SHARDS = 4096
_SPREAD_FRACTION = 4  # an object over 1/4 of a report is placed result by result
_SHARD_NAME = re.compile(rf"^{REPORT_NAME}(?:-([1-9][0-9]*))?$")

ObjectKey = tuple[str, str]  # kind, name
ResultKey = tuple[str, str, str, str]  # policy, kind, name, field path: `result_key` of the result
Result = dict[str, Any]


@dataclass(frozen=True)
class Unit:
    """What is placed as one: an object's results, or one result of a very large object."""

    placement: int
    size: int  # bytes of its results in a report's results list, each with its comma
    results: tuple[tuple[ResultKey, Result], ...]


@dataclass(frozen=True)
class Shard:
    index: int
    results: list[Result]  # sorted by result_key

    @property
    def name(self) -> str:
        return shard_name(self.index)


@dataclass(frozen=True)
class Layout:
    count: int  # buckets; a power of two
    shards: list[Shard]  # the non-empty buckets, by index


def shard_name(index: int) -> str:
    return REPORT_NAME if index == 0 else f"{REPORT_NAME}-{index + 1}"


def is_shard_name(name: str) -> bool:
    return _SHARD_NAME.match(name) is not None


def result_bytes(result: Mapping[str, Any]) -> int:
    """Bytes `result` takes in a report's results list, its separating comma included. The API
    server stores UTF-8 and escapes `<`, `>` and `&` as `\\u003c` (six bytes for one)."""
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode()) + 5 * sum(text.count(c) for c in "<>&") + 1


def results_bytes(results: Iterable[Mapping[str, Any]]) -> int:
    return sum(result_bytes(r) for r in results)


def list_bytes(results: Iterable[Mapping[str, Any]]) -> int:
    """The compact JSON size of `results` as a list (what a report's `results` field takes)."""
    return results_bytes(results) + 1  # the brackets, less the last comma


@functools.lru_cache(maxsize=1 << 16)
def _placement(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def units(objects: Mapping[ObjectKey, Mapping[ResultKey, Result]], sizes: Mapping[ObjectKey, int],
          budget: int = REPORT_BYTES) -> list[Unit]:
    """The namespace's results as placement units; `sizes` holds `results_bytes` of each object."""
    found: list[Unit] = []
    for (kind, name), by_key in objects.items():
        size = sizes[(kind, name)]
        if size * _SPREAD_FRACTION <= budget:
            found.append(Unit(_placement(kind, name), size, tuple(by_key.items())))
            continue
        for key, result in by_key.items():
            policy, _, _, path = key
            found.append(Unit(_placement(kind, name, policy, path), result_bytes(result), ((key, result),)))
    return found


def _largest(placed: list[Unit], count: int) -> int:
    totals = [0] * count
    for unit in placed:
        totals[unit.placement % count] += unit.size
    return max(totals, default=0) + 1


def shard_count(placed: list[Unit], previous: int = 1, budget: int = REPORT_BYTES) -> int:
    """Buckets for `placed`: `previous` unless a bucket would overflow `budget` (then doubled as
    often as needed) or every bucket of half as many would fill at most half of it (then halved)."""
    count = 1
    while count < min(max(previous, 1), MAX_SHARDS):
        count *= 2
    while count < MAX_SHARDS and _largest(placed, count) > budget:
        count *= 2
    while count > 1 and _largest(placed, count // 2) <= budget // 2:
        count //= 2
    return count


def plan(objects: Mapping[ObjectKey, Mapping[ResultKey, Result]], sizes: Mapping[ObjectKey, int],
         previous: int = 1, budget: int = REPORT_BYTES) -> Layout:
    """Which report holds which result, given the bucket count the namespace had (`previous`).
    `objects` holds each object's results by their `result_key`."""
    placed = units(objects, sizes, budget)
    count = shard_count(placed, previous, budget)
    buckets: dict[int, list[tuple[ResultKey, Result]]] = {}
    for unit in placed:
        buckets.setdefault(unit.placement % count, []).extend(unit.results)
    shards = [Shard(index, [result for _, result in sorted(items, key=_first)])
              for index, items in sorted(buckets.items())]
    return Layout(count, shards)


def _first(item: tuple[ResultKey, Result]) -> ResultKey:
    return item[0]
