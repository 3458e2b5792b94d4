"""Route candidates: the handshake a socket route is written for, derived from its match.

Every router enumerates its rules as candidates; the trace builder routes each candidate's
request through the whole router, so a rule that never sees its own handshake (shadowed, or an
exact match without the slash) shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.matching import DEFAULT_SOCKET_SEGMENT, SOCKET_SEGMENT

DEFAULT_HANDSHAKE = DEFAULT_SOCKET_SEGMENT + "/"
_REGEX_LITERAL = re.compile(r"^\^?((?:[^\\.^$*+?()\[\]{}|]|\\.)*)")


@dataclass(frozen=True)
class Candidate:
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
    if kind == "regex":
        literal = _REGEX_LITERAL.match(value)
        value = re.sub(r"\\(.)", r"\1", literal.group(1)) if literal else ""
        found = SOCKET_SEGMENT.match(value + "/")
        if found is None:
            return None
        candidate = found.group(1) + "/"
        written = candidate if matches(candidate) or not matches(found.group(1)) else found.group(1)
    else:
        found = SOCKET_SEGMENT.match(value)
        if found is None:
            return None
        written = found.group(1) + "/"
    spelt = (path for path in (*known, DEFAULT_HANDSHAKE) if path != written and path.lower() == written.lower())
    return next((path for path in spelt if matches(path)), written)


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
