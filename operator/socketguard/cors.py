"""Whether a browser page may talk to a Socket.IO server, per stack and through an Istio corsPolicy.

The model, from the engine.io, python-engineio and Envoy sources (DESIGN.md, CORS):
- node (socket.io 4 with the `cors` package): no `cors` option sends no CORS headers; an origin
  outside the list still gets 200, only without `Access-Control-Allow-Origin`; `origin: "*"` sends
  the literal `*`, which browsers refuse for requests with credentials; the server never looks at
  the Origin of a WebSocket upgrade, and browsers do not apply CORS to WebSocket.
- python-socketio: the server itself rejects (400) a request whose Origin header is not allowed,
  on both transports; the default allows only the request's own scheme://host; an explicit list
  replaces that default; `*` echoes the request's origin, so credentials work with it.
- Envoy's CORS filter (Istio `corsPolicy`): when the policy matches the Origin it sets
  `Access-Control-Allow-Origin` to that origin (never `*`) and, with `allowCredentials`,
  `Access-Control-Allow-Credentials: true`; when it does not match, the server's answer passes
  through untouched. A matcher that matches the text `*` allows every origin.
Browsers send Origin on every WebSocket handshake and on cross-origin or POST requests, so a
python server with an explicit list that omits its own origin also refuses same-origin pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from socketguard.contract import ClientSpec, ServerSpec
from socketguard.routing import CorsAtProxy

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
ANY = ("*", "reflect")


def normalize_origin(url: str) -> str | None:
    """`scheme://host[:port]` as a browser writes it (ws->http, default ports dropped), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        return None
    shown_port = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{parts.hostname.lower()}{shown_port}"


def socket_origin(client: ClientSpec) -> str | None:
    """The origin the client's Socket.IO requests go to: its URL's, or the page's for `io()`."""
    if client.url and not client.url.startswith("/"):
        return normalize_origin(client.url)
    return None if client.origin is None else normalize_origin(client.origin)


def page_origin(client: ClientSpec) -> str | None:
    return None if client.origin is None else normalize_origin(client.origin)


def is_cross_origin(client: ClientSpec) -> bool:
    """True when the page and the socket URL differ; False when same-origin or not a browser page."""
    page, target = page_origin(client), socket_origin(client)
    return page is not None and target is not None and page != target


def mixed_content(page: str, target: str) -> bool:
    return page.startswith("https:") and target.startswith("http:")


def transports_used(client: ClientSpec, server: ServerSpec) -> frozenset[str]:
    return client.transports & server.transports or client.transports


def server_allows_any(server: ServerSpec) -> bool:
    return any(origin in ANY for origin in server.cors_origins)


def server_lists(server: ServerSpec, origin: str) -> bool:
    return any(normalize_origin(o) == origin for o in server.cors_origins if o not in ANY)


def proxy_matcher_matches(kind: str, pattern: str, value: str) -> bool:
    if kind == "exact":
        return value == pattern
    if kind == "prefix":
        return value.startswith(pattern)
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def proxy_allows_any(proxy: CorsAtProxy) -> bool:
    return any(proxy_matcher_matches(kind, value, "*") for kind, value in proxy.allow_origins)


def proxy_allows(proxy: CorsAtProxy, origin: str) -> bool:
    """Envoy's test: a matcher that matches `*`, or one that matches the origin."""
    return any(proxy_matcher_matches(kind, value, "*") or proxy_matcher_matches(kind, value, origin)
               for kind, value in proxy.allow_origins)


def describe_server(server: ServerSpec) -> str:
    if not server.cors_origins:
        return ("no CORS (only its own origin)" if server.stack != "node"
                else "no CORS option (no CORS headers at all)")
    credentials = "with" if server.cors_credentials else "without"
    return f"origins {', '.join(server.cors_origins)} {credentials} credentials"


def describe_proxy(proxy: CorsAtProxy) -> str:
    origins = ", ".join(f"{kind} {value}" for kind, value in proxy.allow_origins) or "no origins"
    credentials = "with" if proxy.allow_credentials else "without"
    return f"corsPolicy allowOrigins {origins} {credentials} credentials"


@dataclass(frozen=True)
class Refusal:
    """Why a page's Socket.IO requests fail: which transport, what is refused, who decides."""

    transport: str
    what: str  # "origin" or "credentials"
    by: str  # "server" or "proxy"
    detail: str


def refusal(client: ClientSpec, server: ServerSpec, proxy: CorsAtProxy | None) -> Refusal | None:
    """The first CORS/Origin failure of this page against this server, or None when it connects.

    The client's first transport is polling whenever it allows polling (socket.io's default
    order); a refused polling handshake is a connect_error, not a fallback to WebSocket.
    """
    page, target = page_origin(client), socket_origin(client)
    if page is None or target is None or mixed_content(page, target):
        return None  # the browser blocks an http socket from an https page before CORS (SG111)
    cross = page != target
    used = transports_used(client, server)
    if server.stack != "node":
        return _python_refusal(client, server, proxy, page, cross, used)
    if not cross or "polling" not in used:
        return None
    return _node_polling_refusal(client, server, proxy, page)


def _python_refusal(client: ClientSpec, server: ServerSpec, proxy: CorsAtProxy | None, page: str,
                    cross: bool, used: frozenset[str]) -> Refusal | None:
    transport = "polling" if "polling" in used else "websocket"
    if not server_allows_any(server):
        if not server.cors_origins and cross:
            return Refusal(transport, "origin", "server", "python-socketio allows only the request's own origin "
                           "by default and answers 400 to any other Origin")
        if server.cors_origins and not server_lists(server, page):
            same = "" if cross else " (WebSocket handshakes and POSTs carry Origin even from the same origin)"
            return Refusal(transport, "origin", "server",
                           f"python-socketio answers 400 to an Origin outside its list{same}")
    if cross and client.credentials and "polling" in used and not server.cors_credentials and not (
            proxy is not None and proxy_allows(proxy, page) and proxy.allow_credentials):
        return Refusal("polling", "credentials", "server", "no Access-Control-Allow-Credentials: true is sent, "
                       "so the browser discards credentialed responses")
    return None


def _node_polling_refusal(client: ClientSpec, server: ServerSpec, proxy: CorsAtProxy | None,
                          page: str) -> Refusal | None:
    proxy_match = proxy is not None and proxy_allows(proxy, page)
    if proxy_match:
        assert proxy is not None
        allow_origin = page  # Envoy overwrites whatever the server sent with the echoed origin
        allow_credentials = bool(proxy.allow_credentials) or server.cors_credentials
    elif "reflect" in server.cors_origins or server_lists(server, page):
        allow_origin, allow_credentials = page, server.cors_credentials
    elif "*" in server.cors_origins:
        allow_origin, allow_credentials = "*", server.cors_credentials
    else:
        who = "proxy" if proxy is not None and not server.cors_origins else "server"
        return Refusal("polling", "origin", who, "no Access-Control-Allow-Origin for this origin, so the browser "
                       "blocks every polling response (the server still answers 200)")
    if not client.credentials:
        return None
    if allow_origin == "*":
        return Refusal("polling", "wildcard", "server", "Access-Control-Allow-Origin is `*`, which browsers refuse "
                       "for requests with credentials")
    if not allow_credentials:
        return Refusal("polling", "credentials", "proxy" if proxy_match else "server",
                       "no Access-Control-Allow-Credentials: true is sent, so the browser discards "
                       "credentialed responses")
    return None
