"""Route candidates: the handshake a socket route is written for, derived from its match.

Every router enumerates its rules as candidates; the trace builder routes each candidate's
request through the whole router, so a rule that never sees its own handshake (shadowed, or an
exact match without the slash) shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.matching import DEFAULT_SOCKET_SEGMENT, SOCKET_SEGMENT, SOCKET_WORD_IN_REGEX
from socketguard.engine.values import value_type

DEFAULT_HANDSHAKE = DEFAULT_SOCKET_SEGMENT + "/"
# The literal start of a regex. `.` counts as literal: `/socket.io/` is written to mean itself,
# and the router's own matcher confirms every guess made from it.
_REGEX_LITERAL = re.compile(r"^\^?((?:[^\\^$*+?()\[\]{}|]|\\.)*)")
# What may stand before a `socket.io` in a regex for a plain guess: literal text and group
# openings (`/(socket.io|ws)/` is written for `/socket.io/`).
_GROUP_OPENING = re.compile(r"\((?:\?:)?")
_REGEX_SYNTAX = re.compile(r"[\\^$*+?()\[\]{}|]")


@value_type
class Candidate:
    """A rule that is (or reaches) a socket route, with the handshake request it is written for."""

    route: ObjectRef
    rule_path: FieldPath
    request: Request
    socket_match: bool  # the match itself names a socket.io segment (zero-config inference)


def socket_path(kind: str, value: str, matches: Callable[[str], bool], known: Iterable[str] = ()) -> str | None:
    """The handshake path `P/` a match names (prefix, exact or regex), or None.

    The `socket.io` segment is recognised in any case. `matches` is the router's own matcher, with
    its own case rules: it picks between `P/` and `P` for a regex, and when it ignores case, a
    `known` handshake path (a server's, or the default `/socket.io/`) spelt in another case is the
    one the rule is written for.
    """
    written = _regex_socket_path(value, matches) if kind == "regex" else _plain_socket_path(value)
    if written is None:
        return None
    spelt = (path for path in (*known, DEFAULT_HANDSHAKE) if path != written and path.lower() == written.lower())
    return next((path for path in spelt if matches(path)), written)


def _plain_socket_path(value: str) -> str | None:
    found = SOCKET_SEGMENT.match(value)
    return found.group(1) + "/" if found else None


def _regex_socket_path(pattern: str, matches: Callable[[str], bool]) -> str | None:
    """The handshake a regex is written for: from its literal start, else from the text before a
    `socket.io` in it with group openings dropped, as long as the router's matcher agrees."""
    literal = _REGEX_LITERAL.match(pattern)
    found = SOCKET_SEGMENT.match(_unescape(literal.group(1) if literal else "") + "/")
    if found is not None:
        segment = found.group(1)
        return segment + "/" if matches(segment + "/") or not matches(segment) else segment
    word = SOCKET_WORD_IN_REGEX.search(pattern)
    before = _GROUP_OPENING.sub("", pattern[: word.start()]).removeprefix("^") if word else ""
    if word is None or _REGEX_SYNTAX.search(re.sub(r"\\.", "", before)):
        return None
    guess = _plain_socket_path(_unescape(before) + "socket.io/")
    return next((path for path in (guess, guess[:-1]) if matches(path)), None) if guess else None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def spellings(server_paths: Mapping[ObjectRef, str]) -> tuple[str, ...]:
    """The distinct handshake paths of the annotated servers: `socket_path`'s `known`.

    A router computes it once per `candidates()` call: passing every server's path to each
    rule would make finding candidates grow with the square of the inventory.
    """
    return tuple(dict.fromkeys(server_paths.values()))


def server_path_through(workloads: tuple[ObjectRef, ...], server_paths: Mapping[ObjectRef, str],
                        matches: Callable[[str], bool]) -> str | None:
    """For a rule whose match names no socket.io: the handshake of an annotated server it reaches."""
    for workload in workloads:
        path = server_paths.get(workload)
        if path is not None and matches(path):
            return path
    return None


def sample_host(hosts: list[str]) -> str | None:
    """A concrete host for a route's host list (a wildcard becomes a sample subdomain)."""
    concrete = [h for h in hosts if not h.startswith("*")]
    if concrete:
        return concrete[0]
    if hosts:
        return "example.com" if hosts[0] == "*" else "example" + hosts[0].lstrip("*")
    return None
