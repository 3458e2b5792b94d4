"""Local echo upstreams for the nginx oracle: one tiny HTTP server per Service, on 127.0.0.1.

Each answers every request with its own identity and the request target (path and query) exactly
as nginx sent it, so the oracle sees which upstream a request reached and what arrived there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, identity: str, status: int) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.identity = identity
        self.status = status

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class EchoHandler(BaseHTTPRequestHandler):
    server: EchoServer

    def do_GET(self) -> None:
        # The request line as sent: `self.path` has leading slashes collapsed by the stdlib.
        target = self.requestline.split(" ")[1]
        body = json.dumps({"upstream": self.server.identity, "target": target}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def echo_upstreams(identities: Iterable[str], not_found: Iterable[str] = ()) -> Iterator[dict[str, int]]:
    """Start one echo server per identity (404 for those in `not_found`); yields identity -> port."""
    missing = set(not_found)
    servers = [EchoServer(identity, 404 if identity in missing else 200) for identity in [*identities, *missing]]
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield {server.identity: server.port for server in servers}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
