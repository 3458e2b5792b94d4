"""Splitting a namespace's report results over reports that fit the API server (pure)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from socketguard.controller.shards import (
    REPORT_BYTES,
    Layout,
    ObjectKey,
    is_shard_name,
    list_bytes,
    plan,
    result_bytes,
    results_bytes,
    shard_name,
)
from socketguard.controller.verdict import pass_result, result_key
from socketguard.engine.objects import ObjectRef

Objects = dict[ObjectKey, dict[Any, dict[str, Any]]]
BUDGET = 20_000


def results_of(name: str, count: int = 1, pad: int = 200, kind: str = "VirtualService") -> dict[Any, dict[str, Any]]:
    out = {}
    for index in range(count):
        result = pass_result(ObjectRef("networking.istio.io/v1", kind, "demo", name), f"uid-{name}", 1_700_000_000,
                             policy=f"SG{100 + index}", message="m" * pad)
        out[result_key(result)] = result
    return out


def namespace(objects: int, per_object: int = 1, pad: int = 200) -> Objects:
    return {("VirtualService", f"route-{i:04d}"): results_of(f"route-{i:04d}", per_object, pad) for i in range(objects)}


def sizes_of(objects: Objects) -> dict[ObjectKey, int]:
    return {key: results_bytes(by_key.values()) for key, by_key in objects.items()}


def layout_of(objects: Objects, previous: int = 1, budget: int = BUDGET) -> Layout:
    return plan(objects, sizes_of(objects), previous, budget)


def assert_complete_and_fitting(objects: Objects, layout: Layout, budget: int = BUDGET) -> None:
    placed = Counter(result_key(r) for shard in layout.shards for r in shard.results)
    assert placed == Counter(key for by_key in objects.values() for key in by_key)  # each result once
    for shard in layout.shards:
        assert list_bytes(shard.results) <= budget
        assert shard.results == sorted(shard.results, key=result_key)
        assert shard.results  # empty buckets have no report


def test_a_small_namespace_keeps_its_one_report() -> None:
    objects = namespace(10)
    layout = layout_of(objects)
    assert (layout.count, [s.name for s in layout.shards]) == (1, ["socketguard"])
    assert_complete_and_fitting(objects, layout)


def test_a_large_namespace_is_split_into_reports_that_fit() -> None:
    objects = namespace(400, per_object=2)
    assert list_bytes(r for by_key in objects.values() for r in by_key.values()) > 8 * BUDGET
    layout = layout_of(objects)
    assert layout.count & (layout.count - 1) == 0 and layout.count >= 8
    assert_complete_and_fitting(objects, layout)
    assert all(is_shard_name(s.name) for s in layout.shards)
    assert {s.name for s in layout.shards} <= {shard_name(i) for i in range(layout.count)}
    # An object's results stay together, in one report.
    holder = {(r["resources"][0]["kind"], r["resources"][0]["name"]): s.name for s in layout.shards for r in s.results}
    assert len(holder) == len(objects)
    assert all(sum(1 for s in layout.shards for r in s.results if r["resources"][0]["name"] == name) == 2
               for _, name in objects)


def rewritten(before: Layout, after: Layout) -> set[str]:
    """Reports a writer going from `before` to `after` writes or deletes."""
    old = {s.name: s.results for s in before.shards}
    new = {s.name: s.results for s in after.shards}
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def test_one_objects_change_rewrites_one_report() -> None:
    objects = namespace(400, per_object=2)
    before = layout_of(objects)
    changed = {**objects, ("VirtualService", "route-0123"): results_of("route-0123", 2, pad=260)}
    after = layout_of(changed, before.count)
    assert after.count == before.count
    assert len(rewritten(before, after)) == 1


def test_an_added_or_removed_object_rewrites_one_report() -> None:
    objects = namespace(400, per_object=2)
    before = layout_of(objects)
    grown = {**objects, ("VirtualService", "route-new"): results_of("route-new", 2)}
    assert len(rewritten(before, layout_of(grown, before.count))) == 1
    shrunk = {key: value for key, value in objects.items() if key != ("VirtualService", "route-0007")}
    assert len(rewritten(before, layout_of(shrunk, before.count))) == 1


def test_the_count_grows_when_a_report_would_overflow_and_shrinks_only_well_below() -> None:
    objects = namespace(400, per_object=2)
    full = layout_of(objects)
    assert_complete_and_fitting(objects, full)
    # A little smaller: the same reports (no rewrite of every report for a few objects).
    fewer = dict(list(objects.items())[:300])
    assert layout_of(fewer, full.count).count == full.count
    # Much smaller: the halves fill at most half a report, so the count halves (and stays so).
    small = dict(list(objects.items())[:40])
    shrunk = layout_of(small, full.count)
    assert shrunk.count < full.count
    assert_complete_and_fitting(small, shrunk)
    assert layout_of(small, shrunk.count).count == shrunk.count
    # Starting from a larger count than needed after a restart gives the same answer as the writer had.
    assert layout_of(objects, full.count) == full


def test_an_empty_namespace_has_no_report() -> None:
    assert layout_of({}, previous=8) == Layout(1, [])


def test_an_object_too_large_for_a_quarter_report_is_spread_result_by_result() -> None:
    objects = {**namespace(20), ("VirtualService", "huge"): results_of("huge", 120, pad=400)}
    assert results_bytes(objects[("VirtualService", "huge")].values()) > BUDGET
    layout = layout_of(objects)
    assert_complete_and_fitting(objects, layout)
    assert len([s for s in layout.shards if any(r["resources"][0]["name"] == "huge" for r in s.results)]) > 1


def test_result_size_is_the_json_the_api_server_stores() -> None:
    results = list(results_of("route", 3, pad=50).values())
    assert list_bytes(results) == len(json.dumps(results, separators=(",", ":")))
    plain = pass_result(ObjectRef("v1", "Service", "demo", "a"), None, 1, message="a b")
    escaped = pass_result(ObjectRef("v1", "Service", "demo", "a"), None, 1, message="a<b")
    assert result_bytes(escaped) == result_bytes(plain) + 5  # stored as \u003c
    assert result_bytes(pass_result(ObjectRef("v1", "Service", "demo", "a"), None, 1, message="aéb")) == \
        result_bytes(plain) + 1  # UTF-8, not \u00e9


def test_placement_does_not_depend_on_the_process() -> None:
    """The hash is stable across restarts (not Python's salted `hash`): pinned here."""
    objects = namespace(40)
    layout = layout_of(objects, budget=4000)
    where = {r["resources"][0]["name"]: s.name for s in layout.shards for r in s.results}
    assert layout.count == 8
    assert [where[f"route-{i:04d}"] for i in range(6)] == PINNED


PINNED = ["socketguard-5", "socketguard-6", "socketguard-3", "socketguard-6", "socketguard-3", "socketguard-5"]


def test_shard_names() -> None:
    assert [shard_name(i) for i in range(3)] == ["socketguard", "socketguard-2", "socketguard-3"]
    assert all(is_shard_name(n) for n in ("socketguard", "socketguard-2", "socketguard-17"))
    assert not any(is_shard_name(n) for n in ("socketguard-0", "socketguard-1x", "socketguard-", "other",
                                              "xsocketguard"))


def test_the_default_budget_leaves_headroom_under_etcds_limit() -> None:
    assert REPORT_BYTES <= 1024 * 1024 - 200 * 1024
