"""What a replica that kopf keeps paused says about it (the peering status it reads, /readyz)."""

from __future__ import annotations

import asyncio
import datetime

import aiohttp

from socketguard.cluster.metrics import HealthServer
from socketguard.controller.waiting import PEERING_FILES, Peering, how_to_proceed, leaders
from socketguard.testing import free_port

NOW = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)


def peer(priority: int, seconds_ago: float, lifetime: int = 60) -> dict[str, object]:
    seen = NOW - datetime.timedelta(seconds=seconds_ago)
    return {"priority": priority, "lastseen": seen.isoformat(), "lifetime": lifetime}


def test_a_live_higher_priority_peer_leads_and_a_dead_one_does_not() -> None:
    status = {"a": peer(200, 10), "b": peer(300, 120), "me": peer(100, 1)}
    assert leaders(status, 100, NOW) == [("a", 200)]


def test_two_live_peers_of_the_same_priority_pause_each_other() -> None:
    assert leaders({"me": peer(100, 1), "twin": peer(100, 5)}, 100, NOW) == [("me", 100), ("twin", 100)]
    assert leaders({"me": peer(100, 1)}, 100, NOW) == []


def test_a_malformed_peering_status_holds_nobody_back() -> None:
    assert leaders({"x": "not a map", "y": {"priority": "high"}, "z": {"priority": 500, "lastseen": "yesterday"}},
                   100, NOW) == []
    assert leaders(None, 100, NOW) == []


def test_the_way_out_names_the_files_to_apply_and_standalone() -> None:
    text = how_to_proceed(Peering("socketguard", standalone=False, priority=1))
    assert all(str(path) in text and path.exists() for path in PEERING_FILES)
    assert "--standalone" in text
    assert "in each watched namespace" in how_to_proceed(Peering("p", False, 1, namespaces=("a",)))


def test_readyz_answers_503_with_what_the_process_waits_for() -> None:
    async def scenario() -> list[tuple[int, str]]:
        reason: list[str | None] = ["waiting for peering: no ClusterKopfPeering CRD"]
        port = free_port()
        health = HealthServer("127.0.0.1", port, lambda: True, lambda: reason[0])
        await health.start()
        answers = []
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(2):
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                        answers.append((response.status, await response.text()))
                    reason[0] = None
        finally:
            await health.stop()
        return answers

    assert asyncio.run(scenario()) == [(503, "waiting for peering: no ClusterKopfPeering CRD\n"), (200, "ready\n")]
