"""URLs split once per analysis's worth of them.

A client's URL annotation is read by the relations, the traces, CORS and several rules, each
splitting it again; `urllib.parse.urlsplit` remembers only the last 128 URLs, and a cluster
names thousands, so across those phases every split was done anew (7 per client).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import SplitResult, urlsplit


@lru_cache(maxsize=16384)
def split_url(url: str) -> SplitResult:
    """`urlsplit(url)`, remembered; raises ValueError as it does (an error is not remembered)."""
    return urlsplit(url)
