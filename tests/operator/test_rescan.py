"""CrdRescan: one delayed re-read of a CRD group per burst of its CRD events, watched groups only."""

from __future__ import annotations

import asyncio

from socketguard.cluster.feed import Feed


def test_a_burst_of_crd_events_schedules_one_rescan_per_watched_group() -> None:
    async def burst() -> set[str]:
        feed = Feed()
        for group in ("networking.istio.io", "networking.istio.io", "example.com", "traefik.io"):
            await feed._event_crd("MODIFIED", {"spec": {"group": group}})
        await feed._event_crd(None, {"spec": {"group": "keda.sh"}})  # the initial listing: kopf read it already
        pending = set(feed.rescan._pending)
        tasks = list(feed.rescan._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return pending

    assert asyncio.run(burst()) == {"networking.istio.io", "traefik.io"}
