"""What a Socket.IO server accepts, per stack (engine.io for node, python-engineio for python)."""

from __future__ import annotations

from socketguard.engine.contract import ServerSpec


def accepted_prefix(server: ServerSpec) -> str:
    """The prefix a request path must start with to reach the server's handler."""
    base = server.path.rstrip("/")
    if server.stack == "node" and not server.add_trailing_slash:
        return base
    return base + "/"


def server_accepts(server: ServerSpec, path: str) -> bool:
    """Whether the server handles a handshake whose HTTP path (no query) is `path`.

    node: the raw URL must start with `S/` (or `S` when addTrailingSlash is false).
    python-asgi: `ASGIApp` adds the trailing slash first, so `S` and `S/...` both work.
    python (WSGI, aiohttp, sanic, tornado): `S/` is required.
    """
    base = server.path.rstrip("/")
    if server.stack == "python-asgi":
        return (path.rstrip("/") + "/").startswith(base + "/") if path != base else True
    return path.startswith(accepted_prefix(server))


def path_option(server: ServerSpec, path: str) -> str:
    """How to set the server's path to `path` in its own stack's words."""
    if server.stack == "node":
        return f"new Server(httpServer, {{ path: '{path}' }})"
    if server.stack == "python-asgi":
        return f"socketio.ASGIApp(sio, socketio_path='{path.strip('/')}')"
    return f"socketio.WSGIApp(sio, socketio_path='{path.strip('/')}')"


def usable_server_path(path: str) -> bool:
    """Whether a Socket.IO server could sensibly listen on `path`.

    The site root is not such a path: a server on `/` takes every request of its pod, pages and
    API included. A route that delivers the handshake there is the thing to fix.
    """
    return path.strip("/") != ""
