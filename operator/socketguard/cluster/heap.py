"""Hands memory the process freed back to the system, so resident memory follows what is held.

The operator and the webhook build large transient things (the JSON of a round of writes, report
bodies, listings), and glibc's malloc keeps pages freed in the middle of its heap for later use,
where the kernel counts them as resident (its own trimming only gives back the top of the heap,
above a threshold that grows with the largest allocation seen). `malloc_trim(0)` releases them
and costs well under a millisecond when there is little to release. Where the C library has no
`malloc_trim` (musl, macOS) nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
from collections.abc import Callable

INTERVAL = 30.0  # seconds between two trims: a round's garbage does not stay resident for long


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    trim = getattr(library, "malloc_trim", None)
    return trim if callable(trim) else None


def release_free_memory() -> bool:
    """Returns the C heap's free pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def release_free_memory_periodically(interval: float = INTERVAL) -> None:
    """`release_free_memory` every `interval` seconds, until cancelled."""
    while release_free_memory():
        await asyncio.sleep(interval)
