"""What a probe is asked to do and what it found: plain frozen data, JSON-ready."""

from __future__ import annotations

import enum
import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from socketguard.probe.packets import OpenInfo

Transport = Literal["polling", "websocket", "both"]
TRANSPORTS: tuple[Transport, ...] = ("polling", "websocket", "both")
DEFAULT_PATH = "/socket.io"
MAX_POLLS = 20
MAX_TIMEOUT_S = 120.0

_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class ProbeUsageError(ValueError):
    """The probe was asked something it cannot do; the message names the bad value."""


class Outcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class Cause(enum.StrEnum):
    """Why a step failed, one stable word each (documented in docs/probe.md)."""

    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    REDIRECT = "redirect"
    WRONG_PATH = "wrong-path"
    NOT_ENGINEIO = "not-engineio"
    PROXY_ERROR = "proxy-error"
    ENGINEIO_ERROR = "engineio-error"
    FORBIDDEN = "forbidden"
    NO_STICKY_SESSIONS = "no-sticky-sessions"
    CORS = "cors"
    UPGRADE_REFUSED = "upgrade-refused"
    UPGRADE_HUNG_UP = "upgrade-hung-up"
    NAMESPACE_REFUSED = "namespace-refused"
    HTTP_ERROR = "http-error"
    PROTOCOL = "protocol"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    cause: Cause
    summary: str
    hint: str
    engineio_code: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "cause": self.cause.value,
            "summary": self.summary,
            "hint": self.hint,
            "engineioCode": self.engineio_code,
        }


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One HTTP response as the diagnosis needs it: status, lower-cased headers, body excerpt."""

    status: int
    reason: str
    headers: dict[str, str]
    body: str

    @property
    def server(self) -> str | None:
        return self.headers.get("server")


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    title: str
    outcome: Outcome
    request: str = ""
    duration_ms: float | None = None
    http_status: int | None = None
    detail: str = ""
    diagnosis: Diagnosis | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "outcome": self.outcome.value,
            "request": self.request,
            "durationMs": None if self.duration_ms is None else round(self.duration_ms, 3),
            "httpStatus": self.http_status,
            "detail": self.detail,
            "diagnosis": None if self.diagnosis is None else self.diagnosis.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """A validated probe request; build it with `ProbeOptions.create`."""

    base_url: str
    path: str = DEFAULT_PATH
    namespace: str = "/"
    origin: str | None = None
    transport: Transport = "both"
    polls: int = 3
    timeout_s: float = 10.0
    verify_tls: bool = True
    ca_file: str | None = None

    @classmethod
    def create(
        cls,
        url: str,
        *,
        path: str | None = None,
        namespace: str = "/",
        origin: str | None = None,
        transport: str = "both",
        polls: int = 3,
        timeout_s: float = 10.0,
        verify_tls: bool = True,
        ca_file: str | None = None,
    ) -> ProbeOptions:
        base_url, url_path = _split_target(url)
        if path is not None and url_path and _normalize_path(path) != url_path:
            raise ProbeUsageError(
                f"the URL already has the path {url_path!r} and --path says {path!r}: give it once"
            )
        return cls(
            base_url=base_url,
            path=_normalize_path(path) if path is not None else (url_path or DEFAULT_PATH),
            namespace=_check_namespace(namespace),
            origin=None if origin is None else _normalize_origin(origin),
            transport=_check_transport(transport),
            polls=_check_polls(polls),
            timeout_s=_check_timeout(timeout_s),
            verify_tls=verify_tls,
            ca_file=_check_ca_file(ca_file, verify_tls),
        )

    @property
    def endpoint(self) -> str:
        """The Engine.IO URL without query: what a client built with this path requests."""
        return f"{self.base_url}{self.path}/"

    @property
    def uses_polling(self) -> bool:
        return self.transport in ("polling", "both")

    @property
    def uses_websocket(self) -> bool:
        return self.transport in ("websocket", "both")

    def as_dict(self) -> dict[str, object]:
        return {
            "url": self.base_url,
            "path": self.path,
            "namespace": self.namespace,
            "origin": self.origin,
            "transport": self.transport,
            "polls": self.polls,
            "timeoutSeconds": self.timeout_s,
            "verifyTls": self.verify_tls,
            "caFile": self.ca_file,
        }


@dataclass(frozen=True, slots=True)
class DiagnosisEntry:
    """One distinct cause of a report, with every step that showed it."""

    diagnosis: Diagnosis
    steps: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {**self.diagnosis.as_dict(), "steps": list(self.steps)}


@dataclass(frozen=True, slots=True)
class ProbeReport:
    options: ProbeOptions
    steps: tuple[StepResult, ...]
    handshake: OpenInfo | None = None
    total_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every requested step worked (a skipped step never counts as working)."""
        return bool(self.steps) and all(step.outcome is Outcome.OK for step in self.steps)

    @property
    def diagnoses(self) -> tuple[DiagnosisEntry, ...]:
        order: list[Cause] = []
        first: dict[Cause, Diagnosis] = {}
        seen_in: dict[Cause, list[str]] = {}
        for step in self.steps:
            if step.diagnosis is None:
                continue
            cause = step.diagnosis.cause
            if cause not in first:
                order.append(cause)
                first[cause] = step.diagnosis
                seen_in[cause] = []
            seen_in[cause].append(step.name)
        return tuple(DiagnosisEntry(first[cause], tuple(seen_in[cause])) for cause in order)

    def step(self, name: str) -> StepResult | None:
        return next((step for step in self.steps if step.name == name), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "target": self.options.endpoint,
            "options": self.options.as_dict(),
            "handshake": None if self.handshake is None else self.handshake.as_dict(),
            "totalMs": round(self.total_ms, 3),
            "steps": [step.as_dict() for step in self.steps],
            "diagnoses": [entry.as_dict() for entry in self.diagnoses],
        }


def _split_target(url: str) -> tuple[str, str]:
    """`https://h:8443/app/socket.io/` -> (`https://h:8443`, `/app/socket.io`)."""
    text = url.strip()
    if "://" not in text:
        raise ProbeUsageError(f"URL {url!r} has no scheme: write http://, https://, ws:// or wss://")
    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise ProbeUsageError(f"URL {url!r} is not valid: {error}") from None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ProbeUsageError(f"URL scheme {parts.scheme!r} is not one of http, https, ws, wss")
    if not parts.hostname:
        raise ProbeUsageError(f"URL {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ProbeUsageError("URL must not carry user:password (the probe sends no credentials)")
    if parts.query or parts.fragment:
        raise ProbeUsageError(
            f"URL {url!r} has a query or fragment: the probe builds its own (EIO=4&transport=...)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ProbeUsageError(f"URL {url!r} has an invalid port") from None
    if port == 0:
        raise ProbeUsageError(f"URL {url!r} has port 0")
    host = _check_host(parts.hostname)
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}", _normalize_path(parts.path) if parts.path not in ("", "/") else ""


def _check_host(host: str) -> str:
    """The host as it goes into the URL; a name that no resolver could take is a usage error."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            raise ProbeUsageError(f"host [{host}] is not a valid IPv6 address") from None
        return f"[{host}]"
    if any(char in host for char in " %/\\@") or any(not char.isprintable() for char in host):
        raise ProbeUsageError(f"host {host!r} contains characters that no host name has")
    try:
        host.encode("idna")
    except UnicodeError:
        raise ProbeUsageError(f"host {host!r} is not a valid name (each label: 1-63 characters)") from None
    return host


def _normalize_path(path: str) -> str:
    if not path.startswith("/"):
        raise ProbeUsageError(f"path {path!r} must start with '/' (for example /socket.io)")
    if any(char in path for char in "?# \t"):
        raise ProbeUsageError(f"path {path!r} must not contain '?', '#' or spaces")
    return path.rstrip("/")


def _check_namespace(namespace: str) -> str:
    if not namespace.startswith("/") or "," in namespace or any(ch.isspace() for ch in namespace):
        raise ProbeUsageError(
            f"namespace {namespace!r} must start with '/' and contain no ',' or spaces (default '/')"
        )
    return namespace


def _normalize_origin(origin: str) -> str:
    try:
        parts = urlsplit(origin.strip())
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ProbeUsageError(f"origin {origin!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeUsageError(f"origin {origin!r} must look like https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProbeUsageError(f"origin {origin!r} must be scheme://host[:port] with no path")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_transport(transport: str) -> Transport:
    for known in TRANSPORTS:
        if transport == known:
            return known
    raise ProbeUsageError(f"transport {transport!r} is not one of polling, websocket, both")


def _check_polls(polls: int) -> int:
    if not 0 <= polls <= MAX_POLLS:
        raise ProbeUsageError(f"polls must be between 0 and {MAX_POLLS}, got {polls}")
    return polls


def _check_timeout(timeout_s: float) -> float:
    if not math.isfinite(timeout_s) or not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise ProbeUsageError(f"timeout must be above 0 and at most {MAX_TIMEOUT_S:g} s, got {timeout_s}")
    return timeout_s


def _check_ca_file(ca_file: str | None, verify_tls: bool) -> str | None:
    if ca_file is None:
        return None
    if not verify_tls:
        raise ProbeUsageError("--ca-file and --insecure contradict each other: give one")
    if not Path(ca_file).is_file():
        raise ProbeUsageError(f"CA file {ca_file!r} does not exist or is not a file")
    return ca_file
