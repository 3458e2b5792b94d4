"""From what came back to a cause in plain words. Pure: answers and exceptions in, Diagnosis out.

Engine.IO servers refuse requests in two dialects: node's engine.io answers `{"code": N, "message": M}`
(400, or 403 for code 4) on HTTP and a bare message on a refused WebSocket upgrade; python-engineio
answers a JSON string such as `"Invalid session X"`. Both are mapped onto node's codes 0-5.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl

import aiohttp

from socketguard.probe.model import Cause, Diagnosis, HttpAnswer

# engine.io's error codes (node's Server.errors); python-engineio's messages are mapped onto them.
TRANSPORT_UNKNOWN, SESSION_UNKNOWN, BAD_HANDSHAKE_METHOD = 0, 1, 2
BAD_REQUEST, FORBIDDEN, UNSUPPORTED_VERSION = 3, 4, 5

# node's exact texts, as sent bare on a refused WebSocket upgrade.
_NODE_MESSAGES = {
    "Transport unknown": TRANSPORT_UNKNOWN,
    "Session ID unknown": SESSION_UNKNOWN,
    "Bad handshake method": BAD_HANDSHAKE_METHOD,
    "Bad request": BAD_REQUEST,
    "Forbidden": FORBIDDEN,
    "Unsupported protocol version": UNSUPPORTED_VERSION,
}
# python-engineio's JSON-string messages, by their lower-cased beginning.
_PYTHON_MESSAGES: tuple[tuple[str, int], ...] = (
    ("invalid session", SESSION_UNKNOWN),
    ("session is disconnected", SESSION_UNKNOWN),
    ("invalid transport", TRANSPORT_UNKNOWN),
    ("the client is using an unsupported version", UNSUPPORTED_VERSION),
    ("invalid websocket upgrade", BAD_REQUEST),
    ("unexpected http request", BAD_REQUEST),
    ("not connected", BAD_REQUEST),
    ("bad request", BAD_REQUEST),
)
_TAG = re.compile(r"<[^>]*>")
_ORIGIN_REFUSED = re.compile(r"^(?P<origin>\S+) is not an accepted origin", re.IGNORECASE)
_PROXY_NAMES = ("nginx", "envoy", "istio", "haproxy", "traefik", "cloudflare", "apache", "caddy", "awselb")
_UPGRADE_HEADERS_HINT = (
    "make every proxy on the route pass WebSocket upgrades (nginx: proxy_http_version 1.1; "
    "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; an Istio or "
    "Gateway API route passes them by default)"
)
_PATH_HINT = (
    "check that the client path, the route's match and rewrite, and the server's `path` option agree: "
    "after any rewrite the request must reach the server at its own path "
    "(`socketguard lint` checks this offline, SG102)"
)


def engineio_error(answer: HttpAnswer) -> tuple[int, str] | None:
    """The Engine.IO error code and message in a refusal, or None when the body is not one."""
    body = answer.body.strip()
    if body in _NODE_MESSAGES:
        return _NODE_MESSAGES[body], body
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("code"), int) and isinstance(data.get("message"), str):
        return int(data["code"]), str(data["message"])
    if isinstance(data, str):
        lowered = data.lower()
        for fragment, code in _PYTHON_MESSAGES:
            if lowered.startswith(fragment):
                return code, data
    return None


def from_answer(answer: HttpAnswer, *, path: str, websocket: bool, sid: str | None) -> Diagnosis:
    """Why an HTTP answer is not what an Engine.IO server sends to a request that works."""
    origin_refused = _ORIGIN_REFUSED.match(_json_string(answer.body) or "")
    if answer.status in (400, 403) and origin_refused:
        return origin_not_accepted(origin_refused.group("origin"), websocket=websocket)
    refusal = engineio_error(answer) if answer.status in (400, 403) else None
    if refusal is not None:
        return from_engineio_code(refusal[0], refusal[1], websocket=websocket, sid=sid)
    if 300 <= answer.status < 400:
        return _redirect(answer)
    if answer.status == 404:
        return Diagnosis(
            Cause.WRONG_PATH,
            f"{path}/ answered 404 Not Found{_answered_by(answer)}: no Socket.IO server is at this path "
            f"on this host; {_page_origin(answer)}",
            _PATH_HINT,
        )
    if answer.status in (502, 503, 504):
        return _proxy_error(answer, websocket=websocket)
    if answer.status == 400 and "plain http request was sent to https port" in answer.body.lower():
        return Diagnosis(
            Cause.TLS,
            f"the port speaks TLS but the probe spoke plain HTTP{_answered_by(answer)}",
            "use an https:// (or wss://) URL for this port",
        )
    return Diagnosis(
        Cause.HTTP_ERROR,
        f"{_status(answer)}{_answered_by(answer)}: {_excerpt(answer.body)!r}",
        "this is not an Engine.IO refusal: look at the component that answered (authentication, "
        "a web application firewall, a method or size limit)",
    )


def from_engineio_code(code: int, message: str, *, websocket: bool, sid: str | None) -> Diagnosis:
    said = f"the server refused with Engine.IO error {code} ({message!r})"
    if code == SESSION_UNKNOWN:
        return Diagnosis(
            Cause.NO_STICKY_SESSIONS,
            f"{said}: it does not know the session {sid or '(none)'} that the handshake had just opened, "
            "so requests of one session reached different server processes",
            "enable session affinity on the hop that balances over several replicas (Istio "
            "DestinationRule consistentHash.httpCookie, Gateway API sessionPersistence, ingress-nginx "
            "affinity: cookie, nginx ip_hash/hash); a Service's sessionAffinity does not help behind a "
            "proxy; clients with transports: ['websocket'] do not need it",
            code,
        )
    if code == BAD_REQUEST and websocket:
        return Diagnosis(
            Cause.UPGRADE_REFUSED,
            f"{said}: the WebSocket request reached the server as a plain HTTP request, without its "
            "Upgrade header",
            _UPGRADE_HEADERS_HINT,
            code,
        )
    if code == TRANSPORT_UNKNOWN and websocket:
        # python-engineio says "Invalid transport" both when websocket is disabled and when an
        # upgrade arrives stripped of its Upgrade header, so both readings are given.
        return Diagnosis(
            Cause.UPGRADE_REFUSED,
            f"{said}: the server does not take this request as a WebSocket: either it does not serve "
            "the websocket transport, or the request arrived without its Upgrade header",
            f"enable the websocket transport on the server, and {_UPGRADE_HEADERS_HINT}",
            code,
        )
    if code == FORBIDDEN:
        return Diagnosis(
            Cause.FORBIDDEN,
            f"{said}: the server's allowRequest check turned the handshake down",
            "look at the server's allowRequest function (it often checks Origin, cookies or headers)",
            code,
        )
    return Diagnosis(Cause.ENGINEIO_ERROR, f"{said}", _ENGINEIO_HINTS.get(code, _GENERIC_HINT), code)


_GENERIC_HINT = "compare the client and server versions and what the proxies change in the request"
_ENGINEIO_HINTS = {
    TRANSPORT_UNKNOWN: "the server does not offer this transport (its `transports` option): "
    "probe with --transport set to what it serves, or enable the transport",
    BAD_HANDSHAKE_METHOD: "a request without its sid reached the server as a new handshake: a proxy "
    "drops or rewrites the query string",
    BAD_REQUEST: "the server could not read the request: a proxy may change the query string or body, "
    "or client and server versions differ",
    UNSUPPORTED_VERSION: "the server speaks another Engine.IO version (socket.io 2 speaks EIO=3; "
    "python-socketio 5 speaks EIO=4) or a proxy dropped the EIO query parameter",
}


def origin_not_accepted(origin: str, *, websocket: bool) -> Diagnosis:
    transport = "WebSocket" if websocket else "polling"
    return Diagnosis(
        Cause.CORS,
        f"the server refused the {transport} request from origin {origin}: it is not an allowed origin",
        "add the page's origin to the server's allowed origins (python-socketio cors_allowed_origins, "
        "socket.io cors.origin), or serve the page and the socket from one origin",
    )


def cors_check(origin: str, answer: HttpAnswer) -> Diagnosis | None:
    """A browser's view of a polling answer for a page at `origin`: None when it may read it."""
    allowed = answer.headers.get("access-control-allow-origin")
    if allowed is None:
        return Diagnosis(
            Cause.CORS,
            f"the answer has no Access-Control-Allow-Origin for origin {origin}: a browser page there "
            "cannot read the polling handshake",
            "allow the origin on the server (socket.io: new Server({cors: {origin: [...]}}); "
            "python-socketio: cors_allowed_origins), or serve the page and the socket from one origin",
        )
    if allowed not in ("*", origin):
        return Diagnosis(
            Cause.CORS,
            f"Access-Control-Allow-Origin is {allowed!r}, not the page's origin {origin}: browsers "
            "refuse the answer",
            "list this origin among the server's (or the proxy's corsPolicy) allowed origins",
        )
    return None


def namespace_refused(namespace: str, message: str) -> Diagnosis:
    return Diagnosis(
        Cause.NAMESPACE_REFUSED,
        f"the server refused to join namespace {namespace} (44 CONNECT_ERROR: {message!r})",
        "check the namespace: io('https://host/name') connects to namespace /name, which the server must "
        "serve (io.of('/name') or a python-socketio handler); a connection middleware can refuse too",
    )


def not_engineio(answer: HttpAnswer, *, path: str, problem: str) -> Diagnosis:
    if "<html" in answer.body.lower():
        what = f"an HTML page{_answered_by(answer)}"
    else:
        what = f"a body that is not an Engine.IO packet{_answered_by(answer)} ({problem})"
    return Diagnosis(
        Cause.NOT_ENGINEIO,
        f"{path}/ answered HTTP {answer.status} with {what}: {_excerpt(answer.body)!r}",
        "the request reached something other than the Socket.IO server (a web app's fallback page or a "
        f"proxy's page); {_PATH_HINT}",
    )


def connect_unanswered(namespace: str, timeout_s: float) -> Diagnosis:
    return Diagnosis(
        Cause.PROTOCOL,
        f"the server opened the Engine.IO session but did not answer the Socket.IO CONNECT for "
        f"namespace {namespace} within {timeout_s:g} s",
        "the server speaks Engine.IO without Socket.IO on top, or another Socket.IO version (socket.io 2 "
        "never answers a CONNECT for /), or a connection middleware never lets the connection through",
    )


def protocol_error(step: str, problem: str) -> Diagnosis:
    return Diagnosis(
        Cause.PROTOCOL,
        f"the {step} got an answer that breaks the Engine.IO/Socket.IO protocol: {problem}",
        "compare the server's Socket.IO version with socket.io 4 / python-socketio 5 (Engine.IO v4)",
    )


def upgrade_hung_up(what: str) -> Diagnosis:
    return Diagnosis(
        Cause.UPGRADE_HUNG_UP,
        f"the WebSocket was accepted but {what}",
        "a proxy on the route accepted the upgrade but does not carry frames both ways, or closes idle "
        f"connections early; {_UPGRADE_HEADERS_HINT}",
    )


def upgrade_not_offered(upgrades: tuple[str, ...]) -> Diagnosis:
    return Diagnosis(
        Cause.UPGRADE_REFUSED,
        f"the server offers no WebSocket upgrade (upgrades: {list(upgrades)})",
        "the server's transports (or allowUpgrades) exclude websocket: enable it, or probe with "
        "--transport polling",
    )


def upgrade_not_switched(
    answer: HttpAnswer, *, path: str, sid: str | None, origin: str | None
) -> Diagnosis:
    """A WebSocket handshake answered with anything but 101 Switching Protocols."""
    if answer.status == 403 and engineio_error(answer) is None:
        return _websocket_forbidden(answer, sid=sid, origin=origin)
    if answer.status != 200:
        diagnosis = from_answer(answer, path=path, websocket=True, sid=sid)
        if diagnosis.cause is not Cause.HTTP_ERROR:
            return diagnosis
    hint = _UPGRADE_HEADERS_HINT
    if answer.status == 200:
        hint += "; or the path leads to a web page (see the polling steps), not the Socket.IO server"
    return Diagnosis(
        Cause.UPGRADE_REFUSED,
        f"the WebSocket handshake got {_status(answer)}{_answered_by(answer)} instead of 101 "
        f"Switching Protocols: {_excerpt(answer.body)!r}",
        hint,
    )


def _websocket_forbidden(answer: HttpAnswer, *, sid: str | None, origin: str | None) -> Diagnosis:
    # An ASGI app that closes a WebSocket before accepting it is answered 403 with no reason, so
    # python-socketio's refusals (bad Origin, unknown session) all look alike here.
    said = f"the WebSocket handshake was refused with 403{_answered_by(answer)} and no reason"
    if sid is None and origin is not None:
        return Diagnosis(
            Cause.CORS,
            f"{said}; python-socketio answers this way to an Origin ({origin}) it does not allow",
            "add the origin to the server's cors_allowed_origins (it checks Origin on WebSocket too), "
            "or look at the proxy's or server's access rules",
        )
    return Diagnosis(
        Cause.UPGRADE_REFUSED,
        f"{said}; python-socketio answers this way to an unknown session (no sticky sessions) or a "
        "refused Origin",
        "if polling steps saw 'Session ID unknown', fix stickiness first; else check allowed origins "
        "and the proxy's access rules",
    )


def from_exception(
    error: BaseException, *, host: str, port: int, timeout_s: float, websocket: bool = False
) -> Diagnosis:
    """Network-level failures: nothing that looks like HTTP came back."""
    diagnosis = _network_failure(error, f"{host}:{port}", host, timeout_s)
    if websocket and diagnosis.cause in (Cause.TIMEOUT, Cause.DISCONNECTED):
        # node's engine.io leaves WebSocket requests for paths it does not serve unanswered and
        # drops them after destroyUpgradeTimeout, so a wrong path looks like a hang-up here.
        return Diagnosis(
            diagnosis.cause,
            diagnosis.summary,
            f"{diagnosis.hint}; a socket.io (node) server also drops, after about 1 s and without an "
            "answer, WebSocket requests for a path it does not serve: if polling reports wrong-path, "
            "it is the same cause",
        )
    return diagnosis


def _network_failure(error: BaseException, where: str, host: str, timeout_s: float) -> Diagnosis:
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return Diagnosis(
            Cause.TLS,
            f"the TLS certificate of {where} was not accepted: {error.certificate_error}",
            "if a private CA signed it, pass its certificate with --ca-file; check that the certificate "
            "names this host; --insecure skips the check (for testing only)",
        )
    if isinstance(error, aiohttp.ClientSSLError | ssl.SSLError):
        return Diagnosis(
            Cause.TLS,
            f"the TLS handshake with {where} failed: {_reason(error)}",
            "check that this port serves TLS (https:// on a plain-HTTP port fails like this) and that "
            "client and server share a TLS version and cipher",
        )
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return Diagnosis(
            Cause.DNS,
            f"the name {host} could not be resolved: {_reason(error)}",
            "check the spelling, the DNS record, and from inside a cluster the Service's "
            "name.namespace.svc.cluster.local",
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return Diagnosis(
            Cause.TCP,
            f"no TCP connection to {where}: {_reason(error)}",
            "nothing listens there or a firewall blocks it: check the port, the Service port and "
            "targetPort, that the pods are ready, and NetworkPolicies",
        )
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return Diagnosis(
            Cause.TIMEOUT,
            f"no answer from {where} within {timeout_s:g} s",
            "something on the route holds the request: a proxy waiting for an upstream that does not "
            "answer, a firewall dropping packets, or a server too busy; raise --timeout to tell slow "
            "from stuck",
        )
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return Diagnosis(
            Cause.DISCONNECTED,
            f"{where} closed the connection without a complete answer",
            "a proxy or the server dropped the request; plain HTTP sent to a TLS port can end like this",
        )
    return Diagnosis(
        Cause.HTTP_ERROR,
        f"the request to {where} failed: {type(error).__name__}: {_reason(error)}",
        "run again with a longer --timeout and compare with curl -v to see where it stops",
    )


def _redirect(answer: HttpAnswer) -> Diagnosis:
    location = answer.headers.get("location", "(no Location header)")
    return Diagnosis(
        Cause.REDIRECT,
        f"the handshake was redirected ({answer.status}) to {location}{_answered_by(answer)}",
        "point the client at the final URL: WebSocket connections never follow redirects and polling "
        "follows them only in browsers and only under CORS rules (http->https? a missing trailing slash?)",
    )


def _proxy_error(answer: HttpAnswer, *, websocket: bool) -> Diagnosis:
    meaning = {
        502: "got no valid answer from the Socket.IO server (down, wrong port, or it closed the connection)",
        503: "has no healthy server to send it to (no ready endpoints, or a circuit breaker is open)",
        504: "timed out waiting for the Socket.IO server",
    }[answer.status]
    hint = (
        "check the upstream the proxy uses: Service port and targetPort, that pods are ready and "
        "listening on that port, and the proxy's own error log"
    )
    if websocket and answer.status == 502:
        # node's engine.io drops WebSocket requests for paths it does not serve without an answer.
        hint += (
            "; a socket.io (node) server also hangs up on WebSocket requests for a path it does not "
            "serve, which a proxy reports as 502: if polling reports wrong-path, it is the same cause"
        )
    return Diagnosis(Cause.PROXY_ERROR, f"a proxy answered {_status(answer)}{_answered_by(answer)}: it {meaning}", hint)


def _status(answer: HttpAnswer) -> str:
    return f"HTTP {answer.status} {answer.reason}" if answer.reason else f"HTTP {answer.status}"


def _answered_by(answer: HttpAnswer) -> str:
    # Proxies such as nginx replace the upstream's Server header, so it names the last hop only.
    return f" (Server: {answer.server})" if answer.server else ""


def _page_origin(answer: HttpAnswer) -> str:
    """Who most likely wrote a 404: the proxy itself (no route matched) or the application behind."""
    server = (answer.server or "").lower()
    proxy = next((name for name in _PROXY_NAMES if name in server), None)
    body = answer.body.strip()
    if proxy is not None and not body:
        return f"an empty answer from {proxy}, which is how Envoy-based proxies say that no route matched"
    if proxy is not None and proxy in body.lower():
        return f"the page is {proxy}'s own, so no route or location matched the path"
    if body:
        return f"the application behind answered {_excerpt(body)!r}, so the route reached it at another path"
    return "the answer had no body"


def _json_string(body: str) -> str | None:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return body.strip() or None
    return data if isinstance(data, str) else None


def _reason(error: BaseException) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return error.strerror or str(error.os_error) or type(error.os_error).__name__
    text = str(error)
    return text or type(error).__name__


def _excerpt(text: str, limit: int = 160) -> str:
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
