"""What a source scan finds: typed, located items, with unknowns kept rather than dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["client", "server"]
ROLES: tuple[Role, ...] = ("server", "client")

# Events Socket.IO itself emits on sockets and servers; a handler for them is not part of the
# application's event contract.
RESERVED_EVENTS = frozenset({
    "connect", "connection", "connect_error", "disconnect", "disconnecting",
    "newListener", "removeListener", "new_namespace",
})
DEFAULT_SUBSCRIBE_EVENTS = frozenset({"subscribe", "join"})
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line > 0 else self.file


@dataclass(frozen=True, slots=True)
class EventUse:
    """One `emit` or `on`: the event (None when a non-literal names it) and its payload fields.

    For an emit, `fields` are the keys of the payload object; for a listener, the fields its
    handler reads from the payload parameter. None means they could not be known (a payload
    that is a variable or has a spread, a handler defined elsewhere).
    """

    event: str | None
    location: Location
    expression: str
    fields: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "event": self.event,
            "file": self.location.file,
            "line": self.location.line,
            "expression": self.expression,
            "fields": None if self.fields is None else list(self.fields),
        }


@dataclass(frozen=True, slots=True)
class RoomUse:
    """A room a server joins or a client asks for, as a `{placeholder}` pattern (None: unknown)."""

    pattern: str | None
    location: Location
    expression: str

    def as_dict(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "file": self.location.file,
            "line": self.location.line,
            "expression": self.expression,
        }


@dataclass(frozen=True, slots=True)
class OptionUse:
    """A connection option found in code, named by its annotation key (`path`, `client-url`)."""

    key: str
    value: str | None
    location: Location
    expression: str

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "value": self.value,
            "file": self.location.file,
            "line": self.location.line,
            "expression": self.expression,
        }


@dataclass(frozen=True, slots=True)
class Note:
    """Something the scan could not settle, with where it looked (unknown rooms, parse errors)."""

    message: str
    location: Location

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "file": self.location.file, "line": self.location.line}


@dataclass(frozen=True)
class FileScan:
    """Everything found in one source file."""

    file: str
    language: str
    roles: frozenset[Role] = frozenset()
    listens: tuple[EventUse, ...] = ()
    emits: tuple[EventUse, ...] = ()
    joins: tuple[RoomUse, ...] = ()
    requests: tuple[RoomUse, ...] = ()
    options: tuple[OptionUse, ...] = ()
    # Handlers of subscribe-like events on a server file: without joins they manage rooms themselves.
    subscription_handlers: tuple[EventUse, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.roles or self.listens or self.emits or self.joins or self.requests
                    or self.options)


@dataclass(frozen=True)
class ScanResult:
    """The files of one scan; the properties merge them in file order."""

    files: tuple[FileScan, ...] = ()
    errors: tuple[Note, ...] = field(default=())

    @property
    def listens(self) -> tuple[EventUse, ...]:
        return tuple(use for scan in self.files for use in scan.listens)

    @property
    def emits(self) -> tuple[EventUse, ...]:
        return tuple(use for scan in self.files for use in scan.emits)

    @property
    def joins(self) -> tuple[RoomUse, ...]:
        return tuple(use for scan in self.files for use in scan.joins)

    @property
    def requests(self) -> tuple[RoomUse, ...]:
        return tuple(use for scan in self.files for use in scan.requests)

    @property
    def options(self) -> tuple[OptionUse, ...]:
        return tuple(use for scan in self.files for use in scan.options)

    @property
    def subscription_handlers(self) -> tuple[EventUse, ...]:
        return tuple(use for scan in self.files for use in scan.subscription_handlers)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(note for scan in self.files for note in scan.notes)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(role for scan in self.files for role in scan.roles)

    @property
    def found_anything(self) -> bool:
        return any(not scan.is_empty for scan in self.files)

    def subset(self, files: Iterable[FileScan]) -> ScanResult:
        return ScanResult(files=tuple(files), errors=self.errors)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": [scan.file for scan in self.files],
            "roles": sorted(self.roles),
            "listens": [use.as_dict() for use in self.listens],
            "emits": [use.as_dict() for use in self.emits],
            "rooms": {
                "joined": [use.as_dict() for use in self.joins],
                "requested": [use.as_dict() for use in self.requests],
            },
            "options": [use.as_dict() for use in self.options],
            "notes": [note.as_dict() for note in self.notes],
            "errors": [note.as_dict() for note in self.errors],
        }
