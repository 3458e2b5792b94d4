"""The `socketguard.io/` annotation table: every key, the side it describes, its parser and default.

`contract.py` reads workloads through it, SG001's unknown-key check and its suggestion come from
it, and docs/annotations.md is generated from it (`python -m socketguard.report.docs`), so a key
is added here once. A parser gets the value without surrounding spaces and raises ValueError
for a bad one; the SG001 message then says what was `expected`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.urls import split_url

# server: its presence makes a server; client: a client; both: a server's, or a pure client's
# (beside client keys only); any: general, on any object.
Role = Literal["server", "client", "both", "any"]
Parser = Callable[[str], Any]

ALL_TRANSPORTS: frozenset[str] = frozenset({"polling", "websocket"})
ROLES: dict[str, frozenset[str]] = {
    "server": frozenset({"server"}), "client": frozenset({"client"}),
    "server,client": frozenset({"server", "client"}), "client,server": frozenset({"server", "client"}),
}
STACKS = ("node", "python-asgi", "python")
ADAPTERS = ("none", "redis", "redis-streams", "postgres", "mongo", "cluster", "other")
ENFORCE_MODES = ("enforce", "hold", "warn", "audit", "off")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")
_RULE_CODE = re.compile(r"^SG\d{3}$")
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


@dataclass(frozen=True)
class AnnotationKey:
    """One `socketguard.io/` key; `default` is what the engine assumes when it is absent."""

    key: str
    role: Role
    meaning: str
    parse: Parser
    expected: str  # completes "`socketguard.io/KEY` is 'VALUE', expected ..."
    example: str
    default: Any = None
    default_doc: str = ""  # the docs' default column, when the default is not one plain value
    accepted_doc: str = ""  # the docs' accepted-values column, when it says more than `expected`
    refers_to: str = ""  # a `*-from` key: the key whose value its JSONPath selects

    @property
    def name(self) -> str:
        return f"{ANNOTATION_PREFIX}{self.key}"

    def read(self, text: str) -> Any:
        return _read(self.parse, text)


@lru_cache(maxsize=4096)
def _read(parse: Parser, text: str) -> Any:
    # The same values recur on workload after workload (stacks, transports, event lists), and
    # every parser returns an immutable value: each is parsed once. Errors are not cached.
    return parse(text.strip())


# -- parsers ------------------------------------------------------------------------------------
def _one_of(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        normalized = value.replace(" ", "").lower()
        if normalized not in options:
            raise ValueError(value)
        return normalized
    return parse


def _either(options: tuple[str, ...]) -> str:
    return " or ".join(f"`{option}`" for option in options)


def _role(value: str) -> frozenset[str]:
    return ROLES[_one_of(tuple(ROLES))(value)]


def _boolean(value: str) -> bool:
    return _one_of(("true", "false"))(value) == "true"


def _text(value: str) -> str:
    return value


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(value)
    return int(value)


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _items(check: Parser = _text, into: Callable[[list[Any]], Any] = tuple) -> Parser:
    return lambda value: into([check(item) for item in comma_list(value)])


def _socket_path(value: str) -> str:
    if not value.startswith("/") or any(c in value for c in "?# \t\n"):
        raise ValueError(value)
    return value.rstrip("/") or "/"


def _port(value: str) -> int | str:
    if value.isdigit():
        number = int(value)
        if not 0 < number < 65536:
            raise ValueError(value)
        return number
    if not _PORT_NAME.match(value):
        raise ValueError(value)
    return value


def _cors_origin(value: str) -> str:
    if value in ("*", "reflect") or _ORIGIN.match(value):
        return value.rstrip("/")
    raise ValueError(value)


def _origin(value: str) -> str:
    if not _ORIGIN.match(value.rstrip("/")):
        raise ValueError(value)
    return value.rstrip("/")


def _transports(value: str) -> frozenset[str]:
    found = frozenset(_one_of(tuple(sorted(ALL_TRANSPORTS)))(item) for item in comma_list(value))
    if not found:
        raise ValueError(value)
    return found


def _namespace(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(value)
    return value


def _rule_code(value: str) -> str:
    if not _RULE_CODE.match(value.upper()):
        raise ValueError(value)
    return value.upper()


def _client_url(value: str) -> str:
    if value.startswith("/"):
        return value
    parts = split_url(value)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError(value)
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(value) from None
    return value


def _workload_name(value: str) -> tuple[str, str]:
    """`namespace/name` or `name` -> (namespace, or "" for the client's own, name)."""
    namespace, _, name = value.rpartition("/")
    if not name or "/" in namespace:
        raise ValueError(value)
    return namespace, name


# -- the table ----------------------------------------------------------------------------------
_PATH = "an absolute path such as /socket.io"
_EVENTS = "a comma-separated list"
_JSONPATH = "a JSONPath into the workload object"
_ENV_PATH = "spec.template.spec.containers[0].env[?(@.name=='SOCKET_IO_PATH')].value"


def _event_keys(prefix: str, role: Role, side: str, rooms: str) -> tuple[AnnotationKey, ...]:
    """`transports`, `emits`, `listens`, `rooms`: the same four for a server or pure client, and a page."""
    return (
        AnnotationKey(f"{prefix}transports", role, f"{side}'s `transports` option", _transports,
                      "a non-empty subset of polling,websocket", "websocket", default=ALL_TRANSPORTS,
                      accepted_doc="a non-empty subset of `polling,websocket`"),
        AnnotationKey(f"{prefix}emits", role, f"events {side} emits", _items(into=frozenset), _EVENTS,
                      "agent_stream,task:complete", default_doc="unknown: the event rules skip",
                      accepted_doc="comma-separated event names"),
        AnnotationKey(f"{prefix}listens", role, f"events {side} handles (`socket.on(...)`)", _items(into=frozenset),
                      _EVENTS, "subscribe,unsubscribe", default_doc="unknown",
                      accepted_doc="comma-separated event names"),
        AnnotationKey(f"{prefix}rooms", role, f"room patterns: {rooms}", _items(), _EVENTS, "task:{taskId}",
                      default_doc="unknown",
                      accepted_doc="comma-separated patterns with `{placeholders}` (`task:{taskId}`)"),
    )


ANNOTATIONS: tuple[AnnotationKey, ...] = (
    AnnotationKey("role", "any", "what the workload is: a Socket.IO server, a client, or both", _role,
                  _either(tuple(ROLES)), "server", default_doc="decided by the keys set (see below)",
                  accepted_doc="`server`, `client`, or `server,client` (either order)"),
    AnnotationKey("ignore", "any", "rule codes not reported on this object", _items(_rule_code),
                  "a comma-separated list of rule codes such as SG102,SG302", "SG302,SG204", default=(),
                  default_doc="none", accepted_doc="comma-separated codes, case-insensitive"),
    AnnotationKey("enforce", "any", "admission mode for this object; it can only lower the namespace's mode "
                  "(`enforce` > `hold` > `warn` > `audit` > `off`)", _one_of(ENFORCE_MODES),
                  _either(ENFORCE_MODES), "warn", default_doc="the namespace's mode"),
    AnnotationKey("held", "any", "written by SocketGuard only: why the `hold` mode paused this Deployment",
                  _text, "any text", "SG102: ...", default_doc="not held"),
    AnnotationKey("path", "server", "the server's `path` option", _socket_path, _PATH, "/mageagent/socket.io",
                  default="/socket.io", accepted_doc="an absolute path without query or spaces; a trailing "
                  "slash is ignored (`/mageagent/socket.io/` = `/mageagent/socket.io`)"),
    AnnotationKey("path-from", "server", "where the path is really configured (an env var, an argument)",
                  _text, _JSONPATH, _ENV_PATH, default_doc="", refers_to="path",
                  accepted_doc="a JSONPath, see [References](#references-path-from-and-client-url-from)"),
    AnnotationKey("port", "server", "the container port that serves Socket.IO", _port,
                  "a container port number (1-65535) or port name", "http", default_doc="the only container port",
                  accepted_doc="a number 1-65535 or a port name (lowercase letters, digits and `-`, "
                  "at most 15 characters)"),
    AnnotationKey("stack", "server", "the implementation; path and CORS semantics differ", _one_of(STACKS),
                  _either(STACKS), "python-asgi", default="node",
                  accepted_doc="`node` (socket.io 4), `python-asgi` (python-socketio `ASGIApp`), `python` "
                  "(python-socketio under WSGI, aiohttp, sanic or tornado)"),
    AnnotationKey("add-trailing-slash", "server", "engine.io's `addTrailingSlash` (node)", _boolean,
                  _either(("true", "false")), "false", default=True),
    AnnotationKey("cors-origins", "server", "the server's allowed origins", _items(_cors_origin),
                  "`*`, `reflect`, or a comma-separated list of origins like https://app.example.com",
                  "https://adverant.ai,https://www.adverant.ai", default=(), default_doc="empty: same-origin only",
                  accepted_doc="`*`; `reflect` (socket.io `origin: true`: the request's origin is echoed); or "
                  "origins `scheme://host[:port]` without a path, comma-separated"),
    AnnotationKey("cors-credentials", "server", "`cors.credentials` / `cors_credentials`", _boolean,
                  _either(("true", "false")), "true", default_doc="`false` on `node`, `true` on `python*`"),
    AnnotationKey("ping-interval", "server", "`pingInterval`", _positive_int,
                  "a positive whole number of milliseconds", "25000", default=25000,
                  accepted_doc="whole milliseconds, > 0"),
    AnnotationKey("ping-timeout", "server", "`pingTimeout`", _positive_int,
                  "a positive whole number of milliseconds", "60000", default=20000,
                  accepted_doc="whole milliseconds, > 0"),
    AnnotationKey("adapter", "server", "the adapter that shares rooms and broadcasts between pods",
                  _one_of(ADAPTERS), _either(ADAPTERS), "redis", default="none"),
    AnnotationKey("namespaces", "server", "the Socket.IO namespaces served", _items(_namespace),
                  "namespaces such as /,/admin", "/,/admin", default=("/",),
                  accepted_doc="absolute names, comma-separated (`/,/admin`)"),
    AnnotationKey("probe", "server", "opt in to the operator's live Engine.IO probes", _boolean,
                  _either(("true", "false")), "true", default=False),
    *_event_keys("", "both", "this side", "the rooms a server joins sockets to, or a client subscribes to"),
    AnnotationKey("client-url", "client", "the URL passed to `io()`", _client_url,
                  "a URL such as https://app.example.com or wss://h/", "https://adverant.ai",
                  default_doc="the page origin (`io()` without URL)",
                  accepted_doc="`http`, `https`, `ws` or `wss` URL with a host, or a path starting with `/`"),
    AnnotationKey("client-url-from", "client", "where the URL is configured", _text, _JSONPATH,
                  "spec.template.spec.containers[0].env[?(@.name=='API_URL')].value", refers_to="client-url",
                  accepted_doc="a JSONPath"),
    AnnotationKey("client-path", "client", "the client's `path` option (the HTTP path)", _socket_path, _PATH,
                  "/mageagent/socket.io", default="/socket.io", accepted_doc="as `path`"),
    AnnotationKey("client-origin", "client", "the origin of the page the browser runs", _origin,
                  "an origin such as https://app.example.com", "https://adverant.ai", default_doc="(none)",
                  accepted_doc="`scheme://host[:port]`, no path; a trailing slash is ignored"),
    AnnotationKey("client-credentials", "client", "`withCredentials`", _boolean, _either(("true", "false")),
                  "true", default=False),
    *_event_keys("client-", "client", "the page", "the rooms the page subscribes to"),
    AnnotationKey("client-server", "client", "pins the server this client talks to; routing is still checked "
                  "against it", _workload_name, "`namespace/name` of the server workload", "mageagent/mageagent",
                  default_doc="paired by routing",
                  accepted_doc="`namespace/name` or `name` (same namespace) of a Deployment"),
)

BY_KEY: dict[str, AnnotationKey] = {annotation.key: annotation for annotation in ANNOTATIONS}
KNOWN_KEYS: frozenset[str] = frozenset(BY_KEY)


def keys_for(role: Role) -> frozenset[str]:
    return frozenset(annotation.key for annotation in ANNOTATIONS if annotation.role == role)


def default_of(key: str) -> Any:
    return BY_KEY[key].default


SERVER_KEYS = keys_for("server")
SHARED_KEYS = keys_for("both")
CLIENT_KEYS = keys_for("client")
GENERAL_KEYS = keys_for("any")
