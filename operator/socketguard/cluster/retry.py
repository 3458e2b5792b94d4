"""The one backoff every retry uses: the API client's 429/5xx answers, the operator's start-up
reads, its evaluation rounds and its report writes.

A delay doubles after each failure up to a cap and starts over after a success, so an API
server that restarts is asked again soon, and one that stays away is not hammered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Backoff:
    """Delays between attempts: `first`, doubled after each failure, at most `cap`."""

    def __init__(self, first: float = 1.0, cap: float = 30.0) -> None:
        self.first, self.cap = first, cap
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def wait(self) -> None:
        """Sleeps the current delay; the next failure waits twice as long."""
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.cap)


async def until_done(attempt: Callable[[], Awaitable[T]], retry_on: tuple[type[BaseException], ...],
                     what: str, backoff: Backoff | None = None) -> T:
    """`attempt()`'s result, calling it again after each `retry_on` error until it succeeds."""
    backoff = backoff or Backoff()
    while True:
        try:
            return await attempt()
        except retry_on as error:
            log.warning("%s failed, retrying in %.1f s: %s", what, backoff.delay, error)
            await backoff.wait()


async def rounds(work: Callable[[], Awaitable[bool]], wakeup: asyncio.Event, backoff: Backoff | None = None) -> None:
    """Runs `work` each time `wakeup` is set, forever; `work` clears `wakeup` when it takes what is
    pending. It returns True when it left something undone (a write failed): it then runs again
    after the backoff, without waiting for a wakeup."""
    backoff = backoff or Backoff()
    while True:
        await wakeup.wait()
        if await work():
            await backoff.wait()
            wakeup.set()
        else:
            backoff.reset()
