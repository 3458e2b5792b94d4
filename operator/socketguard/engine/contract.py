"""The annotation contract: `socketguard.io/*` annotations -> validated server/client specs.

Every value is checked; a bad value, an unknown key, or a key whose workload and pod-template
values disagree becomes a located SG001 issue, and a `*-from` JSONPath that selects nothing
usable becomes SG002. The spec then falls back to the default for that field, so one typo
does not hide every other finding.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from jsonpath_ng.ext import parse as parse_jsonpath

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.workloads import Workload
from socketguard.engine.objects import FieldPath, ObjectRef

Stack = Literal["node", "python-asgi", "python"]
Transport = Literal["polling", "websocket"]
ALL_TRANSPORTS: frozenset[str] = frozenset({"polling", "websocket"})


@dataclass(frozen=True)
class EventContract:
    """What one side says about events and rooms; None means unknown (rules skip)."""

    emits: frozenset[str] | None = None
    listens: frozenset[str] | None = None
    rooms: tuple[str, ...] | None = None
    # Payload fields per event: what a server's emits carry, what a client's handlers read
    # (from a source scan; None, or an event missing from the dict, means unknown).
    payloads: dict[str, frozenset[str]] | None = field(default=None, hash=False)
    reads: dict[str, frozenset[str]] | None = field(default=None, hash=False)
    # Where each value came from (annotation path), for locating findings.
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ServerSpec:
    workload: ObjectRef
    inferred: bool
    path: str = "/socket.io"
    port: str | int | None = None
    stack: Stack = "node"
    add_trailing_slash: bool = True
    cors_origins: tuple[str, ...] = ()  # ("*",) any, ("reflect",) echo, () same-origin only
    cors_credentials: bool = False
    transports: frozenset[str] = ALL_TRANSPORTS
    ping_interval_ms: int = 25000
    ping_timeout_ms: int = 20000
    adapter: str = "none"
    namespaces: tuple[str, ...] = ("/",)
    events: EventContract = EventContract()
    probe: bool = False
    # attribute name -> field path of the annotation (or path-from target) that set it
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ClientSpec:
    workload: ObjectRef
    url: str | None = None  # None: io() with no URL, the page origin
    path: str = "/socket.io"
    origin: str | None = None
    credentials: bool = False
    transports: frozenset[str] = ALL_TRANSPORTS
    events: EventContract = EventContract()
    server: ObjectRef | None = None  # pinned by client-server
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------------------------------------
# Reading the annotations
# ---------------------------------------------------------------------------------------------




SERVER_KEYS = frozenset({
    "path", "path-from", "port", "stack", "add-trailing-slash", "cors-origins", "cors-credentials",
    "ping-interval", "ping-timeout", "adapter", "namespaces", "probe",
})
SHARED_KEYS = frozenset({"transports", "emits", "listens", "rooms"})
CLIENT_KEYS = frozenset({
    "client-transports", "client-emits", "client-listens", "client-rooms", "client-url",
    "client-url-from", "client-path", "client-origin", "client-credentials", "client-server",
})
GENERAL_KEYS = frozenset({"role", "enforce", "held", "ignore"})
KNOWN_KEYS = SERVER_KEYS | SHARED_KEYS | CLIENT_KEYS | GENERAL_KEYS

ROLES = {"server": {"server"}, "client": {"client"}, "server,client": {"server", "client"},
         "client,server": {"server", "client"}}
STACKS = ("node", "python-asgi", "python")
ADAPTERS = ("none", "redis", "redis-streams", "postgres", "mongo", "cluster", "other")
ENFORCE_MODES = ("enforce", "hold", "warn", "audit", "off")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")
_RULE_CODE = re.compile(r"^SG\d{3}$")
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


@dataclass(frozen=True)
class ContractIssue:
    """An SG001 (bad annotation) or SG002 (unresolved reference) problem, located."""

    code: str
    subject: ObjectRef
    path: FieldPath
    message: str
    fixes: tuple[str, ...] = ()
    warning: bool = False


@dataclass
class ContractSet:
    servers: dict[ObjectRef, ServerSpec] = field(default_factory=dict)
    clients: dict[ObjectRef, ClientSpec] = field(default_factory=dict)
    issues: list[ContractIssue] = field(default_factory=list)


# (workload, "server" | "client") -> the events and rooms read from that side's source code
EventSources = Mapping[tuple[ObjectRef, str], EventContract]


def read_contracts(inventory: Inventory, event_sources: EventSources | None = None) -> ContractSet:
    """Specs of every annotated workload; a bound source scan replaces (and checks) the event keys."""
    contracts = ContractSet()
    sources = event_sources or {}
    scanned_workloads = {ref for ref, _ in sources}
    for workload in inventory.workloads():
        ref = inventory.ref_of(workload)
        if not _has_annotations(workload) and ref not in scanned_workloads:
            continue
        reader = _AnnotationReader(ref, workload, inventory.raw(ref) or {}, contracts.issues)
        server, client = reader.read()
        if server is None and client is None and (ref, "server") in sources:
            server = ServerSpec(workload=ref, inferred=False)
        if server is not None:
            contracts.servers[ref] = _with_scan(server, sources.get((ref, "server")), contracts.issues)
        if client is not None:
            contracts.clients[ref] = _with_scan(client, sources.get((ref, "client")), contracts.issues)
    return contracts


SpecT = TypeVar("SpecT", ServerSpec, ClientSpec)


def _with_scan(spec: SpecT, scanned: EventContract | None, issues: list[ContractIssue]) -> SpecT:
    """The spec with its events from the source scan; annotations that disagree are stale (SG001)."""
    if scanned is None:
        return spec
    for key in ("emits", "listens", "rooms"):
        annotated, found = getattr(spec.events, key), getattr(scanned, key)
        if annotated is None or found is None or _same(annotated, found):
            continue
        path = spec.events.sources.get(key, ("metadata", "annotations"))
        issues.append(ContractIssue(
            "SG001", spec.workload, path,
            f"`{path[-1]}` lists {_listed(annotated)} but the source code {key} {_listed(found)}: "
            "the annotation is stale (the source scan is used)",
            ("update the annotation from `socketguard contract scan`, or remove it and keep --source",)))
    return replace(spec, events=scanned)


def _same(annotated: frozenset[str] | tuple[str, ...], found: frozenset[str] | tuple[str, ...]) -> bool:
    return set(annotated) == set(found)


def _listed(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(values)) or "nothing"


def _has_annotations(workload: Workload) -> bool:
    return any(key.startswith(ANNOTATION_PREFIX) for annotations in
               (workload.metadata.annotations, workload.spec.template.metadata.annotations) for key in annotations)


def annotated_keys(workload: Workload) -> set[str]:
    """`socketguard.io/` keys set on the workload or its pod template (prefix removed)."""
    keys: set[str] = set()
    for notes in (workload.metadata.annotations, workload.spec.template.metadata.annotations):
        keys.update(k[len(ANNOTATION_PREFIX):] for k in notes if k.startswith(ANNOTATION_PREFIX))
    return keys


def default_server(workload: ObjectRef) -> ServerSpec:
    """The spec assumed for an unannotated workload that a socket.io route reaches."""
    return ServerSpec(workload=workload, inferred=True)


class _AnnotationReader:
    """Reads one workload's annotations; every problem becomes a ContractIssue."""

    def __init__(self, ref: ObjectRef, workload: Workload, raw: dict[str, Any],
                 issues: list[ContractIssue]) -> None:
        self.ref = ref
        self.workload = workload
        self.raw = raw
        self.issues = issues
        self.values: dict[str, str] = {}
        self.paths: dict[str, FieldPath] = {}
        self._collect()

    # -- collection --------------------------------------------------------------------------
    def _collect(self) -> None:
        sources = (
            (("metadata", "annotations"), self.workload.metadata.annotations),
            (("spec", "template", "metadata", "annotations"), self.workload.spec.template.metadata.annotations),
        )
        for base, notes in sources:
            for full_key, value in notes.items():
                if not full_key.startswith(ANNOTATION_PREFIX):
                    continue
                key = full_key[len(ANNOTATION_PREFIX):]
                path = (*base, full_key)
                if key not in KNOWN_KEYS:
                    self._unknown_key(key, path)
                    continue
                if key in self.values and self.values[key] != value:
                    self._issue(path, f"`{full_key}` is {value!r} on the pod template but "
                                      f"{self.values[key]!r} on the workload",
                                ("set the same value in both places, or keep only one of them",))
                    continue
                self.values.setdefault(key, value)
                self.paths.setdefault(key, path)

    def _unknown_key(self, key: str, path: FieldPath) -> None:
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f"did you mean `{ANNOTATION_PREFIX}{close[0]}`?" if close else \
            "see the annotation table in docs/annotations.md"
        self._issue(path, f"unknown annotation `{ANNOTATION_PREFIX}{key}`", (hint,))

    def _issue(self, path: FieldPath, message: str, fixes: Iterable[str] = (), *, code: str = "SG001",
               warning: bool = False) -> None:
        self.issues.append(ContractIssue(code, self.ref, path, message, tuple(fixes), warning))

    def _bad(self, key: str, expected: str) -> None:
        value = self.values[key]
        self._issue(self.paths[key], f"`{ANNOTATION_PREFIX}{key}` is {value!r}, expected {expected}",
                    (f"set `{ANNOTATION_PREFIX}{key}` to {expected}",))

    def _annotations_path(self) -> FieldPath:
        return ("metadata", "annotations")

    def source(self, key: str) -> FieldPath:
        return self.paths.get(key, self._annotations_path())

    # -- typed getters (None: absent or invalid, the issue already recorded) ----------------
    def _get(self, key: str, convert: Callable[[str], Any], expected: str) -> Any:
        if key not in self.values:
            return None
        try:
            return convert(self.values[key].strip())
        except ValueError:
            self._bad(key, expected)
            return None

    def choice(self, key: str, options: Iterable[str]) -> str | None:
        if key not in self.values:  # the common case: skip building the error text
            return None
        allowed = tuple(options)
        result: str | None = self._get(key, lambda v: _one_of(v, allowed), " or ".join(f"`{o}`" for o in allowed))
        return result

    def boolean(self, key: str) -> bool | None:
        value = self.choice(key, ("true", "false"))
        return None if value is None else value == "true"

    def milliseconds(self, key: str) -> int | None:
        result: int | None = self._get(key, _positive_int, "a positive whole number of milliseconds")
        return result

    def items(self, key: str, check: Callable[[str], str] | None = None, expected: str = "") -> list[str] | None:
        if key not in self.values:
            return None
        result: list[str] | None = self._get(key, lambda v: [check(i) if check else i for i in _comma_list(v)],
                         expected or "a comma-separated list")
        return result

    # -- specs -------------------------------------------------------------------------------
    def read(self) -> tuple[ServerSpec | None, ClientSpec | None]:
        self._validate_general()
        roles = self._roles()
        server = self._server() if "server" in roles else None
        client = self._client(pure="server" not in roles) if "client" in roles else None
        if "server" not in roles:
            self._reject_keys(SERVER_KEYS, "a server key on a workload whose role is client", "server")
        if "client" not in roles:
            self._reject_keys(CLIENT_KEYS, "a client key on a workload whose role is server", "client")
        return server, client

    def _roles(self) -> set[str]:
        explicit = self.choice("role", ROLES)
        if explicit is not None:
            return ROLES[explicit]
        keys = set(self.values)
        roles = set()
        if keys & SERVER_KEYS:
            roles.add("server")
        if keys & CLIENT_KEYS:
            roles.add("client")
        # Shared keys alone mean a server; beside client keys they are a pure client's events.
        if not roles and keys & SHARED_KEYS:
            roles.add("server")
        return roles

    def _reject_keys(self, keys: frozenset[str], why: str, missing_role: str) -> None:
        for key in sorted(keys & set(self.values)):
            self._issue(self.paths[key], f"`{ANNOTATION_PREFIX}{key}` is {why}",
                        (f"remove it, or set `socketguard.io/role` to include `{missing_role}`",))

    def _validate_general(self) -> None:
        self.choice("enforce", ENFORCE_MODES)
        self.items("ignore", _rule_code, "a comma-separated list of rule codes such as SG102,SG302")

    def _server(self) -> ServerSpec:
        sources = {key: self.source(key) for key in SERVER_KEYS | SHARED_KEYS}
        path = self._get("path", _socket_path, "an absolute path such as /socket.io")
        path = self._path_from() if path is None and "path-from" in self.values else path
        if path is not None and "path-from" in self.values and "path" in self.values:
            self._issue(self.paths["path-from"], "set either `socketguard.io/path` or "
                        "`socketguard.io/path-from`, not both", ("remove one of them",))
        if "path" not in self.values and "path-from" in self.values:
            sources["path"] = self.source("path-from")
        port = self._get("port", _port, "a container port number (1-65535) or port name")
        origins = self.items("cors-origins", _cors_origin,
                             "`*`, `reflect`, or a comma-separated list of origins like https://app.example.com")
        stack = self.choice("stack", STACKS) or "node"
        credentials = self.boolean("cors-credentials")
        return ServerSpec(
            workload=self.ref,
            inferred=False,
            path=path or "/socket.io",
            port=port,
            stack=stack,  # type: ignore[arg-type]
            add_trailing_slash=_default(self.boolean("add-trailing-slash"), True),
            cors_origins=tuple(origins or ()),
            cors_credentials=_default(credentials, stack != "node"),
            transports=self._transports("transports"),
            ping_interval_ms=_default(self.milliseconds("ping-interval"), 25000),
            ping_timeout_ms=_default(self.milliseconds("ping-timeout"), 20000),
            adapter=self.choice("adapter", ADAPTERS) or "none",
            namespaces=tuple(self.items("namespaces", _namespace, "namespaces such as /,/admin") or ("/",)),
            events=self._events(""),
            probe=_default(self.boolean("probe"), False),
            sources=sources,
        )

    def _client(self, *, pure: bool) -> ClientSpec:
        prefix = "" if pure and not set(self.values) & {"client-transports", "client-emits",
                                                          "client-listens", "client-rooms"} else "client-"
        url = self._get("client-url", _client_url, "a URL such as https://app.example.com or wss://h/")
        if url is None and "client-url-from" in self.values:
            url = self._from_reference("client-url-from", _client_url, "a URL")
        sources = {key: self.source(key) for key in CLIENT_KEYS | SHARED_KEYS}
        if "client-url" not in self.values and "client-url-from" in self.values:
            sources["client-url"] = self.source("client-url-from")
        return ClientSpec(
            workload=self.ref,
            url=url,
            path=self._get("client-path", _socket_path, "an absolute path such as /socket.io") or "/socket.io",
            origin=self._get("client-origin", _origin, "an origin such as https://app.example.com"),
            credentials=_default(self.boolean("client-credentials"), False),
            transports=self._transports(f"{prefix}transports"),
            events=self._events(prefix),
            server=self._get("client-server", self._server_ref, "`namespace/name` of the server workload"),
            sources=sources,
        )

    def _transports(self, key: str) -> frozenset[str]:
        values = self.items(key, _transport, "a subset of polling,websocket")
        if values is not None and not values:
            self._bad(key, "at least one of polling,websocket")
            return ALL_TRANSPORTS
        return frozenset(values) if values else ALL_TRANSPORTS

    def _events(self, prefix: str) -> EventContract:
        emits = self.items(f"{prefix}emits")
        listens = self.items(f"{prefix}listens")
        rooms = self.items(f"{prefix}rooms")
        return EventContract(
            emits=None if emits is None else frozenset(emits),
            listens=None if listens is None else frozenset(listens),
            rooms=None if rooms is None else tuple(rooms),
            sources={name: self.source(f"{prefix}{name}") for name in ("emits", "listens", "rooms")},
        )

    def _server_ref(self, text: str) -> ObjectRef:
        namespace, _, name = text.rpartition("/")
        if not name or "/" in namespace:
            raise ValueError(text)
        return ObjectRef("apps/v1", "Deployment", namespace or self.ref.namespace, name)

    # -- references --------------------------------------------------------------------------
    def _path_from(self) -> str | None:
        return self._from_reference("path-from", _socket_path, "an absolute path such as /socket.io")

    def _from_reference(self, key: str, convert: Callable[[str], str], expected: str) -> str | None:
        """Evaluates a `*-from` JSONPath against the workload object (SG002 when it fails)."""
        expression = self.values[key].strip()
        annotation = f"{ANNOTATION_PREFIX}{key}"
        try:
            matches = parse_jsonpath(expression).find(self.raw)
            if not matches and expression.endswith(".value"):
                matches = parse_jsonpath(expression[: -len(".value")] + ".valueFrom").find(self.raw)
        except Exception as error:  # jsonpath-ng raises several unrelated types on bad input
            self._issue(self.paths[key], f"`{annotation}` is not a valid JSONPath: {error}",
                        ("write it like spec.template.spec.containers[0].env[?(@.name=='SOCKET_PATH')].value",))
            return None
        values = [m.value for m in matches]
        if len(values) != 1 or not isinstance(values[0], str):
            self._unresolved(key, expression, values)
            return None
        try:
            return convert(values[0])
        except ValueError:
            self._issue(self.paths[key], f"`{annotation}` selects {values[0]!r}, expected {expected}",
                        (f"point `{annotation}` at a field holding {expected}",), code="SG002")
            return None

    def _unresolved(self, key: str, expression: str, values: list[Any]) -> None:
        annotation = f"{ANNOTATION_PREFIX}{key}"
        if len(values) > 1:
            message = f"`{annotation}` ({expression}) selects {len(values)} values, expected one string"
        elif values and _is_cluster_reference(values[0]):
            literal = f"{ANNOTATION_PREFIX}{key.removesuffix('-from')}"
            self._issue(self.paths[key], f"`{annotation}` ({expression}) points at a ConfigMap or Secret "
                        f"reference that only the cluster can resolve; the default of `{literal}` is assumed",
                        (f"set `{literal}` to the literal value as well",), code="SG002", warning=True)
            return
        elif values:
            message = f"`{annotation}` ({expression}) selects {_kind_of(values[0])}, expected a string"
        else:
            message = f"`{annotation}` ({expression}) selects nothing in this workload"
        self._issue(self.paths[key], message,
                    ("fix the JSONPath, or set the literal value with the annotation without -from",),
                    code="SG002")
        return


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _is_cluster_reference(value: Any) -> bool:
    return isinstance(value, Mapping) and bool({"configMapKeyRef", "secretKeyRef", "valueFrom"} & set(value))


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _one_of(value: str, options: tuple[str, ...]) -> str:
    normalized = value.replace(" ", "").lower()
    if normalized not in options:
        raise ValueError(value)
    return normalized


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(value)
    return int(value)


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


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
    if not _PORT_NAME.match(value) or value.isdigit():
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


def _transport(value: str) -> str:
    return _one_of(value, ("polling", "websocket"))


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
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError(value)
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(value) from None
    return value
