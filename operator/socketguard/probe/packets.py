"""Engine.IO v4 and Socket.IO v5 packets: the few encodings the prober needs, pure and strict.

Engine.IO packet: one type digit then its data (`0{...}` open, `2` ping, `4...` message). A polling
body carries several packets separated by the record separator `\\x1e`. A Socket.IO packet travels
inside an Engine.IO message: type digit, optional `/namespace,`, optional ack id, optional JSON.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

RECORD_SEPARATOR = "\x1e"
PROBE = "probe"


class PacketError(ValueError):
    """The text is not a packet of the expected protocol."""


class EioType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class SioType(enum.IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True, slots=True)
class EioPacket:
    type: EioType
    data: str = ""

    def encode(self) -> str:
        return f"{int(self.type)}{self.data}"


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """The handshake data of an Engine.IO open packet."""

    sid: str
    upgrades: tuple[str, ...]
    ping_interval_ms: int
    ping_timeout_ms: int
    max_payload: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "sid": self.sid,
            "upgrades": list(self.upgrades),
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": self.ping_timeout_ms,
            "maxPayload": self.max_payload,
        }


@dataclass(frozen=True, slots=True)
class SioPacket:
    type: SioType
    namespace: str = "/"
    data: object = None


def decode_eio_packet(text: str) -> EioPacket:
    if not text or not text[0].isdigit():
        raise PacketError(f"not an Engine.IO packet: {_excerpt(text)!r}")
    try:
        packet_type = EioType(int(text[0]))
    except ValueError:
        raise PacketError(f"unknown Engine.IO packet type {text[0]!r}") from None
    return EioPacket(packet_type, text[1:])


def decode_eio_payload(body: str) -> list[EioPacket]:
    """Split a polling response body into packets (binary `b...` packets are not expected here)."""
    if not body:
        raise PacketError("empty body where an Engine.IO payload was expected")
    return [decode_eio_packet(part) for part in body.split(RECORD_SEPARATOR)]


def parse_open(packet: EioPacket) -> OpenInfo:
    if packet.type is not EioType.OPEN:
        raise PacketError(f"expected an open packet (0), got type {int(packet.type)}")
    try:
        data = json.loads(packet.data)
    except json.JSONDecodeError:
        raise PacketError(f"open packet data is not JSON: {_excerpt(packet.data)!r}") from None
    if not isinstance(data, dict):
        raise PacketError("open packet data is not a JSON object")
    sid = data.get("sid")
    if not isinstance(sid, str) or not sid:
        raise PacketError("open packet has no sid")
    upgrades = data.get("upgrades", [])
    if not isinstance(upgrades, list) or not all(isinstance(name, str) for name in upgrades):
        raise PacketError("open packet upgrades is not a list of transport names")
    return OpenInfo(
        sid=sid,
        upgrades=tuple(upgrades),
        ping_interval_ms=_int_field(data, "pingInterval"),
        ping_timeout_ms=_int_field(data, "pingTimeout"),
        max_payload=data["maxPayload"] if isinstance(data.get("maxPayload"), int) else None,
    )


def encode_sio_connect(namespace: str) -> str:
    """The Engine.IO message that asks to join `namespace` (no auth payload)."""
    return EioPacket(EioType.MESSAGE, f"{int(SioType.CONNECT)}{_namespace_prefix(namespace)}").encode()


def decode_sio_packet(text: str) -> SioPacket:
    """Decode the Socket.IO packet carried by an Engine.IO message (the text after the `4`)."""
    if not text or not text[0].isdigit():
        raise PacketError(f"not a Socket.IO packet: {_excerpt(text)!r}")
    try:
        packet_type = SioType(int(text[0]))
    except ValueError:
        raise PacketError(f"unknown Socket.IO packet type {text[0]!r}") from None
    rest = text[1:]
    if packet_type in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        _, _, rest = rest.partition("-")
    namespace = "/"
    if rest.startswith("/"):
        namespace, comma, after = rest.partition(",")
        rest = after if comma else ""
    rest = rest.lstrip("0123456789")
    data: object = None
    if rest:
        try:
            data = json.loads(rest)
        except json.JSONDecodeError:
            raise PacketError(f"Socket.IO packet data is not JSON: {_excerpt(rest)!r}") from None
    return SioPacket(packet_type, namespace, data)


def error_message(data: object) -> str:
    """The reason a server gave in a CONNECT_ERROR: node sends `{"message": ...}`, python a string."""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    if isinstance(data, str):
        return data
    return json.dumps(data)


def _namespace_prefix(namespace: str) -> str:
    return "" if namespace == "/" else f"{namespace},"


def _int_field(data: dict[str, object], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PacketError(f"open packet has no integer {name}")
    return value


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
