"""Objects by kind, namespace and name, with the indexes routing needs; add/remove one at a time.

The indexes between objects (host -> routes of every router kind, Service -> routes, workload ->
HPAs, ...) are one `RelationIndex` fed by the edge functions of `socketguard.engine.relations`;
the Istio-named accessors (`virtual_services_for_host`, ...) are thin wrappers over it kept for
the routers that call them, `routes_for_host` and `related` are the generic ones.

The CLI fills an inventory from files, the operator and webhook from watches: the same object
gives the same view, because the views apply the API server's defaults rather than trusting
whatever a file omits.

The operator and the webhook hold every watched object for as long as they run, tens of
thousands of them, so a `compact` inventory keeps each object as it was added as JSON text
(decoded again when read, the last few hundred decoded kept: a watched object is JSON to begin
with) and lets its view share what equal views hold anyway: the set of fields each model was
given, and equal strings.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from socketguard import ANNOTATION_PREFIX
from socketguard.engine import models
from socketguard.engine.models import CLUSTER_SCOPED_KINDS, ISTIO_GROUP, MODELS, WORKLOAD_GROUPS, WORKLOAD_KINDS
from socketguard.engine.models.base import KubeObject, validate_view
from socketguard.engine.models.istio import DestinationRule, Gateway, VirtualService
from socketguard.engine.models.removed import RemovedVersion, removed_version, served_form
from socketguard.engine.models.services import HorizontalPodAutoscaler, Service
from socketguard.engine.models.workloads import Workload
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.relations import (
    CLIENT_HOST,
    GATEWAY_HOST,
    POLICY_HOST,
    ROUTE_HOST,
    ROUTE_SERVICE,
    SCALES,
    Link,
    RelationIndex,
    links_of,
)

if TYPE_CHECKING:
    pass

ViewT = TypeVar("ViewT", bound=KubeObject)
GroupKind = tuple[str, str]
Key = tuple[str, str, str, str]  # group, kind, namespace, name: identity across API versions

IGNORE_ANNOTATION = f"{ANNOTATION_PREFIX}ignore"
VIRTUAL_SERVICE = "VirtualService"
NO_CODES: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an object could not be read: the field and what is wrong with it."""

    path: FieldPath
    message: str


class Entry(NamedTuple):
    """One object as added, with its view (None when unreadable), its problems and its relations.

    A named tuple: one is made per added object, and a tuple is built in C.
    """

    ref: ObjectRef
    source: dict[str, Any] | str  # the object as added; JSON text in a compact inventory
    view: KubeObject | None
    problems: tuple[Problem, ...] = ()
    links: tuple[Link, ...] = ()  # its relations to other objects (see `socketguard.engine.relations`)
    ignored: frozenset[str] = NO_CODES  # the rule codes its `socketguard.io/ignore` annotation names
    removed: RemovedVersion | None = None  # the no longer served apiVersion it is written in (SG006)

    @property
    def raw(self) -> dict[str, Any]:
        """The object as added (read-only, as always: decoded objects are shared while recently read)."""
        source = self.source
        return _decoded(source) if isinstance(source, str) else source


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def identity_problems(raw: Any) -> list[Problem]:
    """What keeps a document from being a Kubernetes object at all (no kind, no name, ...)."""
    if _has_identity(raw):
        return []  # nearly every object: one expression, no list built
    if not isinstance(raw, dict):
        return [Problem((), f"expected a Kubernetes object (a mapping), got {_type_name(raw)}")]
    problems = [
        Problem((field,), f"`{field}` must be a non-empty string")
        for field in ("apiVersion", "kind")
        if not isinstance(raw.get(field), str) or not raw.get(field)
    ]
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict):
        problems.append(Problem(("metadata",), "`metadata` must be a mapping with a `name`"))
        return problems
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(("metadata", "name"), "`metadata.name` must be a non-empty string"))
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        problems.append(Problem(("metadata", "namespace"), "`metadata.namespace` must be a string"))
    return problems


def _has_identity(raw: Any) -> bool:
    metadata = raw.get("metadata") if type(raw) is dict else None
    return (type(metadata) is dict and _is_text(raw.get("apiVersion")) and _is_text(raw.get("kind"))
            and _is_text(metadata.get("name")) and isinstance(metadata.get("namespace"), str | None))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _ignored_codes(raw: dict[str, Any]) -> frozenset[str]:
    """The codes of `socketguard.io/ignore` (read once per added object: every finding asks)."""
    annotations = raw["metadata"].get("annotations")
    value = annotations.get(IGNORE_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return NO_CODES
    return frozenset(code.strip().upper() for code in value.split(",") if code.strip())


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


class InvalidObjectError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class Inventory:
    def __init__(self, default_namespace: str = "default", *, compact: bool = False, views: bool = True) -> None:
        self.default_namespace = default_namespace
        self.compact = compact  # long-lived and large: objects kept as JSON text, views shared (see above)
        # False: a store of objects only (no views, problems or relations), for a caller that
        # analyses inventories of its own built from it (the operator, one per evaluation).
        self.keeps_views = views
        self._entries: dict[Key, Entry] = {}
        self._by_kind: dict[GroupKind, dict[str, dict[str, KubeObject]]] = defaultdict(dict)
        self._by_namespace: dict[str, set[Key]] = defaultdict(set)
        self._refs: dict[int, ObjectRef] = {}  # id(view) -> ref, for views held by this inventory
        # Every relation between objects (hosts, Services, Gateways, targets), one model for all kinds.
        self.relations = RelationIndex()
        self._counts: dict[GroupKind, int] = defaultdict(int)  # readable objects by kind
        self._ordered: dict[GroupKind, list[KubeObject]] = {}  # views() of a kind, in order; dropped on change
        self._whole_kinds: frozenset[GroupKind] | None = None  # set on a subset: the kinds of its whole
        self._templated: dict[Key, tuple[int, Workload]] = {}  # Rollouts given their workloadRef's template
        self.revision = 0

    # -- changes ---------------------------------------------------------------------------
    def add(self, raw: dict[str, Any]) -> ObjectRef:
        """Add or replace an object; raises InvalidObjectError only when it has no identity.

        An object whose fields have wrong types is kept with its problems (reported as SG003)
        and without a view, so no rule reasons about half-read data.
        """
        problems = identity_problems(raw)
        if problems:
            raise InvalidObjectError(problems)
        source: dict[str, Any] | str = raw
        if self.compact:
            source = _as_text(raw)
            # What is kept is built from the text, so none of it shares memory with the caller's
            # object: kept strings would pin the freed rest of a large listing in the heap.
            raw = _decoded(source) if isinstance(source, str) else raw
        served = served_form(raw)  # a removed API version, converted as the API server did (SG006)
        ref = self._ref(served)
        key = self._key(ref)
        if key in self._entries:
            self._unindex(self._entries[key])
        model = MODELS.get(key[:2])  # by (group, kind)
        view, problems = (None, []) if model is None or not self.keeps_views else _validate(model, served)
        # A kind without a view (IngressClass) relates by its raw fields; an invalid object by none.
        links = links_of(ref, served) if self.keeps_views and (view is not None or model is None) else ()
        removed = None if served is raw else removed_version(raw["apiVersion"], ref.kind)
        entry = Entry(ref, source, _shared(view) if self.compact else view, tuple(problems), links,
                      _ignored_codes(raw), removed)
        self._entries[key] = entry
        self._index(entry, key)
        self.revision += 1
        return ref

    def restore(self, ref: ObjectRef, entry: Entry | None) -> None:
        """Put back an entry taken earlier with `entry(ref)` (None: the object was absent).

        For evaluate-with-a-change-then-undo (the admission webhook): no re-validation.
        """
        key = self._key(ref)
        current = self._entries.pop(key, None)
        if current is not None:
            self._unindex(current)
        if entry is not None:
            key = self._key(entry.ref)
            self._entries[key] = entry
            self._index(entry, key)
        self.revision += 1

    def remove(self, ref: ObjectRef) -> bool:
        entry = self._entries.pop(self._key(ref), None)
        if entry is None:
            return False
        self._unindex(entry)
        self.revision += 1
        return True

    def _ref(self, raw: dict[str, Any]) -> ObjectRef:
        """The ref of an object with an identity (see `identity_problems`), namespace defaulted."""
        metadata, kind = raw["metadata"], raw["kind"]
        namespace = metadata.get("namespace") or ("" if kind in CLUSTER_SCOPED_KINDS else self.default_namespace)
        return ObjectRef(raw["apiVersion"], kind, namespace, metadata["name"])

    @staticmethod
    def _key(ref: ObjectRef) -> Key:
        return (ref.group, ref.kind, ref.namespace, ref.name)

    def _index(self, entry: Entry, key: Key) -> None:
        view, ref = entry.view, entry.ref
        self._by_namespace[ref.namespace].add(key)
        if view is None:
            # An unreadable object is routed nowhere (no links); a kind without a view may have some.
            self.relations.update(ref, entry.links or None)
            return
        self._refs[id(view)] = ref
        group_kind = key[:2]
        self._by_kind[group_kind].setdefault(ref.namespace, {})[ref.name] = view
        self._ordered.pop(group_kind, None)
        self._counts[group_kind] += 1
        self.relations.update(ref, entry.links)

    def _unindex(self, entry: Entry) -> None:
        view, ref = entry.view, entry.ref
        in_namespace = self._by_namespace.get(ref.namespace)
        if in_namespace is not None:
            in_namespace.discard(self._key(ref))
            if not in_namespace:
                del self._by_namespace[ref.namespace]
        if view is None:
            self.relations.update(ref, None)
            return
        self._refs.pop(id(view), None)
        by_namespace = self._by_kind[(ref.group, ref.kind)]
        self._ordered.pop((ref.group, ref.kind), None)
        self._counts[(ref.group, ref.kind)] -= 1
        names = by_namespace.get(ref.namespace, {})
        names.pop(ref.name, None)
        if not names:
            by_namespace.pop(ref.namespace, None)
        self.relations.update(ref, None)

    # -- reads -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ref: ObjectRef) -> bool:
        return self._key(ref) in self._entries

    def entries(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def entry(self, ref: ObjectRef) -> Entry | None:
        return self._entries.get(self._key(ref))

    def raw(self, ref: ObjectRef) -> dict[str, Any] | None:
        entry = self.entry(ref)
        return None if entry is None else entry.raw

    def rejected(self) -> Iterator[Entry]:
        return (entry for entry in self._entries.values() if entry.problems)

    def views(self, group: str, kind: str, namespace: str | None = None) -> Iterator[KubeObject]:
        """The views of a kind by (namespace, name): the same order in a subset as in its whole, so
        a rule that names the first of several objects names the same one in a scoped analysis."""
        by_namespace = self._by_kind.get((group, kind), {})
        if namespace is not None:
            names = by_namespace.get(namespace, {})
            yield from (names[name] for name in sorted(names))
            return
        ordered = self._ordered.get((group, kind))
        if ordered is None:
            ordered = self._ordered[(group, kind)] = [
                names[name] for ns in sorted(by_namespace) for names in (by_namespace[ns],) for name in sorted(names)]
        yield from ordered

    def view(self, group: str, kind: str, namespace: str, name: str) -> KubeObject | None:
        entry = self._entries.get((group, kind, namespace, name))  # one lookup: rules ask for views by the thousand
        return None if entry is None else entry.view

    def namespaces(self) -> set[str]:
        return {namespace for namespace in self._by_namespace if namespace}

    def workloads(self, namespace: str | None = None) -> Iterator[Workload]:
        for kind in sorted(WORKLOAD_KINDS):
            for view in self.views(WORKLOAD_GROUPS[kind], kind, namespace):
                assert isinstance(view, Workload)
                yield self._with_template(view)

    def workload(self, kind: str, namespace: str, name: str) -> Workload | None:
        view = self.view(WORKLOAD_GROUPS.get(kind, "apps"), kind, namespace, name)
        return self._with_template(view) if isinstance(view, Workload) else None

    def _with_template(self, workload: Workload) -> Workload:
        """A Rollout with a `workloadRef` gets the pod template of the workload it names."""
        # Only a Rollout has a workloadRef (the kind first: its view module loads when a Rollout is met).
        reference = (workload.spec.workload_ref
                     if workload.kind == "Rollout" and isinstance(workload, models.argo.Rollout) else None)
        if reference is None or workload.spec.template.metadata.labels:
            return workload
        key = self._key(self.ref_of(workload))
        cached = self._templated.get(key)
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        target = self.view(WORKLOAD_GROUPS.get(reference.kind, "apps"), reference.kind,
                           workload.metadata.namespace or self.default_namespace, reference.name)
        assert isinstance(workload, models.argo.Rollout)
        resolved = workload.with_template(target.spec.template) if isinstance(target, Workload) else workload
        self._templated[key] = (self.revision, resolved)
        return resolved

    def services(self, namespace: str | None = None) -> Iterator[Service]:
        return _typed(self.views("", "Service", namespace), Service)

    def service(self, namespace: str, name: str) -> Service | None:
        view = self.view("", "Service", namespace, name)
        return view if isinstance(view, Service) else None

    def virtual_services(self) -> Iterator[VirtualService]:
        return _typed(self.views(ISTIO_GROUP, "VirtualService"), VirtualService)

    # -- relations (see `socketguard.engine.relations`) -------------------------------------
    def routes_for_host(self, host: str) -> list[ObjectRef]:
        """Routes of every router kind whose host meets `host` (equal, or a wildcard either way)."""
        return sorted(self.relations.for_host(ROUTE_HOST, host))

    def related(self, ref: ObjectRef) -> set[ObjectRef]:
        """The objects one relation away from `ref`, in either direction."""
        return self.relations.related(ref)

    def virtual_services_for_host(self, host: str) -> list[VirtualService]:
        """VirtualServices listing exactly this host text (lower-cased); wildcards are the caller's."""
        return self._views(self.relations.find(ROUTE_HOST, host.lower()), VirtualService)

    def virtual_services_meeting(self, host: str) -> list[VirtualService]:
        """VirtualServices with a host that meets `host` (equal, or a wildcard either way), in
        `virtual_services()` order: a lookup, where a scan of them all per host would be squared work."""
        refs = [ref for ref in self.relations.for_host(ROUTE_HOST, host) if ref.kind == VIRTUAL_SERVICE]
        return sorted(self._views(refs, VirtualService), key=lambda vs: (self.ref_of(vs).namespace, vs.metadata.name))

    def virtual_service_hosts(self) -> list[str]:
        """Thin wrapper over the relation index: the hosts VirtualServices list."""
        return self._route_hosts(self.relations.values(ROUTE_HOST), VIRTUAL_SERVICE)

    def wildcard_virtual_service_hosts(self) -> list[str]:
        """The `*...` host patterns of VirtualServices (few: no scan of every routed host)."""
        return self._route_hosts(self.relations.patterns(ROUTE_HOST), VIRTUAL_SERVICE)

    def gateways_for_host(self, host: str) -> list[Gateway]:
        """Istio Gateways with a server host (exact or wildcard) that serves `host`."""
        return self._views(self.relations.for_host(GATEWAY_HOST, host), Gateway)

    def destination_rules_for_host(self, host: str) -> list[DestinationRule]:
        if not self.count(ISTIO_GROUP, "DestinationRule"):
            return []  # routing asks for every destination of every route: no lookup when there are none
        return self._views(self.relations.find(POLICY_HOST, host.lower()), DestinationRule)

    def destination_rules(self) -> Iterator[DestinationRule]:
        return _typed(self.views(ISTIO_GROUP, "DestinationRule"), DestinationRule)

    def gateway(self, namespace: str, name: str) -> Gateway | None:
        view = self.view(ISTIO_GROUP, "Gateway", namespace, name)
        return view if isinstance(view, Gateway) else None

    def gateways(self) -> Iterator[Gateway]:
        return _typed(self.views(ISTIO_GROUP, "Gateway"), Gateway)

    def autoscalers_for(self, workload: Workload) -> list[HorizontalPodAutoscaler]:
        if not self.count("autoscaling", "HorizontalPodAutoscaler"):
            return []  # no lookup per workload in an inventory without HPAs
        target = (workload.metadata.namespace or self.default_namespace, workload.kind, workload.metadata.name)
        return self._views(self.relations.find(SCALES, target), HorizontalPodAutoscaler)

    def count(self, group: str, kind: str) -> int:
        """How many readable objects of this kind this inventory holds."""
        return self._counts.get((group, kind), 0)

    def has_kind(self, group: str, kind: str) -> bool:
        """Whether any object of this kind exists; a subset answers for the whole it was taken from."""
        if self._whole_kinds is not None:
            return (group, kind) in self._whole_kinds
        return bool(self._by_kind.get((group, kind)))

    def ignored_codes(self, ref: ObjectRef) -> frozenset[str]:
        entry = self.entry(ref)
        return NO_CODES if entry is None else entry.ignored

    def ref_of(self, view: KubeObject) -> ObjectRef:
        known = self._refs.get(id(view))
        if known is not None:
            return known
        meta = view.metadata
        return ObjectRef(view.api_version, view.kind, meta.namespace or self.default_namespace, meta.name)

    def virtual_services_to(self, namespace: str, service: str) -> list[VirtualService]:
        """VirtualServices naming this Service (a destination, a mirror, or a host)."""
        return self._views(self.relations.find(ROUTE_SERVICE, (namespace, service)), VirtualService)

    def other_routes_for_host(self, host: str) -> list[ObjectRef]:
        """Thin wrapper: HTTPRoutes and Ingresses listing exactly this host ("*" for none)."""
        host = host.lower() or "*"
        return sorted(ref for ref in self.relations.find(ROUTE_HOST, host) if ref.kind != VIRTUAL_SERVICE)

    def other_route_hosts(self) -> list[str]:
        """Thin wrapper: the hosts HTTPRoutes and Ingresses list."""
        return self._route_hosts(self.relations.values(ROUTE_HOST), None)

    def wildcard_other_route_hosts(self) -> list[str]:
        return self._route_hosts(self.relations.patterns(ROUTE_HOST), None)

    def clients_of_host(self, host: str) -> list[Workload]:
        """Workloads whose handshake host (`client-url`, else `client-origin`) meets this host."""
        return self._views(self.relations.for_host(CLIENT_HOST, host), Workload)

    def _route_hosts(self, hosts: Iterable[Hashable], kind: str | None) -> list[str]:
        """The hosts listed by routes of `kind` (None: every kind but VirtualService)."""
        found = []
        for host in hosts:
            kinds = {ref.kind for ref in self.relations.find(ROUTE_HOST, host)}
            if isinstance(host, str) and (kind in kinds if kind else kinds - {VIRTUAL_SERVICE}):
                found.append(host)
        return found

    def refs_in_namespace(self, namespace: str) -> list[ObjectRef]:
        return [self._entries[key].ref for key in sorted(self._by_namespace.get(namespace, ()))]

    def subset(self, refs: Iterable[ObjectRef]) -> Inventory:
        """A new inventory holding these objects, sharing their views (no re-validation).

        It answers `has_kind` for the whole inventory: whether a kind exists at all is a fact
        about the whole, which a part must not contradict.
        """
        part = Inventory(self.default_namespace)
        part._whole_kinds = self._whole_kinds if self._whole_kinds is not None else frozenset(
            group_kind for group_kind, by_namespace in self._by_kind.items() if by_namespace)
        for ref in refs:
            entry = self.entry(ref)
            if entry is not None:
                key = self._key(entry.ref)
                part._entries[key] = entry
                part._index(entry, key)
        return part

    def _views(self, refs: Iterable[ObjectRef], cls: type[ViewT]) -> list[ViewT]:
        found = []
        for ref in sorted(refs):
            entry = self.entry(ref)
            if entry is not None and isinstance(entry.view, cls):
                found.append(entry.view)
        return found


def _typed(views: Iterator[KubeObject], cls: type[ViewT]) -> Iterator[ViewT]:
    return (view for view in views if isinstance(view, cls))


@functools.lru_cache(maxsize=512)  # one review or evaluation reads a few objects, some many times
def _decoded(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _as_text(raw: dict[str, Any]) -> dict[str, Any] | str:
    """JSON text of the object, or the object itself when JSON cannot spell it (a YAML date, ...)."""
    try:
        return json.dumps(raw, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return raw


# One instance per distinct set of given fields: views of one kind mostly share a handful.
_FIELD_SETS: dict[frozenset[str], set[str]] = {}


def _shared(view: ViewT | None) -> ViewT | None:
    """The view with its field sets shared and its strings interned (equal values, one object).

    Views are frozen, so sharing cannot show; pydantic copies the field set before a
    `model_copy(update=...)` changes it.
    """
    if view is not None:
        _share_model(view)
    return view


def _share_model(model: BaseModel) -> None:
    given = frozenset(model.__pydantic_fields_set__)
    object.__setattr__(model, "__pydantic_fields_set__", _FIELD_SETS.setdefault(given, set(given)))
    values = model.__dict__
    for name, value in values.items():
        values[name] = _share_value(value)


def _share_value(value: Any) -> Any:
    if type(value) is str:  # sys.intern takes no subclass (a str enum member)
        return sys.intern(value)
    if isinstance(value, BaseModel):
        _share_model(value)
    elif isinstance(value, list):
        value[:] = [_share_value(item) for item in value]
    elif isinstance(value, dict):
        shared = {sys.intern(k) if type(k) is str else k: _share_value(v) for k, v in value.items()}
        value.clear()
        value.update(shared)
    return value


def _validate(model: type[KubeObject], raw: dict[str, Any]) -> tuple[KubeObject | None, list[Problem]]:
    try:
        return validate_view(model, raw), []
    except ValidationError as error:
        return None, [_problem(raw, item) for item in error.errors(include_url=False)]


def _problem(raw: dict[str, Any], error_item: Any) -> Problem:
    """Maps pydantic's error location onto the raw object (union member tags dropped)."""
    path: list[str | int] = []
    current: Any = raw
    for segment in error_item["loc"]:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and isinstance(segment, int) and segment < len(current):
            current = current[segment]
        elif error_item["type"] == "missing" and isinstance(segment, str):
            return Problem(tuple(path), f"`{segment}` is required")
        else:
            continue
        path.append(segment)
    return Problem(tuple(path), _describe(error_item))


def _describe(error_item: Any) -> str:
    found = error_item.get("input")
    shown = repr(found) if isinstance(found, str | int | float | bool) or found is None else _type_name(found)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{error_item['msg'].rstrip('.')} (found {shown})"
