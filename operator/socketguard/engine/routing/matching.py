r"""Path matching shared by every router: the socket-segment pattern, prefix matchers, regexes.

Regexes come in two dialects: `compiled` (Python's `re`, close to nginx's PCRE) and
`re2_compiled` (RE2 itself, the engine Envoy runs Istio's `regex` matches and `uriRegexRewrite`
with; Python's `re` reads `[[:alpha:]]`, `\pL`, `\Q..\E` or `a{,2}` differently and accepts
lookarounds Istio rejects).

Recognising a socket route ignores case for every router alike (`/Socket.IO/` names the
`socket.io` segment), while matching a request keeps each router's own case rules, so a route
written as `/Socket.IO/` can be recognised as a socket route that the default handshake
`/socket.io/` never reaches.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

SOCKET_SEGMENT = re.compile(r"^(.*?/socket\.io)(?:/|$)", re.IGNORECASE)
SOCKET_WORD_IN_REGEX = re.compile(r"socket\\?\.io", re.IGNORECASE)  # `socket.io` or `socket\.io`
DEFAULT_SOCKET_SEGMENT = "/socket.io"
_RE2_QUIET = re2.Options()
_RE2_QUIET.log_errors = False  # a pattern RE2 refuses is an answer here, not a line on stderr
_REWRITE_ESCAPE = re.compile(r"\\(\d|\\)")  # RE2::Rewrite: \N or an escaped backslash


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


@lru_cache(maxsize=4096)
def re2_compiled(pattern: str) -> Any:
    """The pattern compiled by RE2, or None when RE2 refuses it (Istio then rejects the route)."""
    try:
        return re2.compile(pattern, _RE2_QUIET)
    except re2.error:
        return None


def re2_replace_all(pattern: str, substitution: str, text: str) -> str:
    """`text` after RE2::GlobalReplace, as Envoy's `regex_rewrite` runs it.

    Every non-overlapping match is replaced, except an empty match where the previous one ended;
    `\\N` in the substitution is group N (empty when it did not take part), `\\\\` a backslash. A
    pattern RE2 refuses, or a substitution naming a group the pattern lacks, leaves `text` as is.
    """
    regex = re2_compiled(pattern)
    if regex is None or any(t.isdigit() and int(t) > regex.groups for t in _REWRITE_ESCAPE.findall(substitution)):
        return text
    kept_from, search_from, last_end = 0, 0, -1
    pieces: list[str] = []
    while search_from <= len(text) and (found := regex.search(text, search_from)) is not None:
        begin, end = found.span()
        if begin == end == last_end:
            search_from = begin + 1
            continue
        pieces += [text[kept_from:begin], _re2_rewrite(substitution, found)]
        kept_from = search_from = last_end = end
    return "".join([*pieces, text[kept_from:]])


def _re2_rewrite(substitution: str, found: Any) -> str:
    return _REWRITE_ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else found.group(int(m.group(1))) or "",
                               substitution)
