"""Engine.IO v4 / Socket.IO v5 packet codec."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketguard.probe.packets import (
    EioPacket,
    EioType,
    PacketError,
    SioType,
    decode_eio_packet,
    decode_eio_payload,
    decode_sio_packet,
    encode_sio_connect,
    error_message,
    parse_open,
)

OPEN = '0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'


def test_open_packet_gives_the_handshake_data() -> None:
    info = parse_open(decode_eio_packet(OPEN))

    assert info.sid == "abc"
    assert info.upgrades == ("websocket",)
    assert (info.ping_interval_ms, info.ping_timeout_ms, info.max_payload) == (25000, 20000, 1000000)


def test_polling_payload_splits_on_the_record_separator() -> None:
    packets = decode_eio_payload('40{"sid":"s1"}\x1e2\x1e6')

    assert packets == [EioPacket(EioType.MESSAGE, '0{"sid":"s1"}'), EioPacket(EioType.PING), EioPacket(EioType.NOOP)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<html>404</html>", "not an Engine.IO packet"),
        ("", "not an Engine.IO packet"),
        ("9x", "unknown Engine.IO packet type"),
        ("0{not json", "not JSON"),
        ('0{"upgrades":[]}', "no sid"),
        ('0{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":1}', "upgrades"),
        ('0{"sid":"a","upgrades":[],"pingTimeout":1}', "pingInterval"),
        ('4{"sid":"a"}', "expected an open packet"),
    ],
)
def test_bad_open_packets_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(PacketError, match=problem):
        parse_open(decode_eio_packet(text))


@pytest.mark.parametrize(
    ("text", "expected_type", "namespace", "data"),
    [
        ('0{"sid":"x"}', SioType.CONNECT, "/", {"sid": "x"}),
        ('0/chat,{"sid":"x"}', SioType.CONNECT, "/chat", {"sid": "x"}),
        ('4/nope,{"message":"Invalid namespace"}', SioType.CONNECT_ERROR, "/nope", {"message": "Invalid namespace"}),
        ('4/nope,"Unable to connect"', SioType.CONNECT_ERROR, "/nope", "Unable to connect"),
        ('212["echo",1]', SioType.EVENT, "/", ["echo", 1]),
        ('51-/chat,3[{"num":0}]', SioType.BINARY_EVENT, "/chat", [{"num": 0}]),
        ("1/chat,", SioType.DISCONNECT, "/chat", None),
        ("1/chat", SioType.DISCONNECT, "/chat", None),
    ],
)
def test_socketio_packets_decode(text: str, expected_type: SioType, namespace: str, data: object) -> None:
    packet = decode_sio_packet(text)

    assert (packet.type, packet.namespace, packet.data) == (expected_type, namespace, data)


def test_connect_request_names_the_namespace_only_when_not_the_main_one() -> None:
    assert encode_sio_connect("/") == "40"
    assert encode_sio_connect("/admin") == "40/admin,"


def test_connect_error_message_reads_both_server_dialects() -> None:
    assert error_message({"message": "Invalid namespace"}) == "Invalid namespace"
    assert error_message("Unable to connect") == "Unable to connect"
    assert error_message([1]) == "[1]"


@given(st.text(max_size=200))
def test_decoders_raise_only_packet_errors(text: str) -> None:
    for decode in (decode_eio_payload, decode_sio_packet, lambda t: parse_open(decode_eio_packet(t))):
        with contextlib.suppress(PacketError):
            decode(text)
