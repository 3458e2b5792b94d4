"""Whether a browser page may talk to a Socket.IO server, per stack and through the route's proxy.

The model, from the engine.io, python-engineio, Envoy and ingress-nginx sources:
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
  through untouched. A matcher that matches the text `*` allows every origin. Gateway API CORS
  filters behave the same (the spec requires echoing the origin when credentials are allowed).
- ingress-nginx `enable-cors`: writes its `cors-allow-origin` (default `*`, literally) and, by
  default, `Access-Control-Allow-Credentials: true`; a listed origin is echoed.
Browsers send Origin on every WebSocket handshake and on cross-origin or POST requests, so a
python server with an explicit list that omits its own origin also refuses same-origin pages.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache

from socketguard.engine.contract import ClientSpec, ServerSpec
from socketguard.engine.objects import FieldPath
from socketguard.engine.routing import CorsAtProxy, RouteHop
from socketguard.engine.urls import split_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
ANY = ("*", "reflect")
NGINX = "ingress-nginx"


@lru_cache(maxsize=8192)  # a few distinct URLs and origins, asked about once per client and rule
def normalize_origin(url: str) -> str | None:
    """`scheme://host[:port]` as a browser writes it (ws->http, default ports dropped), or None."""
    try:
        parts = split_url(url)
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
        if "*" in pattern and pattern != "*":  # `https://*.example.com` (Gateway API, ingress-nginx)
            return fnmatch.fnmatchcase(value, pattern)
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


def proxy_allow_origin(hop: RouteHop, origin: str) -> str | None:
    """The Access-Control-Allow-Origin the proxy writes for `origin`, or None: the server's passes.

    Envoy (Istio corsPolicy) and Gateway API implementations echo a matching origin, even for a
    wildcard; ingress-nginx writes its configured `*` literally and echoes listed origins.
    """
    proxy = hop.cors
    if proxy is None or not proxy_allows(proxy, origin):
        return None
    if hop.router == NGINX and any(value == "*" for _, value in proxy.allow_origins):
        return "*"
    return origin


def proxy_sends_wildcard(hop: RouteHop) -> bool:
    """A literal `Access-Control-Allow-Origin: *` from the proxy (ingress-nginx's `*`)."""
    return hop.cors is not None and hop.router == NGINX and any(value == "*" for _, value in hop.cors.allow_origins)


def proxy_field(hop: RouteHop, what: str) -> FieldPath:
    """The field of the route that sets the proxy's allowed origins (`origins`) or `credentials`."""
    assert hop.cors is not None
    if hop.router == NGINX:
        key = "cors-allow-credentials" if what == "credentials" else "cors-allow-origin"
        return ("metadata", "annotations", f"nginx.ingress.kubernetes.io/{key}")
    return (*hop.cors.path, "allowCredentials" if what == "credentials" else "allowOrigins")


def proxy_fix(hop: RouteHop, origin: str, credentials: bool) -> str:
    """How to allow `origin` at this router, in its own words."""
    if hop.router == NGINX:
        extra = ", `nginx.ingress.kubernetes.io/cors-allow-credentials: \"true\"`" if credentials else ""
        return (f"`nginx.ingress.kubernetes.io/enable-cors: \"true\"`, `nginx.ingress.kubernetes.io/cors-allow-origin:"
                f" {origin}`{extra} on {hop.route}")
    if hop.router == "gateway-api":
        extra = ", allowCredentials: true" if credentials else ""
        return (f"`filters: [{{type: CORS, cors: {{allowOrigins: [{origin}]{extra}}}}}]` on {hop.route} "
                f"{hop.rule_path_text}")
    extra = ", allowCredentials: true" if credentials else ""
    return f"`corsPolicy: {{allowOrigins: [{{exact: {origin}}}]{extra}}}` on {hop.route} {hop.rule_path_text}"


def describe_server(server: ServerSpec) -> str:
    if not server.cors_origins:
        return ("no CORS option: only its own origin" if server.stack != "node"
                else "no cors option: no CORS headers at all")
    credentials = "with" if server.cors_credentials else "without"
    return f"origins {', '.join(server.cors_origins)} {credentials} credentials"


def describe_proxy(hop: RouteHop) -> str:
    assert hop.cors is not None
    credentials = "with" if hop.cors.allow_credentials else "without"
    if hop.router == NGINX:
        origins = ", ".join(value for _, value in hop.cors.allow_origins)
        return f"ingress-nginx CORS (cors-allow-origin {origins}, {credentials} credentials)"
    origins = ", ".join(f"{kind} {value}" for kind, value in hop.cors.allow_origins) or "no origins"
    name = "CORS filter" if hop.router == "gateway-api" else "corsPolicy"
    return f"{name} allowOrigins {origins} {credentials} credentials"


@dataclass(frozen=True)
class Refusal:
    """Why a page's Socket.IO requests fail: which transport, what is refused, who decides."""

    transport: str
    what: str  # "origin" or "credentials"
    by: str  # "server" or "proxy"
    detail: str
    host_rewritten: bool = False  # python's default origin check fails because the route rewrote Host


def refusal(client: ClientSpec, server: ServerSpec, hop: RouteHop | None,
            rewritten_host: str | None = None) -> Refusal | None:
    """The first CORS/Origin failure of this page against this server, or None when it connects.

    `hop` is the route rule that handles the handshake (its router and CORS settings);
    `rewritten_host` the Host the route rewrites the request to, if it does. The
    client's first transport is polling whenever it allows polling (socket.io's default order);
    a refused polling handshake is a connect_error, not a fallback to WebSocket.
    """
    page, target = page_origin(client), socket_origin(client)
    if page is None or target is None or mixed_content(page, target):
        return None  # the browser blocks an http socket from an https page before CORS (SG111)
    cross = page != target
    used = transports_used(client, server)
    if server.stack != "node":
        checked = _python_origin_check(server, page, cross, used, rewritten_host)
        if checked is not None:
            return checked
    if not cross or "polling" not in used:
        return None  # same-origin needs no CORS headers; node never applies CORS to WebSocket
    return _polling_headers(client, server, hop, page)


def _python_origin_check(server: ServerSpec, page: str, cross: bool, used: frozenset[str],
                         rewritten_host: str | None) -> Refusal | None:
    """python-socketio's own Origin check, which answers 400 on both transports."""
    transport = "polling" if "polling" in used else "websocket"
    if server_allows_any(server):
        return None
    if not server.cors_origins and not cross and rewritten_host is not None \
            and rewritten_host.lower() != (split_url(page).hostname or ""):
        # its default is scheme://Host as the server sees it, and the route changed the Host
        return Refusal("websocket" if "websocket" in used else "polling", "origin", "server",
                       f"python-socketio allows only its own origin by default, which it takes from the Host "
                       f"header, and the route rewrites that to {rewritten_host} (WebSocket handshakes and POSTs "
                       "carry Origin even from the same origin)", host_rewritten=True)
    if not server.cors_origins and cross:
        return Refusal(transport, "origin", "server", "python-socketio allows only the request's own origin "
                       "by default and answers 400 to any other Origin")
    if server.cors_origins and not server_lists(server, page):
        same = "" if cross else " (WebSocket handshakes and POSTs carry Origin even from the same origin)"
        return Refusal(transport, "origin", "server",
                       f"python-socketio answers 400 to an Origin outside its list{same}")
    return None


def _server_allow_origin(server: ServerSpec, page: str) -> str | None:
    if server.stack != "node":
        return page  # python-socketio echoes every origin it accepted
    if "reflect" in server.cors_origins or server_lists(server, page):
        return page
    return "*" if "*" in server.cors_origins else None


def _polling_headers(client: ClientSpec, server: ServerSpec, hop: RouteHop | None, page: str) -> Refusal | None:
    """Whether the browser accepts the CORS headers of a cross-origin polling response."""
    proxy = hop.cors if hop is not None else None
    proxy_origin = proxy_allow_origin(hop, page) if hop is not None else None
    if proxy is not None and proxy_origin is not None:
        # the proxy overwrites Access-Control-Allow-Origin; the server's credentials header still passes
        allow_origin, by = proxy_origin, "proxy"
        allow_credentials = bool(proxy.allow_credentials) or server.cors_credentials
    else:
        server_origin = _server_allow_origin(server, page)
        if server_origin is None:
            who = "proxy" if proxy is not None and not server.cors_origins else "server"
            return Refusal("polling", "origin", who, "no Access-Control-Allow-Origin for this origin, so the "
                           "browser blocks every polling response (the server still answers 200)")
        allow_origin, allow_credentials, by = server_origin, server.cors_credentials, "server"
    if not client.credentials:
        return None
    if allow_origin == "*":
        return Refusal("polling", "wildcard", by, "Access-Control-Allow-Origin is `*`, which browsers refuse for "
                       "requests with credentials")
    if not allow_credentials:
        return Refusal("polling", "credentials", by, "no Access-Control-Allow-Credentials: true is sent, so the "
                       "browser discards credentialed responses")
    return None
