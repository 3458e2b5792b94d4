"""Path matching shared by every router: the socket-segment pattern, prefix matchers, regexes.

Recognising a socket route ignores case for every router alike (`/Socket.IO/` names the
`socket.io` segment), while matching a request keeps each router's own case rules, so a route
written as `/Socket.IO/` can be recognised as a socket route that the default handshake
`/socket.io/` never reaches.
"""

from __future__ import annotations

import re
from functools import lru_cache

SOCKET_SEGMENT = re.compile(r"^(.*?/socket\.io)(?:/|$)", re.IGNORECASE)
SOCKET_WORD_IN_REGEX = re.compile(r"socket\\?\.io", re.IGNORECASE)  # `socket.io` or `socket\.io`
DEFAULT_SOCKET_SEGMENT = "/socket.io"


def socket_segment(path: str) -> str | None:
    """The path up to and including its first `socket.io` segment (any case), or None."""
    found = SOCKET_SEGMENT.match(path)
    return found.group(1) if found else None


def ends_in_socket_segment(path: str) -> bool:
    """Whether `path` is `P/socket.io` or `P/socket.io/` (any case)."""
    return (path[:-1] if path.endswith("/") else path).lower().endswith(DEFAULT_SOCKET_SEGMENT)


def fold(text: str, ignore_case: bool) -> str:
    """`text` as a router compares it: lower-cased when the match ignores case."""
    return text.lower() if ignore_case else text


def exact_matches(value: str, path: str, *, ignore_case: bool = False) -> bool:
    return fold(path, ignore_case) == fold(value, ignore_case)


def string_prefix_matches(prefix: str, path: str, *, ignore_case: bool = False) -> bool:
    """A plain string prefix (Istio `uri.prefix`, nginx `location p`): `/abc` matches `/abcd`."""
    return fold(path, ignore_case).startswith(fold(prefix, ignore_case))


def segment_prefix_matches(prefix: str, path: str) -> bool:
    """A prefix by whole path segments (Kubernetes `Prefix`, Gateway API `PathPrefix`).

    `/abc` and `/abc/` match `/abc` and `/abc/x`, not `/abcd`.
    """
    base = prefix.rstrip("/")
    return base == "" or path == base or path.startswith(base + "/")


@lru_cache(maxsize=4096)
def compiled(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str] | None:
    """The compiled pattern, or None when Python cannot compile it (the route then matches nothing)."""
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return None


def differs_only_in_case(written: str, handshake: str) -> tuple[str, str] | None:
    """(route segment, handshake segment) when both name a socket segment that differs only in case.

    `written` is a route's path (or the path a route delivers), `handshake` the path a client sends
    or a server accepts.
    """
    route_segment, other_segment = socket_segment(written), socket_segment(handshake)
    if route_segment is None or other_segment is None or route_segment == other_segment:
        return None
    return (route_segment, other_segment) if route_segment.lower() == other_segment.lower() else None
