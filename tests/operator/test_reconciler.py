"""The evaluation half of the reconciler: parts of the cluster in, conditions and findings out."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import Configuration
from sg_objects import mageagent, route, server, service

from socketguard.cluster.feed import Feed, Observed
from socketguard.cluster.kube import Kube
from socketguard.controller.reconciler import Reconciler, run_bounded
from socketguard.controller.writers import Writers
from socketguard.engine import context, trace
from socketguard.engine.analysis import analyze
from socketguard.engine.objects import ObjectRef

ISTIO = {"virtualservices.networking.istio.io": ("networking.istio.io", "VirtualService")}


def reconciler(*objects: dict[str, Any], istio: bool = True) -> Reconciler:
    feed = Feed()
    if istio:
        feed.crds.update(ISTIO)
    kube = Kube(Configuration())
    found = Reconciler(feed, kube, Writers(kube, "test"))
    for obj in objects:
        obj["metadata"].setdefault("uid", f"uid-{obj['metadata']['name']}")
        feed.apply(obj)
    return found


DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "mageagent", "mageagent")
VIRTUAL_SERVICE = ObjectRef("networking.istio.io/v1", "VirtualService", "mageagent", "adverant")


def test_the_broken_example_marks_the_server_and_its_route_false() -> None:
    sg = reconciler(*mageagent())
    outcomes = [sg.evaluator.evaluate(unit) for unit in sg.evaluator.units(set(sg.dirty))]
    conditions = {ref: c for o in outcomes for ref, c in o.conditions.items()}
    assert set(conditions) == {DEPLOYMENT, VIRTUAL_SERVICE}
    for condition in conditions.values():
        assert (condition.status, condition.reason) == ("False", "SocketPathMismatch")
        assert "rewrite: {uri: /socket.io/}" in condition.message


def test_the_fixed_route_is_true() -> None:
    sg = reconciler(*mageagent("fixed-by-rewrite"))
    outcomes = [sg.evaluator.evaluate(unit) for unit in sg.evaluator.units(set(sg.dirty))]
    assert {c.status for o in outcomes for c in o.conditions.values()} == {"True"}
    assert VIRTUAL_SERVICE in {ref for o in outcomes for ref in o.clean}


def test_the_operator_finds_what_the_engine_finds_on_the_whole_inventory() -> None:
    objects = [*mageagent(), server("a", path="/ws"), service("a"), route("a"), server("b"), service("b"), route("b")]
    sg = reconciler(*objects)
    outcomes = [sg.evaluator.evaluate(unit) for unit in sg.evaluator.units(set(sg.dirty))]
    by_parts = sorted((f.key, f.message) for o in outcomes for fs in o.by_subject.values() for f in fs)
    whole = sorted((f.key, f.message) for f in analyze(sg.feed.inventory))
    assert by_parts == whole and whole


def test_a_change_reevaluates_only_its_part() -> None:
    sg = reconciler(server("a"), service("a"), route("a"), server("b"), service("b"), route("b"))
    sg.dirty.clear()
    sg.feed.apply(route("a", prefix="/api/socket.io/"))
    units = sg.evaluator.units(set(sg.dirty))
    assert [sorted(r.name for r in u.evaluated) for u in units] == [["a", "a", "a"]]


def test_without_istio_servers_are_unknown() -> None:
    sg = reconciler(server("a"), service("a"), istio=False)
    outcomes = [sg.evaluator.evaluate(unit) for unit in sg.evaluator.units(set(sg.dirty))]
    conditions = [c for o in outcomes for c in o.conditions.values()]
    assert [(c.status, c.reason) for c in conditions] == [("Unknown", "RoutingNotEvaluated")]


def test_an_apply_of_many_objects_is_one_evaluation_per_part() -> None:
    objects = [obj for i in range(17) for obj in (server(f"s{i}"), service(f"s{i}"), route(f"s{i}"))]
    sg = reconciler(*objects[:-1])  # 50 objects: 16 whole pairs and one without its route
    units = sg.evaluator.units(set(sg.dirty))
    assert len(units) == 17
    assert sorted(len(u.evaluated) for u in units) == [2] + [3] * 16


def test_a_crd_change_reevaluates_everything() -> None:
    sg = reconciler(server("a"), service("a"), route("a"), istio=False)
    sg.full = False
    sg.dirty.clear()
    sg.feed.crds.clear()
    sg.feed._notify_global()
    assert sg.full


def test_a_deleted_route_reevaluates_its_former_server() -> None:
    sg = reconciler(server("a"), service("a"), route("a"))
    sg.dirty.clear()
    sg.feed.delete(route("a"))
    changed = set(sg.dirty)
    assert {r.kind for r in changed} == {"VirtualService", "Service"}
    evaluated = set().union(*(u.evaluated for u in sg.evaluator.units(changed)))
    assert ObjectRef("apps/v1", "Deployment", "demo", "a") in evaluated


def test_an_evaluation_routes_its_unit_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers and the routes to them come from the engine run that found the findings."""
    built: list[int] = []
    build = trace.build_traces

    def counted(*args: Any, **kwargs: Any) -> trace.TraceSet:
        built.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(context, "build_traces", counted)  # the name the Context calls
    sg = reconciler(*mageagent(), server("a", path="/ws"), service("a"), route("a"))
    units = sg.evaluator.units(set(sg.dirty))
    evaluations = [sg.evaluator.evaluate(unit) for unit in units]
    assert len(units) == 2 and all(e.conditions for e in evaluations)
    assert len(built) == len(units)


def test_a_write_answered_for_an_object_deleted_and_created_again_meanwhile_is_not_taken_for_the_new_one() -> None:
    """The condition written on the old object must not make the new one (same name) look done."""
    sg = reconciler(server("a"), service("a"), route("a"))
    ref = ObjectRef("apps/v1", "Deployment", "demo", "a")
    [evaluation] = [e for e in (sg.evaluator.evaluate(u) for u in sg.evaluator.units(set(sg.dirty)))
                    if ref in e.conditions]
    again = server("a")
    again["metadata"]["uid"] = "uid-a-again"

    async def upsert_condition(ref: ObjectRef, observed: Observed, condition: Any, generation: Any) -> Observed:
        sg.feed.delete(server("a"))  # meanwhile: deleted and created again under the same name
        sg.feed.apply(again)
        return replace(observed, condition=condition.as_dict(generation, "now"), index=0, conditions=1)

    async def post_event(*_: Any, **__: Any) -> None:
        return None

    sg.delivery.writers = SimpleNamespace(upsert_condition=upsert_condition, post_event=post_event)  # type: ignore[assignment]

    async def deliver() -> None:
        await asyncio.gather(*sg.delivery.writes(evaluation, {}))

    asyncio.run(deliver())
    assert sg.feed.observed[ref].uid == "uid-a-again" and sg.feed.observed[ref].condition is None


def test_writes_run_a_bounded_number_at_a_time_and_their_errors_are_returned() -> None:
    running, most = 0, 0

    async def write(index: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        if index % 10 == 0:
            raise RuntimeError(f"write {index} failed")

    failed = asyncio.run(run_bounded([write(i) for i in range(100)], 8))
    assert most == 8 and sorted(str(e) for e in failed) == sorted(f"write {i} failed" for i in range(0, 100, 10))


def test_cancelled_bounded_writes_leave_no_coroutine_unawaited() -> None:
    started: list[int] = []

    async def write(index: int) -> None:
        started.append(index)
        await asyncio.sleep(10)

    async def cancel_soon() -> list[Any]:
        jobs = [write(i) for i in range(50)]
        task = asyncio.ensure_future(run_bounded(jobs, 4))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return [job.cr_frame for job in jobs]

    frames = asyncio.run(cancel_soon())
    assert started == [0, 1, 2, 3] and all(frame is None for frame in frames)  # closed, none left suspended
