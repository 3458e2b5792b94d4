"""The annotation contract: `socketguard.io/*` annotations -> validated server/client specs.

Every value is checked; a bad value, an unknown key, or a key whose workload and pod-template
values disagree becomes a located SG001 issue, and a `*-from` JSONPath that selects nothing
usable becomes SG002. The spec then falls back to the default for that field, so one typo
does not hide every other finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.annotations import (
    ALL_TRANSPORTS,
    BY_KEY,
    CLIENT_KEYS,
    GENERAL_KEYS,
    KNOWN_KEYS,
    SERVER_KEYS,
    SHARED_KEYS,
    default_of,
)
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.workloads import Workload
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.values import value_type

Stack = Literal["node", "python-asgi", "python"]
Transport = Literal["polling", "websocket"]
__all__ = ["ALL_TRANSPORTS", "KNOWN_KEYS", "ClientSpec", "ContractIssue", "ContractSet", "EventContract",
           "ServerSpec", "annotated_keys", "default_server", "read_contracts"]


@value_type
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


@value_type
class ServerSpec:
    """A Socket.IO server workload as its annotations (or the routes that reach it) describe it."""

    workload: ObjectRef
    inferred: bool
    path: str = default_of("path")
    port: str | int | None = default_of("port")
    stack: Stack = default_of("stack")
    add_trailing_slash: bool = default_of("add-trailing-slash")
    cors_origins: tuple[str, ...] = default_of("cors-origins")  # ("*",) any, ("reflect",) echo, () same-origin
    cors_credentials: bool = False  # the node default; python stacks default to True (see the reader)
    transports: frozenset[str] = default_of("transports")
    ping_interval_ms: int = default_of("ping-interval")
    ping_timeout_ms: int = default_of("ping-timeout")
    adapter: str = default_of("adapter")
    namespaces: tuple[str, ...] = default_of("namespaces")
    events: EventContract = EventContract()
    probe: bool = default_of("probe")
    # attribute name -> field path of the annotation (or path-from target) that set it
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@value_type
class ClientSpec:
    """A Socket.IO client workload as its annotations describe it: where and how it connects."""

    workload: ObjectRef
    url: str | None = default_of("client-url")  # None: io() with no URL, the page origin
    path: str = default_of("client-path")
    origin: str | None = default_of("client-origin")
    credentials: bool = default_of("client-credentials")
    transports: frozenset[str] = default_of("client-transports")
    events: EventContract = EventContract()
    server: ObjectRef | None = None  # pinned by client-server
    sources: dict[str, FieldPath] = field(default_factory=dict, compare=False)


@value_type
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
    """The annotated servers and clients of an inventory, and what is wrong with their annotations."""

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
    readings: dict[_Annotations, _Reading] = {}
    for workload in inventory.workloads():
        ref = inventory.ref_of(workload)
        annotated, server, client = _read_workload(ref, workload, inventory, contracts.issues, readings)
        if not annotated and ref not in scanned_workloads:
            continue
        if server is None and client is None and (ref, "server") in sources:
            server = ServerSpec(workload=ref, inferred=False)
        if server is not None:
            contracts.servers[ref] = _with_scan(server, sources.get((ref, "server")), contracts.issues)
        if client is not None:
            contracts.clients[ref] = _with_scan(client, sources.get((ref, "client")), contracts.issues)
    return contracts


SpecT = TypeVar("SpecT", ServerSpec, ClientSpec)
# A workload's annotations and its pod template's, in order: what its reading depends on.
_Annotations = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
# Whether any `socketguard.io/` annotation is set, the specs and the issues of one reading.
_Reading = tuple[bool, ServerSpec | None, ClientSpec | None, list[ContractIssue]]
# Keys whose reading depends on more than the annotation texts: the workload object, its namespace.
_WORKLOAD_DEPENDENT_KEYS = frozenset(key for key in KNOWN_KEYS if key.endswith("-from")) | {"client-server"}


def _read_workload(ref: ObjectRef, workload: Workload, inventory: Inventory, issues: list[ContractIssue],
                   readings: dict[_Annotations, _Reading]) -> tuple[bool, ServerSpec | None, ClientSpec | None]:
    """Whether the workload is annotated, and its specs; its issues are appended to `issues`.

    Workloads stamped from one template (a service in every namespace or environment) carry the
    same annotations, and their reading then differs only in the workload named: one reading is
    kept per set of annotation texts and given to the next workload under its own name.
    """
    texts = (tuple(workload.metadata.annotations.items()), tuple(workload.spec.template.metadata.annotations.items()))
    known = readings.get(texts)
    if known is not None:
        annotated, server, client, found = known
        issues.extend(replace(issue, subject=ref) for issue in found)
        return (annotated, None if server is None else replace(server, workload=ref),
                None if client is None else replace(client, workload=ref))
    start = len(issues)
    reader = _AnnotationReader(ref, workload, inventory, issues)
    # A workload with no annotation of ours is read only when a source scan names it (the caller).
    server, client = reader.read() if reader.annotated else (None, None)
    if _WORKLOAD_DEPENDENT_KEYS.isdisjoint(reader.values):
        readings[texts] = (reader.annotated, server, client, issues[start:])
    return reader.annotated, server, client


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


# Where a workload's annotations are: its own, then its pod template's.
_ANNOTATION_PATHS: tuple[FieldPath, FieldPath] = (("metadata", "annotations"),
                                                  ("spec", "template", "metadata", "annotations"))
# What `_AnnotationReader` asks of every workload, worked out once.
_GENERAL_KEYS_READ = tuple(sorted(GENERAL_KEYS - {"role"}))
_SERVER_SOURCE_KEYS = tuple(sorted(SERVER_KEYS | SHARED_KEYS))
_CLIENT_SOURCE_KEYS = tuple(sorted(CLIENT_KEYS | SHARED_KEYS))
_PAGE_KEYS = frozenset(f"client-{key}" for key in SHARED_KEYS)  # a page's own events beside a server's


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
    """Reads one workload's annotations through the annotation table; every problem becomes a ContractIssue."""

    def __init__(self, ref: ObjectRef, workload: Workload, inventory: Inventory,
                 issues: list[ContractIssue]) -> None:
        self.ref = ref
        self.inventory = inventory  # the raw workload, for `*-from` JSONPaths only
        self.issues = issues
        self.values: dict[str, str] = {}
        self.paths: dict[str, FieldPath] = {}
        self.annotated = False  # whether any `socketguard.io/` annotation is set
        self._collect(workload.metadata.annotations, _ANNOTATION_PATHS[0])
        self._collect(workload.spec.template.metadata.annotations, _ANNOTATION_PATHS[1])

    # -- collection --------------------------------------------------------------------------
    def _collect(self, annotations: dict[str, str], where: FieldPath) -> None:
        prefix_length = len(ANNOTATION_PREFIX)
        for full_key, value in annotations.items():
            if not full_key.startswith(ANNOTATION_PREFIX):
                continue
            self.annotated = True
            key = full_key[prefix_length:]
            path = (*where, full_key)
            if key not in KNOWN_KEYS:
                self._unknown_key(key, path)
                continue
            known = self.values.get(key)
            if known is None:
                self.values[key] = value
                self.paths[key] = path
            elif known != value:
                self._issue(path, f"`{full_key}` is {value!r} on the pod template but {known!r} on the workload",
                            ("set the same value in both places, or keep only one of them",))

    def _unknown_key(self, key: str, path: FieldPath) -> None:
        import difflib  # only for a misspelt key

        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f"did you mean `{ANNOTATION_PREFIX}{close[0]}`?" if close else \
            "see the annotation table in docs/annotations.md"
        self._issue(path, f"unknown annotation `{ANNOTATION_PREFIX}{key}`", (hint,))

    def _issue(self, path: FieldPath, message: str, fixes: Iterable[str] = (), *, code: str = "SG001",
               warning: bool = False) -> None:
        self.issues.append(ContractIssue(code, self.ref, path, message, tuple(fixes), warning))

    def source(self, key: str) -> FieldPath:
        return self.paths.get(key, _ANNOTATION_PATHS[0])

    def _sources(self, keys: tuple[str, ...]) -> dict[str, FieldPath]:
        """`source(key)` of each key."""
        paths, annotations = self.paths, _ANNOTATION_PATHS[0]
        return {key: paths.get(key, annotations) for key in keys}

    # -- values (None: absent or invalid, the issue already recorded) ------------------------
    def value(self, key: str) -> Any:
        text = self.values.get(key)
        if text is None:
            return None
        annotation = BY_KEY[key]
        try:
            return annotation.read(text)
        except ValueError:
            self._issue(self.paths[key], f"`{annotation.name}` is {text!r}, expected {annotation.expected}",
                        (f"set `{annotation.name}` to {annotation.expected}",))
            return None

    def value_or_default(self, key: str) -> Any:
        return _default(self.value(key), default_of(key))

    # -- specs -------------------------------------------------------------------------------
    def read(self) -> tuple[ServerSpec | None, ClientSpec | None]:
        for key in _GENERAL_KEYS_READ:
            self.value(key)
        roles = self._roles()
        server = self._server() if "server" in roles else None
        client = self._client(pure="server" not in roles) if "client" in roles else None
        if "server" not in roles:
            self._reject_keys(SERVER_KEYS, "a server key on a workload whose role is client", "server")
        if "client" not in roles:
            self._reject_keys(CLIENT_KEYS, "a client key on a workload whose role is server", "client")
        return server, client

    def _roles(self) -> frozenset[str]:
        explicit: frozenset[str] | None = self.value("role")
        if explicit is not None:
            return explicit
        keys = set(self.values)
        roles = set()
        if keys & SERVER_KEYS:
            roles.add("server")
        if keys & CLIENT_KEYS:
            roles.add("client")
        # Shared keys alone mean a server; beside client keys they are a pure client's events.
        if not roles and keys & SHARED_KEYS:
            roles.add("server")
        return frozenset(roles)

    def _reject_keys(self, keys: frozenset[str], why: str, missing_role: str) -> None:
        for key in sorted(keys & set(self.values)):
            self._issue(self.paths[key], f"`{ANNOTATION_PREFIX}{key}` is {why}",
                        (f"remove it, or set `socketguard.io/role` to include `{missing_role}`",))

    def _server(self) -> ServerSpec:
        sources = self._sources(_SERVER_SOURCE_KEYS)
        path = self._literal_or_reference("path", "path-from", sources, exclusive=True)
        stack = self.value_or_default("stack")
        return ServerSpec(
            workload=self.ref,
            inferred=False,
            path=path or default_of("path"),
            port=self.value("port"),
            stack=stack,
            add_trailing_slash=self.value_or_default("add-trailing-slash"),
            cors_origins=self.value_or_default("cors-origins"),
            cors_credentials=_default(self.value("cors-credentials"), stack != "node"),
            transports=self.value_or_default("transports"),
            ping_interval_ms=self.value_or_default("ping-interval"),
            ping_timeout_ms=self.value_or_default("ping-timeout"),
            adapter=self.value_or_default("adapter"),
            namespaces=self.value_or_default("namespaces"),
            events=self._events(""),
            probe=self.value_or_default("probe"),
            sources=sources,
        )

    def _client(self, *, pure: bool) -> ClientSpec:
        prefix = "" if pure and _PAGE_KEYS.isdisjoint(self.values) else "client-"
        sources = self._sources(_CLIENT_SOURCE_KEYS)
        url = self._literal_or_reference("client-url", "client-url-from", sources)
        server: tuple[str, str] | None = self.value("client-server")
        return ClientSpec(
            workload=self.ref,
            url=url,
            path=self.value_or_default("client-path"),
            origin=self.value("client-origin"),
            credentials=self.value_or_default("client-credentials"),
            transports=self.value_or_default(f"{prefix}transports"),
            events=self._events(prefix),
            server=None if server is None else ObjectRef(
                "apps/v1", "Deployment", server[0] or self.ref.namespace, server[1]),
            sources=sources,
        )

    def _literal_or_reference(self, key: str, reference: str, sources: dict[str, FieldPath], *,
                              exclusive: bool = False) -> Any:
        """The key's own value, else what its `*-from` JSONPath selects (the source then follows it)."""
        value = self.value(key)
        if reference not in self.values:
            return value
        if value is None:
            value = self._from_reference(reference)
        if key not in self.values:
            sources[key] = self.source(reference)
        elif exclusive and value is not None:
            self._issue(self.paths[reference], f"set either `{BY_KEY[key].name}` or "
                        f"`{BY_KEY[reference].name}`, not both", ("remove one of them",))
        return value

    def _events(self, prefix: str) -> EventContract:
        return EventContract(
            emits=self.value(f"{prefix}emits"),
            listens=self.value(f"{prefix}listens"),
            rooms=self.value(f"{prefix}rooms"),
            sources={name: self.source(f"{prefix}{name}") for name in ("emits", "listens", "rooms")},
        )

    # -- references --------------------------------------------------------------------------
    def _from_reference(self, key: str) -> Any:
        """Evaluates a `*-from` JSONPath against the workload object (SG002 when it fails)."""
        expression = self.values[key].strip()
        annotation = f"{ANNOTATION_PREFIX}{key}"
        from jsonpath_ng.ext import parse as parse_jsonpath  # only for `*-from` annotations

        raw = self.inventory.raw(self.ref) or {}
        try:
            matches = parse_jsonpath(expression).find(raw)
            if not matches and expression.endswith(".value"):
                matches = parse_jsonpath(expression[: -len(".value")] + ".valueFrom").find(raw)
        except Exception as error:  # jsonpath-ng raises several unrelated types on bad input
            self._issue(self.paths[key], f"`{annotation}` is not a valid JSONPath: {error}",
                        ("write it like spec.template.spec.containers[0].env[?(@.name=='SOCKET_PATH')].value",))
            return None
        values = [m.value for m in matches]
        if len(values) != 1 or not isinstance(values[0], str):
            self._unresolved(key, expression, values)
            return None
        target = BY_KEY[BY_KEY[key].refers_to]
        try:
            return target.read(values[0])
        except ValueError:
            self._issue(self.paths[key], f"`{annotation}` selects {values[0]!r}, expected {target.expected}",
                        (f"point `{annotation}` at a field holding {target.expected}",), code="SG002")
            return None

    def _unresolved(self, key: str, expression: str, values: list[Any]) -> None:
        annotation = f"{ANNOTATION_PREFIX}{key}"
        if len(values) > 1:
            message = f"`{annotation}` ({expression}) selects {len(values)} values, expected one string"
        elif values and _is_cluster_reference(values[0]):
            literal = BY_KEY[BY_KEY[key].refers_to].name
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
