"""The annotation contract: `socketguard.io/*` annotations -> validated server/client specs.

(Parsing is being implemented; the spec types below are the interface rules code against.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from socketguard.objects import FieldPath, ObjectRef

Stack = Literal["node", "python-asgi", "python"]
Transport = Literal["polling", "websocket"]
ALL_TRANSPORTS: frozenset[str] = frozenset({"polling", "websocket"})


@dataclass(frozen=True)
class EventContract:
    """What one side says about events and rooms; None means unknown (rules skip)."""

    emits: frozenset[str] | None = None
    listens: frozenset[str] | None = None
    rooms: tuple[str, ...] | None = None
    # Where each value came from (annotation path), for locating findings.
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ServerSpec:
    workload: ObjectRef
    inferred: bool
    path: str = "/socket.io"
    port: str | int | None = None
    stack: Stack = "node"
    add_trailing_slash: bool = True
    cors_origins: tuple[str, ...] = ()  # ("*",) any, ("reflect",) echo, () same-origin only
    cors_credentials: bool = False
    transports: frozenset[str] = ALL_TRANSPORTS
    ping_interval_ms: int = 25000
    ping_timeout_ms: int = 20000
    adapter: str = "none"
    namespaces: tuple[str, ...] = ("/",)
    events: EventContract = EventContract()
    probe: bool = False
    # attribute name -> field path of the annotation (or path-from target) that set it
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ClientSpec:
    workload: ObjectRef
    url: str | None = None  # None: io() with no URL, the page origin
    path: str = "/socket.io"
    origin: str | None = None
    credentials: bool = False
    transports: frozenset[str] = ALL_TRANSPORTS
    events: EventContract = EventContract()
    server: ObjectRef | None = None  # pinned by client-server
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)
