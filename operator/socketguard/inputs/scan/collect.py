"""The per-file accumulator both language extractors fill, and the settings they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from tree_sitter import Node

from socketguard.inputs.scan.model import (
    DEFAULT_SUBSCRIBE_EVENTS,
    RESERVED_EVENTS,
    EventUse,
    FileScan,
    Location,
    Note,
    OptionUse,
    Role,
    RoomUse,
)

# Receivers whose `.on`/`.emit` are Socket.IO calls even when the scan did not see them created.
DEFAULT_SOCKET_NAMES = frozenset({"io", "sio", "socket", "nsp", "namespace"})
# Payload keys that name the room in a subscribe-like emit; other literals are ignored when present.
ROOM_KEYS = frozenset({"room", "rooms", "channel", "topic"})


@dataclass(frozen=True)
class ScanConfig:
    subscribe_events: frozenset[str] = DEFAULT_SUBSCRIBE_EVENTS
    socket_names: frozenset[str] = DEFAULT_SOCKET_NAMES


@dataclass
class Collector:
    """Mutable while one file is scanned; `result()` freezes it into a FileScan."""

    file: str
    language: str
    config: ScanConfig
    learned_names: set[str] = field(default_factory=set)
    roles: set[Role] = field(default_factory=set)
    listens: list[EventUse] = field(default_factory=list)
    emits: list[EventUse] = field(default_factory=list)
    joins: list[RoomUse] = field(default_factory=list)
    requests: list[RoomUse] = field(default_factory=list)
    options: list[OptionUse] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def at(self, node: Node) -> Location:
        return Location(self.file, node.start_point.row + 1)

    def is_socket_name(self, name: str | None) -> bool:
        if not name:
            return False
        return (name in self.learned_names or name in self.config.socket_names
                or "socket" in name.lower())

    def listen(self, event: str | None, node: Node, expression: str,
               fields: tuple[str, ...] | None) -> None:
        if event in RESERVED_EVENTS:
            return
        self.listens.append(EventUse(event, self.at(node), expression, fields))

    def emit(self, event: str | None, node: Node, expression: str,
             fields: tuple[str, ...] | None) -> None:
        self.emits.append(EventUse(event, self.at(node), expression, fields))

    def join(self, pattern: str | None, node: Node, expression: str) -> None:
        self.roles.add("server")
        self.joins.append(RoomUse(pattern, self.at(node), expression))

    def request(self, pattern: str | None, node: Node, expression: str) -> None:
        self.requests.append(RoomUse(pattern, self.at(node), expression))

    def option(self, key: str, value: str | None, node: Node) -> None:
        self.options.append(OptionUse(key, value, self.at(node), text_of(node)))

    def note(self, message: str, node: Node) -> None:
        self.notes.append(Note(message, self.at(node)))

    def guarded(self, step: Callable[[Node], None], node: Node) -> None:
        """Run one extraction step; a construct nested too deeply is noted and skipped alone."""
        try:
            step(node)
        except RecursionError:
            self.note("nested too deeply to scan", node)

    def result(self) -> FileScan:
        subscribe = self.config.subscribe_events
        return FileScan(
            file=self.file,
            language=self.language,
            roles=frozenset(self.roles),
            listens=_in_order(self.listens),
            emits=_in_order(self.emits),
            joins=_in_order(self.joins),
            requests=_in_order(self.requests),
            options=_in_order(self.options),
            subscription_handlers=_in_order([u for u in self.listens if u.event in subscribe]),
            notes=_in_order(self.notes),
        )


class _Located(Protocol):
    @property
    def location(self) -> Location: ...


_T = TypeVar("_T", bound=_Located)


def _in_order(items: list[_T]) -> tuple[_T, ...]:
    return tuple(sorted(items, key=lambda item: item.location.line))


def text_of(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def unique_sorted(names: list[str]) -> tuple[str, ...]:
    return tuple(sorted(dict.fromkeys(names)))
