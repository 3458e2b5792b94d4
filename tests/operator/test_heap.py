"""Freed memory goes back to the system where the C library can (glibc: the operator's image)."""

from __future__ import annotations

import asyncio
import platform

from socketguard.cluster.heap import release_free_memory, release_free_memory_periodically


def test_glibc_hands_free_pages_back() -> None:
    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")


def test_the_periodic_release_runs_until_cancelled() -> None:
    async def run_briefly() -> bool:
        task = asyncio.create_task(release_free_memory_periodically(interval=0.01))
        await asyncio.sleep(0.05)
        running = not task.done()
        task.cancel()
        return running

    assert asyncio.run(run_briefly())
