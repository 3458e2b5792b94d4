"""Watch events -> the engine's incremental ``Inventory``: small views, no managedFields, no status.

A ``Feed`` registers kopf handlers into any ``kopf.OperatorRegistry``, so the operator and the
admission webhook (its own read-only copy, in its own standalone kopf) share the same code.

Objects arrive through plain ``on.event`` handlers: kopf passes every listed object (``type``
None), then every watch event. kopf's index handlers would prove the listing complete, but
kopf makes every listed object's task wait for all the others, with work quadratic in their
number (a restart over 30,000 objects did not finish in ten minutes). So completeness is
proven by a listing of our own instead (``Resync.fill``): once kopf delivers, every watched kind
is listed (names only), and the feed is ``ready`` when each listed object has arrived through
kopf or been deleted since (``expect``); objects created meanwhile are simply not awaited.

What is stored is a view without ``status``: our own status writes (and the controllers' status
updates) change nothing in it, so they never trigger an evaluation. Only our condition is kept
aside, to compare before writing and to read back after a restart.

kopf lists again whenever a watch restarts (a paused replica resumes, a watch expired with
``410 Gone``, the API server came back), but objects deleted meanwhile never arrive as
``DELETED``. A listed object after the feed is ready is such a re-list: ``on_relist`` listeners
then compare with a listing of their own and ``sweep`` the gone ones.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import kopf
from kopf._cogs.structs.bodies import RawBody
from kopf._cogs.structs.ephemera import AnyMemo
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

from socketguard.cluster.kube import PAGE_SIZE
from socketguard.cluster.rescan import CrdRescan
from socketguard.cluster.versions import KindVersions
from socketguard.engine.inventory import InvalidObjectError, Inventory
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)
T = TypeVar("T")

CONDITION_TYPE = "SocketRouteReady"
ISTIO_GROUP = "networking.istio.io"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
TRAEFIK_GROUP = "traefik.io"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
IDLE_WORKER_S = 0.5  # see `feed_settings`


@dataclass(frozen=True)
class WatchedKind:
    """A kind the feed watches: kopf selector text and the (group, kind) the engine knows it by."""

    selector: tuple[str, ...]
    group: str
    kind: str
    plural: str
    crd: bool = False  # only served when its CRD exists
    cluster_scoped: bool = False  # listed cluster-wide even when the operator watches some namespaces

    @property
    def version(self) -> str | None:
        """The watched version, or None for a CRD kind (the API server's preferred one)."""
        return self.selector[1] if len(self.selector) == 3 else None

    @property
    def group_kind(self) -> str:
        """As `ObjectRef.group_kind`: `Deployment.apps`, `Service`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def handler_id(self) -> str:
        """Unique across groups: Istio and Gateway API both have `gateways`."""
        return self.plural if self.group in ("", "apps", "autoscaling", ISTIO_GROUP) else f"{self.plural}.{self.group}"


INPUT_KINDS: tuple[WatchedKind, ...] = (
    WatchedKind(("apps", "v1", "deployments"), "apps", "Deployment", "deployments"),
    WatchedKind(("apps", "v1", "statefulsets"), "apps", "StatefulSet", "statefulsets"),
    WatchedKind(("apps", "v1", "daemonsets"), "apps", "DaemonSet", "daemonsets"),
    WatchedKind(("", "v1", "services"), "", "Service", "services"),
    WatchedKind(("autoscaling", "v2", "horizontalpodautoscalers"), "autoscaling", "HorizontalPodAutoscaler",
                "horizontalpodautoscalers"),
    WatchedKind((f"virtualservices.{ISTIO_GROUP}",), ISTIO_GROUP, "VirtualService", "virtualservices", crd=True),
    WatchedKind((f"destinationrules.{ISTIO_GROUP}",), ISTIO_GROUP, "DestinationRule", "destinationrules", crd=True),
    WatchedKind((f"gateways.{ISTIO_GROUP}",), ISTIO_GROUP, "Gateway", "gateways", crd=True),
    WatchedKind(("networking.k8s.io", "v1", "ingresses"), "networking.k8s.io", "Ingress", "ingresses"),
    # An Ingress's class names its controller (a Traefik class need not be called `traefik`).
    WatchedKind(("networking.k8s.io", "v1", "ingressclasses"), "networking.k8s.io", "IngressClass",
                "ingressclasses", cluster_scoped=True),
    WatchedKind((f"httproutes.{GATEWAY_API_GROUP}",), GATEWAY_API_GROUP, "HTTPRoute", "httproutes", crd=True),
    WatchedKind((f"gateways.{GATEWAY_API_GROUP}",), GATEWAY_API_GROUP, "Gateway", "gateways", crd=True),
    WatchedKind((f"referencegrants.{GATEWAY_API_GROUP}",), GATEWAY_API_GROUP, "ReferenceGrant", "referencegrants",
                crd=True),
    WatchedKind(("rollouts.argoproj.io",), "argoproj.io", "Rollout", "rollouts", crd=True),
    WatchedKind(("scaledobjects.keda.sh",), "keda.sh", "ScaledObject", "scaledobjects", crd=True),
    WatchedKind((f"ingressroutes.{TRAEFIK_GROUP}",), TRAEFIK_GROUP, "IngressRoute", "ingressroutes", crd=True),
    WatchedKind((f"middlewares.{TRAEFIK_GROUP}",), TRAEFIK_GROUP, "Middleware", "middlewares", crd=True),
)
NAMESPACES = WatchedKind(("", "v1", "namespaces"), "", "Namespace", "namespaces", cluster_scoped=True)
CRDS = WatchedKind(("apiextensions.k8s.io", "v1", "customresourcedefinitions"), "apiextensions.k8s.io",
                   "CustomResourceDefinition", "customresourcedefinitions", cluster_scoped=True)

# Pod-spec fields the contract and routing read; the rest (volumes, probes, resources...) is noise.
_CONTAINER_FIELDS = ("name", "ports", "env", "args", "command")


@dataclass(frozen=True, slots=True)  # one per watched object
class Observed:
    """What the cluster shows of our own condition on one object, and where it sits."""

    uid: str
    resource_version: str
    generation: int | None
    has_status: bool
    conditions: int | None  # length of status.conditions, None when absent
    index: int | None  # index of our condition
    condition: Mapping[str, Any] | None


# (kind.group, namespace, name) of a listed object: versionless, as kopf and a listing may differ.
ListedKey = tuple[str, str, str]
ChangeListener = Callable[[ObjectRef, "dict[str, Any] | None", "dict[str, Any] | None"], None]


@dataclass
class Feed:
    """Keeps ``inventory`` equal to the watched cluster state; tells listeners what changed."""

    inventory: Inventory = field(default_factory=lambda: Inventory(compact=True))
    observed: dict[ObjectRef, Observed] = field(default_factory=dict)
    crds: dict[str, tuple[str, str]] = field(default_factory=dict)  # CRD name -> (group, kind)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    listeners: list[ChangeListener] = field(default_factory=list)
    ready: bool = False
    on_ready: list[Callable[[], None]] = field(default_factory=list)
    on_relist: list[Callable[[], None]] = field(default_factory=list)
    # Every apply and delete counts; `touched` keeps each object's last count, so a sweep spares
    # what changed after its listing began.
    sequence: int = 0
    touched: dict[ObjectRef, int] = field(default_factory=dict)
    versions: KindVersions = field(default_factory=KindVersions)  # what state the inventory holds
    # Pass `rescan.insights` to `kopf.operator(insights=...)`: CRDs installed later are then watched.
    rescan: CrdRescan = field(default_factory=lambda: CrdRescan({k.group for k in INPUT_KINDS if k.crd}))
    delivering: asyncio.Event = field(default_factory=asyncio.Event)  # set by kopf's first event
    _awaited: set[ListedKey] | None = None  # listed, not arrived yet (see `expect`)

    # -- registration --------------------------------------------------------------------------
    def register(self, registry: kopf.OperatorRegistry) -> None:
        # One plain event handler per kind, no `when=` filter: every event can change the view or
        # what we observe of our condition. (Not `kopf.index`: kopf then holds every listed object
        # until all are indexed, with work quadratic in their number.)
        for watched in INPUT_KINDS:
            kopf.on.event(*watched.selector, id=f"feed-{watched.handler_id}", registry=registry)(self._event_input)
        kopf.on.event(*NAMESPACES.selector, id="feed-namespaces", registry=registry)(self._event_namespace)
        kopf.on.event(*CRDS.selector, id="feed-crds", registry=registry)(self._event_crd)
        self.rescan.register(registry)

    # -- kopf handlers -------------------------------------------------------------------------
    # Coroutines, so kopf runs them on the event loop (sync handlers go to a thread pool, and
    # the inventory is not thread-safe). kopf passes listed objects with `type` None.
    async def _event_input(self, type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        self._delivered(type)
        if type == "DELETED":
            self.delete(body)
        else:
            self.apply(body)

    async def _event_namespace(self, type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        self._delivered(type)
        self.versions.saw(body)
        name = _meta(body).get("name")
        if not isinstance(name, str):
            return
        if type == "DELETED":
            self.namespace_labels.pop(name, None)
        else:
            self.namespace_labels[name] = dict(_meta(body).get("labels") or {})
        self._arrived((NAMESPACES.group_kind, "", name))

    async def _event_crd(self, type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        self._delivered(type)
        name, spec = _meta(body).get("name"), body.get("spec") or {}
        if type in ("ADDED", "MODIFIED"):
            self.rescan.changed(str(spec.get("group", "")))
        if not isinstance(name, str):
            return
        kind = (spec.get("names") or {}).get("kind")
        if type == "DELETED":
            if self.crds.pop(name, None) is not None:
                self._notify_global()
        elif isinstance(kind, str) and name not in self.crds:
            self.crds[name] = (str(spec.get("group", "")), kind)
            self._notify_global()
        self._arrived((CRDS.group_kind, "", name))

    def _delivered(self, type: str | None) -> None:
        """kopf is delivering (so it has listed or is listing); a listed object after the
        inventory was filled means it lists again (a watch restarted)."""
        self.delivering.set()
        if type is None and self.ready:
            for listener in self.on_relist:
                listener()

    # -- completeness --------------------------------------------------------------------------
    def expect(self, listed: Iterable[ListedKey]) -> int:
        """The inventory is complete once each of `listed` (a listing of every watched kind,
        begun after kopf started delivering) has arrived or been deleted; how many are awaited."""
        if self.ready:
            return 0
        arrived = {(ref.group_kind, ref.namespace, ref.name) for ref in self.touched}
        arrived |= {(NAMESPACES.group_kind, "", name) for name in self.namespace_labels}
        arrived |= {(CRDS.group_kind, "", name) for name in self.crds}
        self._awaited = {key for key in listed if key not in arrived}
        awaited = len(self._awaited)
        self._arrived(None)
        return awaited

    @property
    def awaited(self) -> int | None:
        """How many listed objects kopf has still to deliver; None before `expect`."""
        return None if self._awaited is None else len(self._awaited)

    def _arrived(self, key: ListedKey | None) -> None:
        if self._awaited is None:
            return
        if key is not None:
            self._awaited.discard(key)
        if not self._awaited:
            self._awaited = None
            self.ready = True
            log.info("inventory filled", extra={"objects": len(self.inventory)})
            for callback in self.on_ready:
                callback()

    # -- feeding -------------------------------------------------------------------------------
    def apply(self, body: Mapping[str, Any]) -> ObjectRef | None:
        """Add or replace one object; listeners hear about it only when its view changed."""
        # Built from copies: what the feed keeps must share no memory with the body, or the strings
        # it keeps would pin the freed rest of a large listing (every object at once) in the heap.
        view = _unshared(slim(body))
        ref = ObjectRef.of(view)
        self.versions.saw(body)
        self.observed[ref] = observe(_unshared(_observed_part(body)))
        self._touch(ref)
        old = self.inventory.raw(ref)
        if old == view:
            return ref
        try:
            ref = self.inventory.add(view)
        except InvalidObjectError as error:
            log.warning("object without identity ignored: %s", error)
            return None
        self._notify(ref, old, view)
        return ref

    def delete(self, body: Mapping[str, Any]) -> None:
        self.versions.saw(body)
        self.forget(ObjectRef.of(slim(body)))

    def forget(self, ref: ObjectRef) -> None:
        """Removes `ref` (deleted in the cluster); listeners hear about it when it was known."""
        self.sequence += 1
        self.touched.pop(ref, None)
        self._arrived((ref.group_kind, ref.namespace, ref.name))
        old = self.inventory.raw(ref)
        self.observed.pop(ref, None)
        if self.inventory.remove(ref):
            self._notify(ref, old, None)

    def sweep(self, kind: WatchedKind, existing: Collection[tuple[str, str]], since: int) -> list[ObjectRef]:
        """Forgets the objects of `kind` that a listing begun at `sequence == since` did not show
        (`existing`: (namespace, name) pairs), unless they changed after it began."""
        gone = [ref for ref in self.refs([kind.kind])
                if ref.api_version.rpartition("/")[0] == kind.group and (ref.namespace, ref.name) not in existing
                and self.touched.get(ref, 0) <= since]
        for ref in gone:
            self.forget(ref)
        return gone

    def _touch(self, ref: ObjectRef) -> None:
        self.sequence += 1
        self.touched[ref] = self.sequence
        self._arrived((ref.group_kind, ref.namespace, ref.name))

    def _notify(self, ref: ObjectRef, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for listener in self.listeners:
            listener(ref, old, new)

    def _notify_global(self) -> None:
        """A CRD came or went: everything may read differently (Istio kinds, report kinds)."""
        for listener in self.listeners:
            listener(GLOBAL_CHANGE, None, None)

    # -- reads ---------------------------------------------------------------------------------
    def has_kind(self, group: str, kind: str) -> bool:
        return (group, kind) in self.crds.values()

    @property
    def istio_installed(self) -> bool:
        return self.has_kind(ISTIO_GROUP, "VirtualService")

    def refs(self, kinds: Iterable[str] | None = None) -> list[ObjectRef]:
        wanted = set(kinds) if kinds is not None else None
        return [e.ref for e in self.inventory.entries() if wanted is None or e.ref.kind in wanted]


# A sentinel ref for changes that concern every object (a CRD installed or removed).
GLOBAL_CHANGE = ObjectRef("", "", "", "*")


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def slim(body: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object the engine reads: identity, labels, annotations, spec."""
    meta = _meta(body)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    view: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {
            key: value
            for key, value in (
                ("name", meta.get("name")),
                ("namespace", meta.get("namespace")),
                ("uid", meta.get("uid")),
                ("generation", meta.get("generation")),
                ("labels", dict(meta.get("labels") or {})),
                ("annotations", annotations),
            )
            if value is not None
        },
    }
    spec = body.get("spec")
    if isinstance(spec, Mapping):
        view["spec"] = _slim_spec(spec)
    parents = _route_parents(body)
    if parents is not None:
        # An HTTPRoute's status.parents is the implementation's verdict (SG115); only the
        # implementation writes it, so keeping it cannot make our own writes loop.
        view["status"] = {"parents": parents}
    return view


def _route_parents(body: Mapping[str, Any]) -> Any:
    if body.get("kind") != "HTTPRoute":
        return None
    status = body.get("status")
    return status.get("parents") if isinstance(status, Mapping) else None


def _slim_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    template = spec.get("template")
    if isinstance(template, Mapping):
        pod = template.get("spec")
        slim_template: dict[str, Any] = {"metadata": _template_meta(template.get("metadata"))}
        if isinstance(pod, Mapping):
            slim_template["spec"] = {
                key: [_slim_container(c) for c in value] if isinstance(value, list) else value
                for key, value in pod.items()
                if key in ("containers", "initContainers")
            }
        out["template"] = slim_template
    return out


def _template_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        return {}
    return {k: meta[k] for k in ("labels", "annotations") if k in meta}


def _slim_container(container: Any) -> Any:
    if not isinstance(container, Mapping):
        return container
    return {k: container[k] for k in _CONTAINER_FIELDS if k in container}


def _unshared(value: dict[str, Any]) -> dict[str, Any]:
    """A copy sharing nothing with `value` (a watched object is JSON: the round trip is exact)."""
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value
    return copied


def _observed_part(body: Mapping[str, Any]) -> dict[str, Any]:
    """What `observe` reads of an object."""
    meta = _meta(body)
    part: dict[str, Any] = {"metadata": {key: meta.get(key) for key in ("uid", "resourceVersion", "generation")}}
    status = body.get("status")
    if isinstance(status, Mapping):
        part["status"] = {"conditions": status.get("conditions")}
    return part


def observe(body: Mapping[str, Any]) -> Observed:
    """Where our condition sits in the object's status (for an exact JSON patch)."""
    meta = _meta(body)
    status = body.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    index, ours = None, None
    if isinstance(conditions, list):
        for position, condition in enumerate(conditions):
            if isinstance(condition, Mapping) and condition.get("type") == CONDITION_TYPE:
                index, ours = position, dict(condition)
                break
    generation = meta.get("generation")
    return Observed(
        uid=str(meta.get("uid") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        generation=generation if isinstance(generation, int) else None,
        has_status=isinstance(status, Mapping),
        conditions=len(conditions) if isinstance(conditions, list) else None,
        index=index,
        condition=ours,
    )


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once in the submitting thread (kopf's event loop thread)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting kopf task, as a thread pool would
            future.set_exception(error)
        return future


def feed_settings(settings: kopf.OperatorSettings) -> None:
    """kopf settings for a process the feed serves (the operator, the webhook): its memory peak.

    kopf lists each kind in one request by default: every object's full body (managedFields
    and all) parsed at once, and handed to the per-object workers faster than they run; read
    in pages, a listing of 30,000 objects peaked at 289 MiB instead of 504 MiB. And kopf's
    worker for an object keeps the object's last event while it idles for the next one (5 s by
    default); the feed keeps nothing between events, so a worker may go soon.
    """
    settings.queueing.idle_timeout = IDLE_WORKER_S
    settings.watching.chunk_size = PAGE_SIZE  # kopf's listings in our own listings' pages


def inline_handlers(settings: kopf.OperatorSettings) -> None:
    """Synchronous kopf handlers (the feed's) run on the event loop, never during a review."""
    settings.execution.executor = InlineExecutor()


class PassingMemories(ResourceMemories):
    """kopf's memories of objects, none kept: every object gets a fresh one per event.

    kopf keeps about 3 KB per watched object (error backoff, retry state of changing handlers,
    daemons, a patch to resume), tens of MiB in a large cluster, for handlers we do not have:
    the feed's event handlers keep nothing between events, never patch and never fail
    (a handler error would only lose its backoff). Pass to `kopf.operator(memories=...)`.
    """

    async def recall(self, raw_body: RawBody, *, memobase: AnyMemo | None = None, noticed_by_listing: bool = False,
                     ephemeral: bool = False) -> ResourceMemory:
        return await super().recall(raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing,
                                    ephemeral=True)
