"""Churn soak: a seeded random sequence of creates, updates and deletes against the operator, with
one operator restart and one API-server restart in the middle. The end state equals a fresh
analysis, and the condition writes stay within 1.2x the verdict changes of the same sequence
replayed offline through the operator's own evaluation."""

from __future__ import annotations

import asyncio
import copy
import random
import re
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import Configuration
from sg_objects import route, server, service
from sg_operator import ISTIO, OperatorProcess, converge, fresh, operator_kubeconfig, own_control_plane

from socketguard.cluster.feed import Feed
from socketguard.cluster.kube import API_ERRORS, Kube, collection_path, load_configuration, object_path
from socketguard.cluster.retry import Backoff, until_done
from socketguard.controller.reconciler import Reconciler
from socketguard.controller.writers import Writers
from socketguard.engine.objects import ObjectRef

pytestmark = pytest.mark.e2e

NS = "soak"
SEED = 20261207
CHANGES = 2000
SLOTS = 20  # server/Service/VirtualService triples the changes pick from
OPERATOR_RESTART_AT, API_SERVER_RESTART_AT = 700, 1400
CONDITION_WRITES = ("condition", "condition-removal")
PLURAL = {"Deployment": "deployments", "Service": "services", "VirtualService": "virtualservices"}


@dataclass
class Change:
    verb: str  # create | update | delete
    body: dict[str, Any]


@dataclass
class Churn:
    """The cluster as the sequence has made it: which objects exist, and in which variant."""

    rng: random.Random
    live: dict[tuple[str, int], bool] = field(default_factory=dict)  # (kind, slot) -> variant

    def seed(self) -> list[Change]:
        return [self._create(kind, slot, False) for slot in range(SLOTS) for kind in PLURAL]

    def next(self) -> Change:
        kind, slot = self.rng.choice(list(PLURAL)), self.rng.randrange(SLOTS)
        if (kind, slot) not in self.live:
            return self._create(kind, slot, self.rng.random() < 0.5)
        if kind == "Service" or self.rng.random() < 0.4:
            variant = self.live.pop((kind, slot))
            return Change("delete", build(kind, slot, variant))
        self.live[(kind, slot)] = not self.live[(kind, slot)]
        return Change("update", build(kind, slot, self.live[(kind, slot)]))

    def _create(self, kind: str, slot: int, variant: bool) -> Change:
        self.live[(kind, slot)] = variant
        return Change("create", build(kind, slot, variant))


def build(kind: str, slot: int, variant: bool) -> dict[str, Any]:
    """Variants: a server on /ws (the default route then mismatches), a route with a rewrite to /ws/."""
    name = f"s{slot}"
    if kind == "Deployment":
        body = server(name, NS, path="/ws" if variant else None)
    elif kind == "Service":
        body = service(name, NS)
    else:
        body = route(name, NS, rewrite="/ws/" if variant else None)
    return fresh(body)[0]


def sequence() -> tuple[list[Change], list[Change]]:
    churn = Churn(random.Random(SEED))
    return churn.seed(), [churn.next() for _ in range(CHANGES)]


# -- offline: the verdict changes of the same sequence ---------------------------------------------
def offline_verdict_changes(changes: list[Change]) -> int:
    """Condition changes (status, reason, message, and observedGeneration on VirtualServices, which
    keep it) that the sequence causes, one change at a time: an upper bound of the needed writes."""
    feed = Feed()
    feed.crds.update(ISTIO)
    kube = Kube(Configuration())
    sg = Reconciler(feed, kube, Writers(kube, "offline"))
    generations: Counter[str] = Counter()
    shown: dict[ObjectRef, tuple[Any, ...]] = {}
    count = 0
    for change in changes:
        body = copy.deepcopy(change.body)
        name = body["metadata"]["name"]
        key = f"{body['kind']}/{name}"
        if change.verb == "delete":
            feed.delete(body)
            generations.pop(key, None)
            shown.pop(ObjectRef.of(body), None)  # gone with its object: nothing to write
        else:
            generations[key] += 1
            body["metadata"].update(uid=f"uid-{key}", generation=generations[key])
            feed.apply(body)
        dirty, sg.dirty = set(sg.dirty), set()
        for unit in sg.evaluator.units(dirty):
            evaluation = sg.evaluator.evaluate(unit)
            for ref in evaluation.evaluated:
                wanted = evaluation.conditions.get(ref)
                raw = feed.inventory.raw(ref) or {}
                generation = (raw.get("metadata") or {}).get("generation") if ref.kind == "VirtualService" else None
                state = None if wanted is None else (wanted.status, wanted.reason, wanted.message, generation)
                if state != shown.get(ref):
                    count += 1
                    if state is None:
                        shown.pop(ref, None)
                    else:
                        shown[ref] = state
    return count


# -- live ------------------------------------------------------------------------------------------
async def send(kube: Kube, change: Change) -> None:
    body = change.body
    ref = ObjectRef.of(body)
    plural = PLURAL[ref.kind]
    if change.verb == "create":
        await kube.create(collection_path(ref.api_version, plural, NS), body, kind=ref.kind)
    elif change.verb == "update":
        patch = {"metadata": {"annotations": body["metadata"].get("annotations") or {}}, "spec": body["spec"]}
        if ref.kind == "Deployment" and "socketguard.io/path" not in patch["metadata"]["annotations"]:
            patch["metadata"]["annotations"] = {**patch["metadata"]["annotations"], "socketguard.io/path": None}
        await kube.merge_patch(object_path(ref, plural=plural), patch, kind=ref.kind)
    else:
        await kube.delete(object_path(ref, plural=plural), kind=ref.kind)


def condition_writes(process: OperatorProcess) -> float:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{process.port}/metrics", timeout=5) as response:
        text = response.read().decode()
    pattern = re.compile(r'^socketguard_writes_total\{what="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE)
    return sum(float(value) for what, value in pattern.findall(text) if what in CONDITION_WRITES)


@pytest.mark.timeout(600)  # 2,060 API calls and two restarts; minutes on a loaded 2-core machine
def test_churn_soak_with_an_operator_and_an_api_server_restart(tmp_path: Path) -> None:
    seed, changes = sequence()
    began = time.monotonic()
    with own_control_plane(tmp_path / "soak") as plane:
        plane.create_namespace(NS)
        kubeconfig = operator_kubeconfig(plane)
        operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
        writes = 0.0
        try:
            async def churn() -> float:
                nonlocal operator
                kube = Kube(load_configuration(str(plane.kubeconfig)))
                counted = 0.0
                try:
                    for index, change in enumerate([*seed, *changes]):
                        if index == len(seed) + OPERATOR_RESTART_AT:
                            # Blocking, on purpose: a control-plane process dies with the thread that
                            # started it (PR_SET_PDEATHSIG), so no worker thread may start one.
                            counted += condition_writes(operator)
                            operator.stop()
                            operator = OperatorProcess(kubeconfig, tmp_path, "--standalone").start()
                        if index == len(seed) + API_SERVER_RESTART_AT:
                            plane.restart_apiserver(down=2.0)
                        await until_done(lambda c=change: send(kube, c), API_ERRORS, "a churn change",
                                         Backoff(first=0.2, cap=2.0))
                finally:
                    await kube.close()
                return counted

            writes = asyncio.run(churn())
            sent = time.monotonic()
            converge(plane, NS, 180, "after the churn")
            converged = time.monotonic()
            writes += condition_writes(operator)
            # Events are not compared here: churn re-creates objects and brings findings back, and
            # both deserve a new Event; the fault tests check that none is repeated.
        finally:
            operator.stop()
    verdict_changes = offline_verdict_changes([*seed, *changes])
    print(f"\nchurn soak: {len(seed)} seed objects + {len(changes)} changes sent in {sent - began:.0f} s, "
          f"converged {converged - sent:.1f} s after the last; condition writes {writes:.0f}, "
          f"offline verdict changes {verdict_changes}, ratio {writes / verdict_changes:.2f}")
    assert writes <= 1.2 * verdict_changes
