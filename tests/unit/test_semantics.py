"""Which handshake paths each server stack accepts (engine.io and python-engineio rules)."""

from __future__ import annotations

import pytest

from socketguard.engine.contract import ServerSpec
from socketguard.engine.objects import ObjectRef
from socketguard.engine.semantics import server_accepts

REF = ObjectRef("apps/v1", "Deployment", "web", "chat")


@pytest.mark.parametrize(
    ("stack", "trailing_slash", "path", "accepted"),
    [
        ("node", True, "/socket.io/", True),
        ("node", True, "/socket.io", False),  # engine.io wants `S/`
        ("node", True, "/socket.iox/", False),
        ("node", False, "/socket.io", True),  # addTrailingSlash: false matches the bare prefix
        ("node", False, "/socket.iox", True),
        ("python-asgi", True, "/socket.io", True),  # ASGIApp adds the slash itself
        ("python-asgi", True, "/socket.io/", True),
        ("python-asgi", True, "/socket.iox", False),
        ("python", True, "/socket.io", False),  # WSGI, aiohttp, sanic, tornado need `S/`
        ("python", True, "/socket.io/", True),
        ("node", True, "/mageagent/socket.io/", False),  # the seed's mismatch
    ],
)
def test_server_accepts(stack: str, trailing_slash: bool, path: str, accepted: bool) -> None:
    server = ServerSpec(workload=REF, inferred=False, stack=stack,  # type: ignore[arg-type]
                        add_trailing_slash=trailing_slash)
    assert server_accepts(server, path) is accepted
