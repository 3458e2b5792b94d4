"""Shared by SG501-SG505: who talks to whom, unions over several peers, room patterns, names.

Not a rule module (no `sg` prefix), so the registry skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Protocol

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.objects import FieldPath, ObjectRef, annotation_path

if TYPE_CHECKING:
    from socketguard.engine.contract import ClientSpec, EventContract, ServerSpec
    from socketguard.engine.trace import TraceSet


class PairSource(Protocol):
    """All SG5xx rules read of the context: the client/server pairings of its traces."""

    @property
    def traces(self) -> TraceSet: ...


def servers_by_client(ctx: PairSource) -> list[tuple[ClientSpec, tuple[ServerSpec, ...]]]:
    """Each client once, with each server it reaches once, in pairing order (grouped once per analysis)."""
    return ctx.traces.servers_by_client()


def clients_by_server(ctx: PairSource) -> list[tuple[ServerSpec, tuple[ClientSpec, ...]]]:
    """Each server once, with each client that reaches it once, in pairing order (grouped once per analysis)."""
    return ctx.traces.clients_by_server()


def union_known(sets: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """The union of every peer's set, or None when any peer's set is unknown."""
    known: list[frozenset[str]] = []
    for names in sets:
        if names is None:
            return None
        known.append(names)
    # Most clients have one server and most servers one client: that peer's own set (immutable,
    # and shared by every workload with the same annotation) serves without a copy.
    return known[0] if len(known) == 1 else frozenset().union(*known)


def source_path(events: EventContract, key: str) -> FieldPath:
    return events.sources.get(key) or annotation_path(f"{ANNOTATION_PREFIX}{key}")


def names(objects: Iterable[ObjectRef]) -> str:
    return " and ".join(str(ref) for ref in objects)


def listing(values: Iterable[str], empty: str = "nothing", limit: int = 6) -> str:
    ordered = sorted(values)
    if not ordered:
        return empty
    shown = ", ".join(f"'{value}'" for value in ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"


# --- room patterns -------------------------------------------------------------------------------

_ONE, _ANY = object(), object()


def _tokens(pattern: str) -> tuple[object, ...]:
    """`task:{id}` -> 't','a','s','k',':',ONE,ANY: a placeholder is one or more characters."""
    out: list[object] = []
    index = 0
    while index < len(pattern):
        close = pattern.find("}", index) if pattern[index] == "{" else -1
        if close > index + 1:
            out.extend((_ONE, _ANY))
            index = close + 1
        else:
            out.append(pattern[index])
            index += 1
    return tuple(out)


def rooms_overlap(left: str, right: str) -> bool:
    """True when some room name matches both patterns (`task:{id}` vs `task:42`: yes; vs `agent:{id}`: no)."""
    return _overlap(_tokens(left), _tokens(right))


@cache
def _overlap(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    # A search over (position in a, position in b), iterative so long annotation values cannot
    # exhaust the stack.
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if i == len(a) and j == len(b):
            return True
        steps: list[tuple[int, int]] = []
        if i < len(a) and a[i] is _ANY:
            steps.append((i + 1, j))  # the wildcard stops here
            if j < len(b):
                steps.append((i, j + 1))  # or eats b's next token
        elif j < len(b) and b[j] is _ANY:
            steps.append((i, j + 1))
            if i < len(a):
                steps.append((i + 1, j))
        elif i < len(a) and j < len(b) and (a[i] is _ONE or b[j] is _ONE or a[i] == b[j]):
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                todo.append(step)
    return False


# --- event names ---------------------------------------------------------------------------------


@cache  # event names repeat across every pair of a cluster
def _words(event: str) -> frozenset[str]:
    words: list[str] = []
    current = ""
    for char in event:
        if not char.isalnum() or (char.isupper() and current and not current[-1].isupper()):
            if current:
                words.append(current.lower())
            current = char if char.isalnum() else ""
        else:
            current += char
    if current:
        words.append(current.lower())
    return frozenset(words)


@lru_cache(maxsize=4096)  # asked for every unheard event; the same peers recur across namespaces
def counterpart(event: str, emitted: frozenset[str]) -> str | None:
    """The emitted event sharing the most name words with `event`, when exactly one does best.

    `agent:spawned` -> `agent_stream`: the message a fix would most likely rename.
    """
    wanted = _words(event)
    scored = [(len(wanted & _words(candidate)), candidate) for candidate in emitted if candidate != event]
    best = max((score for score, _ in scored), default=0)
    winners = [candidate for score, candidate in scored if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None
