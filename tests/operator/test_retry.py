"""The one backoff behind every retry of the operator and its API client."""

from __future__ import annotations

import asyncio

import pytest

from socketguard.cluster.retry import Backoff, rounds, until_done


def test_the_delay_doubles_up_to_the_cap_and_starts_over_after_a_success() -> None:
    backoff = Backoff(first=0.001, cap=0.004)
    seen = []
    for _ in range(4):
        seen.append(backoff.delay)
        asyncio.run(backoff.wait())
    assert seen == [0.001, 0.002, 0.004, 0.004]
    backoff.reset()
    assert backoff.delay == 0.001


def test_until_done_retries_the_listed_errors_only() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("API server restarting")
        return "listed"

    assert asyncio.run(until_done(flaky, (OSError,), "listing", Backoff(first=0.001))) == "listed"
    assert len(calls) == 3

    async def broken() -> str:
        raise ValueError("not an API error")

    with pytest.raises(ValueError, match="not an API error"):
        asyncio.run(until_done(broken, (OSError,), "listing", Backoff(first=0.001)))


def test_rounds_repeat_work_left_undone_without_a_wakeup_and_then_wait_for_one() -> None:
    wakeup = asyncio.Event()
    left_undone = [True, True, False]
    ran: list[bool] = []

    async def work() -> bool:
        wakeup.clear()
        ran.append(True)
        return left_undone.pop(0) if left_undone else False

    async def scenario() -> None:
        wakeup.set()
        loop = asyncio.create_task(rounds(work, wakeup, Backoff(first=0.001)))
        for _ in range(200):
            await asyncio.sleep(0.001)
        assert len(ran) == 3  # two retries, then quiet until woken
        wakeup.set()
        for _ in range(50):
            await asyncio.sleep(0.001)
        assert len(ran) == 4
        loop.cancel()

    asyncio.run(scenario())


def test_what_is_worth_retrying() -> None:
    from socketguard.cluster.kube import KubeError, transient

    def answer(status: int) -> KubeError:
        return KubeError("PATCH", "/apis/apps/v1/namespaces/demo/deployments/api/status", status, "")

    # A restarted API server refuses (401/403) until its caches are filled; overloaded: 429, 5xx.
    assert all(transient(answer(status)) for status in (401, 403, 409, 429, 500, 503))
    assert not any(transient(answer(status)) for status in (400, 404, 422))
    assert transient(ConnectionRefusedError()) and not transient(ValueError())
