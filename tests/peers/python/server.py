"""python-socketio peer for the probe tests: an ASGI app under uvicorn.

Usage: python server.py --path /ws/socket.io [--cors-origin https://app.example] [--namespace /chat]
       python server.py --silent-websocket   (accepts every WebSocket, then sends nothing)
       [--host 0.0.0.0] [--port 8080]   (default 127.0.0.1 and a port the OS picks; a pod serves on
       all addresses and its containerPort)
Prints "listening <port>" once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Any

import socketio
import uvicorn


def build_app(path: str, cors_origins: list[str], namespaces: list[str]) -> Any:
    # None keeps python-socketio's default: only the request's own host is an accepted origin.
    server = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=cors_origins or None,
        namespaces=["/", *namespaces],
    )

    async def echo(sid: str, payload: Any) -> Any:
        return payload

    for name in ["/", *namespaces]:
        server.on("echo", echo, namespace=name)
    return socketio.ASGIApp(server, socketio_path=path.strip("/"))


async def silent_websocket_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accepts every WebSocket and then says nothing: a route that upgrades but carries no frames."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"Not Found"})


async def serve(app: Any, host: str, port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    # Listening before printing the port lets connections queue until uvicorn accepts them.
    listener.listen(128)
    config = uvicorn.Config(app, log_level="warning", ws="wsproto", lifespan="off")
    server = uvicorn.Server(config)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    await server.serve(sockets=[listener])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", default="/socket.io")
    parser.add_argument("--cors-origin", action="append", default=[])
    parser.add_argument("--namespace", action="append", default=[])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--silent-websocket", action="store_true", help="accept WebSockets, send nothing")
    args = parser.parse_args()
    app = silent_websocket_app if args.silent_websocket else build_app(args.path, args.cors_origin, args.namespace)
    asyncio.run(serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
