"""From a scan to the event contract the rules read, and to the annotations to paste.

Pure functions of a ScanResult: no tree-sitter, so the engine can import them without the
`scan` extra installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.contract import EventContract
from socketguard.engine.objects import annotation_path
from socketguard.inputs.scan.model import EventUse, FileScan, Role, ScanResult

RoleChoice = Literal["client", "server", "server,client"]

SERVER_OPTION_KEYS = ("path", "stack", "cors-origins", "cors-credentials", "transports",
                      "ping-interval", "ping-timeout", "add-trailing-slash")
CLIENT_OPTION_KEYS = ("client-url", "client-path", "client-transports", "client-credentials")


def events_from_scan(result: ScanResult, role: Role = "server", *, key_prefix: str | None = None
                     ) -> EventContract:
    """The EventContract of one side. Anything the scan could not pin down is None (rules skip).

    `role` picks the rooms (a server's joins, a client's requests); `key_prefix` names the
    annotations findings point at (default: `client-` for a client, none for a server, as
    `socketguard contract scan` prints them).
    """
    if not result.found_anything:
        return EventContract()
    if key_prefix is None:
        key_prefix = "client-" if role == "client" else ""
    return EventContract(
        emits=_names(result.emits),
        listens=_names(result.listens),
        rooms=_rooms(result, role),
        payloads=_fields_by_event(result.emits),
        reads=_fields_by_event(result.listens),
        sources={key: annotation_path(f"{ANNOTATION_PREFIX}{key_prefix}{key}")
                 for key in ("emits", "listens", "rooms")},
    )


def _names(uses: Iterable[EventUse]) -> frozenset[str] | None:
    names = [use.event for use in uses]
    if any(name is None or "{" in name for name in names):
        return None
    return frozenset(name for name in names if name is not None)


def _rooms(result: ScanResult, role: Role) -> tuple[str, ...] | None:
    uses = result.joins if role == "server" else result.requests
    if role == "server" and not uses:
        return None  # no join at all: the server tracks subscriptions itself, or uses no rooms
    patterns = [use.pattern for use in uses]
    if any(pattern is None for pattern in patterns):
        return None
    return tuple(dict.fromkeys(p for p in patterns if p is not None))


def _fields_by_event(uses: Iterable[EventUse]) -> dict[str, frozenset[str]]:
    """Fields per literal event, over all its sites; an event with any unknown site is left out."""
    fields: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for use in uses:
        if use.event is None:
            continue
        if use.fields is None:
            unknown.add(use.event)
        else:
            fields.setdefault(use.event, set()).update(use.fields)
    return {event: frozenset(names) for event, names in fields.items() if event not in unknown}


# --- sides of a scan -----------------------------------------------------------------------------


def split_by_role(result: ScanResult, role: RoleChoice | None) -> dict[Role, ScanResult]:
    """The server and client parts of a scan: forced by `role`, else from each file's imports and calls.

    A file that shows neither side goes with the only side found, or with the server when both are
    (`server` is the default role).
    """
    if role == "server":
        return {"server": result}
    if role == "client":
        return {"client": result}
    found = result.roles
    if role is None and len(found) < 2:
        return {"client": result} if found == {"client"} else {"server": result}
    sides: dict[Role, list[FileScan]] = {"server": [], "client": []}
    for scan in result.files:
        if scan.roles == frozenset({"client"}):
            sides["client"].append(scan)
        elif "server" in scan.roles or not scan.roles:
            sides["server"].append(scan)
        if "client" in scan.roles and "server" in scan.roles:
            sides["client"].append(scan)
    return {side: result.subset(files) for side, files in sides.items()}


# --- annotations ---------------------------------------------------------------------------------


@dataclass
class Annotations:
    values: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"# {comment}" for comment in self.comments]
        lines.append("metadata:")
        lines.append("  annotations:")
        if not self.values:
            lines.append("    {}")
        for key, value in self.values.items():
            lines.append(f"    {ANNOTATION_PREFIX}{key}: {json.dumps(value)}")
        return "\n".join(lines) + "\n"


def annotations_for(sides: dict[Role, ScanResult]) -> Annotations:
    """The server side under the unprefixed keys, the client side always under `client-*` keys.

    `client-*` keys alone make a workload a client, and they can be added as they are to a
    workload that is also a server, so one output fits a pure client and a `server,client` page.
    """
    out = Annotations()
    if len(sides) == 2:
        out.values["role"] = "server,client"
    server, client = sides.get("server"), sides.get("client")
    if server is not None:
        _options(server, SERVER_OPTION_KEYS, out)
        _events(server, "server", "", out)
    if client is not None:
        _options(client, CLIENT_OPTION_KEYS, out)
        _events(client, "client", "client-", out)
    return out


def _events(result: ScanResult, role: Role, prefix: str, out: Annotations) -> None:
    if not result.found_anything:
        out.comments.append(f"no Socket.IO calls found for the {role} side")
        return
    for key, uses in (("emits", result.emits), ("listens", result.listens)):
        known = sorted({use.event for use in uses if use.event is not None and "{" not in use.event})
        out.values[f"{prefix}{key}"] = ",".join(known)
        for use in uses:
            if use.event is None or "{" in use.event:
                out.comments.append(
                    f"{prefix}{key}: the event named by `{use.expression}` at {use.location} is not a "
                    f"literal; add it by hand or leave {key} unset (unknown)"
                )
    _room_annotation(result, role, prefix, out)


def _room_annotation(result: ScanResult, role: Role, prefix: str, out: Annotations) -> None:
    rooms = _rooms(result, role)
    if rooms is not None:
        if rooms:
            out.values[f"{prefix}rooms"] = ",".join(rooms)
        return
    uses = result.joins if role == "server" else result.requests
    for use in uses:
        if use.pattern is None:
            out.comments.append(
                f"{prefix}rooms: the room `{use.expression}` at {use.location} is not a literal"
            )
    if role == "server" and not uses:
        handlers = ", ".join(f"'{h.event}' at {h.location}" for h in result.subscription_handlers)
        reason = (f"it handles {handlers} but never joins a room (it keeps its own subscriptions)"
                  if handlers else "it never joins a room")
        out.comments.append(f"{prefix}rooms: unknown, {reason}")


def _options(result: ScanResult, keys: tuple[str, ...], out: Annotations) -> None:
    for key in keys:
        found = [use for use in result.options if use.key == key]
        values = {use.value for use in found}
        if not found:
            continue
        where = ", ".join(str(use.location) for use in found)
        if None in values:
            unknown = next(use for use in found if use.value is None)
            hint = f"; use {key}-from" if key in {"path", "client-url"} else ""
            out.comments.append(
                f"{key}: set in code by `{unknown.expression}` ({where}), not a literal{hint}"
            )
        elif len(values) > 1:
            out.comments.append(f"{key}: different values in code ({where}): {sorted(map(str, values))}")
        else:
            out.values[key] = str(found[0].value)
