"""Route candidates: the handshake a socket route is written for, derived from its match.

Every router enumerates its rules as candidates; the trace builder routes each candidate's
request through the whole router, so a rule that never sees its own handshake (shadowed, or an
exact match without the slash) shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.matching import SOCKET_SEGMENT

_REGEX_LITERAL = re.compile(r"^\^?((?:[^\\.^$*+?()\[\]{}|]|\\.)*)")


@dataclass(frozen=True)
class Candidate:
    route: ObjectRef
    rule_path: FieldPath
    request: Request
    socket_match: bool  # the match itself names a socket.io segment (zero-config inference)


def socket_path(kind: str, value: str, matches: Callable[[str], bool]) -> str | None:
    """The handshake path `P/` a match names (prefix, exact or regex), or None.

    The `socket.io` segment is recognised in any case; `matches` (the router's own matcher, with
    its own case rules) only picks between `P/` and `P` for a regex.
    """
    if kind == "regex":
        literal = _REGEX_LITERAL.match(value)
        value = re.sub(r"\\(.)", r"\1", literal.group(1)) if literal else ""
        found = SOCKET_SEGMENT.match(value + "/")
        if found is None:
            return None
        candidate = found.group(1) + "/"
        return candidate if matches(candidate) or not matches(found.group(1)) else found.group(1)
    found = SOCKET_SEGMENT.match(value)
    return found.group(1) + "/" if found else None


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
