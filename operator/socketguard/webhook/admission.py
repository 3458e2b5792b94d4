"""The admission core: one AdmissionReview request, the inventory and the mode -> the answer.

Pure: no I/O, no kopf, no clock. Each request is evaluated twice, on the inventory as it is and
with the incoming object substituted (or removed, for DELETE), over the union of both states'
neighbourhoods, so an existing finding elsewhere never looks new. The shared inventory is
changed and restored inside this synchronous call, so nothing else (the watch handlers run on the
same event loop) ever sees the substituted object.

A finding is *introduced* when its key (code, subject, field path) is not in the verdict without
the change. Only introduced **error** findings can act, and on CREATE/UPDATE only those whose
rule is a contradiction (`Rule.admission`) and whose objects all exist: a reference to something
not created yet (a Service or Gateway that a later file of the same `kubectl apply -f dir/`
creates) only warns. DELETE is
different: removing an object that a live route uses breaks what exists, so every introduced
error acts, except for deletions by Kubernetes' own namespace and garbage collectors.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, Protocol

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding, Severity, sort_findings
from socketguard.engine.inventory import Inventory, group_of, identity_problems
from socketguard.engine.models import MODELS
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Admission
from socketguard.engine.rules.registry import all_rules
from socketguard.engine.scope import neighbourhood
from socketguard.webhook.modes import HELD_ANNOTATION, Mode, object_mode
from socketguard.webhook.review import AdmissionRequest, Answer, clip, join_clipped

Webhook = Literal["validate", "mutate"]

REVIEWED_KINDS: frozenset[tuple[str, str]] = frozenset(
    key for key in MODELS if key != ("gateway.networking.k8s.io", "ReferenceGrant")
)
SCALE_TARGETS = {"deployments": "Deployment", "statefulsets": "StatefulSet"}
# Deletions these identities make were decided elsewhere (namespace teardown, owner gone).
SYSTEM_DELETERS: frozenset[str] = frozenset({
    "system:serviceaccount:kube-system:namespace-controller",
    "system:serviceaccount:kube-system:generic-garbage-collector",
    "system:kube-controller-manager",
})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DENIAL_LIMIT = 1500
WARNING_COUNT = 12  # kubectl prints each on its own line; past this, a count
HELD_LIMIT = 1000


class ClusterState(Protocol):
    """What the webhook reads of the cluster: the watched inventory and namespace labels."""

    @property
    def inventory(self) -> Inventory: ...

    @property
    def namespace_labels(self) -> Mapping[str, Mapping[str, str]]: ...


@dataclass(frozen=True)
class Outcome:
    """The answer, and what led to it (for metrics and logs)."""

    answer: Answer
    mode: Mode | None = None
    introduced: tuple[Finding, ...] = ()
    acting: tuple[Finding, ...] = ()
    skipped: str = ""  # why the request was not evaluated, when it was not
    held: bool = False

    @property
    def decision(self) -> str:
        if self.skipped:
            return "skipped"
        if not self.answer.allowed:
            return "denied"
        if self.held:
            return "held"
        return "warned" if self.answer.warnings else "allowed"


class VerdictCache:
    """Verdicts of unchanged neighbourhoods, valid until the inventory really changes.

    A review's own substitute-and-restore bumps `Inventory.revision` without changing anything,
    so revisions are mapped back to the one the review started from; a watch event makes a new
    canonical revision and empties the cache. A burst of changes to one namespace (`kubectl
    apply -f dir/`, a GitOps sync) then pays for the verdict without the change once.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._canonical: dict[int, int] = {}
        self._revision = -1
        self._verdicts: dict[frozenset[ObjectRef], tuple[Finding, ...]] = {}

    def canonical(self, revision: int) -> int:
        return self._canonical.get(revision, revision)

    def alias(self, after_restore: int, canonical: int) -> None:
        self._canonical = {after_restore: canonical}

    def get(self, canonical: int, scope: frozenset[ObjectRef]) -> tuple[Finding, ...] | None:
        if canonical != self._revision:
            self._revision, self._verdicts = canonical, {}
        return self._verdicts.get(scope)

    def put(self, scope: frozenset[ObjectRef], verdict: tuple[Finding, ...]) -> None:
        if len(self._verdicts) >= self.size:
            self._verdicts.pop(next(iter(self._verdicts)))
        self._verdicts[scope] = verdict


@dataclass(frozen=True)
class Change:
    ref: ObjectRef
    new: dict[str, Any] | None  # None: the object is removed
    mode_source: dict[str, Any] | None  # whose socketguard.io/enforce annotation applies


@dataclass(frozen=True)
class Comparison:
    before: tuple[Finding, ...]
    after: tuple[Finding, ...]
    introduced: tuple[Finding, ...]
    exists_after: Callable[[ObjectRef], bool] = field(repr=False)


def admit(request: AdmissionRequest, state: ClusterState, *, webhook: Webhook, default_mode: Mode,
          cache: VerdictCache | None = None) -> Outcome:
    inventory = state.inventory
    change = change_of(request, inventory)
    if isinstance(change, str):
        return Outcome(Answer(allowed=True), skipped=change)
    mode = object_mode(change.mode_source, state.namespace_labels.get(change.ref.namespace), default_mode)
    if mode is Mode.OFF:
        return Outcome(Answer(allowed=True), mode=mode, skipped="mode off")
    holdable = _holdable(request)
    if webhook == "mutate" and not (mode is Mode.HOLD and holdable):
        return Outcome(Answer(allowed=True), mode=mode, skipped="nothing to mutate")
    if change.new is not None and _engine_view(change.new) == _engine_view(inventory.raw(change.ref)):
        return Outcome(Answer(allowed=True), mode=mode, skipped="nothing the engine reads changed")
    comparison = compare(inventory, change.ref, change.new, cache)
    introduced = tuple(f for f in comparison.introduced if f.severity >= Severity.WARNING)
    acting = tuple(f for f in introduced if _acts(f, request, comparison.exists_after))
    if webhook == "mutate":
        return _mutate(request, change, mode, introduced, acting, comparison)
    return _validate(request, mode, introduced, acting, holdable)


# -- what changes -----------------------------------------------------------------------------------
def change_of(request: AdmissionRequest, inventory: Inventory) -> Change | str:
    """The object as it would be after the request, or why the request is not reviewed."""
    if request.operation == "CONNECT":
        return "CONNECT is not reviewed"
    if request.sub_resource == "scale":
        return _scale_change(request, inventory)
    if request.sub_resource:
        return f"subresource {request.sub_resource} is not reviewed"
    if (request.group, request.kind) not in REVIEWED_KINDS:
        return f"kind {request.kind} of group {request.group or 'core'} is not reviewed"
    if request.operation == "DELETE":
        ref = ObjectRef(request.api_version, request.kind, request.namespace, request.name)
        if not request.name or ref not in inventory:
            return "the deleted object is not in the inventory"
        return Change(ref, None, request.old or inventory.raw(ref))
    if request.obj is None:
        return "the request carries no object"
    new = _with_namespace(request.obj, request.namespace)
    problems = identity_problems(new)
    if problems:  # e.g. generateName before the name is set: nothing to compare yet
        return "the object has no identity yet: " + "; ".join(p.message for p in problems)
    return Change(ObjectRef.of(new), new, new)


def _scale_change(request: AdmissionRequest, inventory: Inventory) -> Change | str:
    kind = SCALE_TARGETS.get(request.resource)
    if kind is None or request.operation != "UPDATE":
        return f"scale of {request.resource} is not reviewed"
    ref = ObjectRef("apps/v1", kind, request.namespace, request.name)
    target = inventory.raw(ref)
    spec = (request.obj or {}).get("spec")
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    if target is None:
        return f"{ref} is not in the inventory"
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        return "the Scale object has no integer spec.replicas"
    scaled = copy.deepcopy(target)
    scaled.setdefault("spec", {})["replicas"] = replicas
    return Change(ref, scaled, target)


def _with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if not namespace or not isinstance(metadata, dict) or metadata.get("namespace"):
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


# -- the two verdicts ---------------------------------------------------------------------------------
def compare(inventory: Inventory, ref: ObjectRef, new: dict[str, Any] | None,
            cache: VerdictCache | None = None) -> Comparison:
    """Findings without and with the change, over the union of both neighbourhoods."""
    old = inventory.entry(ref)
    base = cache.canonical(inventory.revision) if cache is not None else inventory.revision
    scope = neighbourhood(inventory, [ref]) | {ref}
    _put(inventory, ref, new)
    try:
        # Each state's neighbourhood is closed in that state, so their union holds everything
        # either verdict reads: analysing the subset directly spares a second closure per state.
        scope |= neighbourhood(inventory, [ref])
        after = analyze(inventory.subset(scope))
    finally:
        inventory.restore(ref, old)
    frozen = frozenset(scope)
    cached = None
    if cache is not None:
        cache.alias(inventory.revision, base)
        cached = cache.get(base, frozen)
    before = list(cached) if cached is not None else analyze(inventory.subset(scope))
    if cache is not None and cached is None:
        cache.put(frozen, tuple(before))
    known = {f.key for f in before}
    introduced = tuple(f for f in after if f.key not in known)
    key = _identity(ref)

    def exists_after(other: ObjectRef) -> bool:
        return new is not None if _identity(other) == key else other in inventory

    return Comparison(tuple(before), tuple(after), introduced, exists_after)


def _engine_view(raw: Mapping[str, Any] | None) -> Any:
    """What the engine reads of an object: labels, annotations (without kubectl's copy), spec."""
    if raw is None:
        return None
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return (metadata.get("labels") or None, annotations or None, raw.get("spec"))


def _put(inventory: Inventory, ref: ObjectRef, raw: dict[str, Any] | None) -> None:
    if raw is None:
        inventory.remove(ref)
    else:
        inventory.add(raw)


def _identity(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (group_of(ref.api_version), ref.kind, ref.namespace, ref.name)


def _acts(finding: Finding, request: AdmissionRequest, exists_after: Callable[[ObjectRef], bool]) -> bool:
    if finding.severity < Severity.ERROR:
        return False
    if request.operation == "DELETE":
        return request.username not in SYSTEM_DELETERS
    return is_contradiction(finding) and all(exists_after(r) for r in (finding.subject, *finding.related))


@cache
def admission_classes() -> Mapping[str, Admission]:
    """Each rule code's admission class, as its rule declares it."""
    return MappingProxyType({rule.code: rule.admission for rule in all_rules()})


def is_contradiction(finding: Finding) -> bool:
    """A code unknown to the registry (a test's own rule) never acts, as an advisory one."""
    return admission_classes().get(finding.code, Admission.ADVISORY).acts


def _holdable(request: AdmissionRequest) -> bool:
    return request.kind == "Deployment" and request.group == "apps" and request.operation == "UPDATE" \
        and not request.sub_resource


# -- answers ------------------------------------------------------------------------------------------
def _validate(request: AdmissionRequest, mode: Mode, introduced: Sequence[Finding], acting: Sequence[Finding],
              holdable: bool) -> Outcome:
    if mode is Mode.AUDIT or not introduced:
        return Outcome(Answer(allowed=True), mode, tuple(introduced), tuple(acting))
    warnings = warnings_for(introduced, acting)
    if mode is Mode.ENFORCE and acting:
        answer = Answer(allowed=False, code=403, message=denial_message(acting), warnings=warnings)
        return Outcome(answer, mode, tuple(introduced), tuple(acting))
    if mode is Mode.HOLD and acting and holdable and _is_held(request.obj):
        # The mutating webhook paused it and already sent these warnings.
        return Outcome(Answer(allowed=True), mode, tuple(introduced), tuple(acting), held=True)
    if mode is Mode.HOLD and acting:
        what = f"a {request.kind} {request.operation.lower()}" + (f" of {request.sub_resource}"
                                                                    if request.sub_resource else "")
        warnings = (*warnings, f"SocketGuard hold mode cannot pause {what}: admitted with these warnings")
    return Outcome(Answer(allowed=True, warnings=warnings), mode, tuple(introduced), tuple(acting))


def _mutate(request: AdmissionRequest, change: Change, mode: Mode, introduced: Sequence[Finding],
            acting: Sequence[Finding], comparison: Comparison) -> Outcome:
    obj = request.obj or {}
    reasons = list(acting) or _still_holding(request, change.ref, comparison)
    if not reasons:
        return Outcome(Answer(allowed=True), mode, tuple(introduced), tuple(acting))
    patch = hold_patch(obj, held_reason(reasons))
    warnings = (*warnings_for(introduced, acting),
                f"SocketGuard held {change.ref}: spec.paused is true until the operator sees the error clear")
    if not patch:
        warnings = warnings[:-1]
    answer = Answer(allowed=True, warnings=warnings, patch=tuple(patch))
    return Outcome(answer, mode, tuple(introduced), tuple(acting), held=True)


def _still_holding(request: AdmissionRequest, ref: ObjectRef, comparison: Comparison) -> list[Finding]:
    """A held Deployment stays held while a contradiction involving it remains (only the operator resumes)."""
    if not _has_held_annotation(request.old):
        return []
    return [f for f in comparison.after
            if f.severity >= Severity.ERROR and is_contradiction(f) and (f.subject == ref or ref in f.related)]


def _annotations(obj: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else None


def _has_held_annotation(obj: Mapping[str, Any] | None) -> bool:
    return HELD_ANNOTATION in (_annotations(obj) or {})


def _is_held(obj: Mapping[str, Any] | None) -> bool:
    spec = obj.get("spec") if isinstance(obj, Mapping) else None
    return isinstance(spec, Mapping) and spec.get("paused") is True and _has_held_annotation(obj)


def hold_patch(obj: Mapping[str, Any], reason: str) -> list[dict[str, Any]]:
    """JSONPatch: `spec.paused: true` and the `socketguard.io/held` annotation (nothing if already so)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else None
    annotations = _annotations(obj)
    ops: list[dict[str, Any]] = []
    if spec is None:
        ops.append({"op": "add", "path": "/spec", "value": {"paused": True}})
    elif spec.get("paused") is not True:
        ops.append({"op": "add", "path": "/spec/paused", "value": True})
    if annotations is None:
        if not isinstance(obj.get("metadata"), Mapping):
            ops.append({"op": "add", "path": "/metadata", "value": {}})
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {HELD_ANNOTATION: reason}})
    elif annotations.get(HELD_ANNOTATION) != reason:
        ops.append({"op": "add", "path": "/metadata/annotations/" + _pointer(HELD_ANNOTATION), "value": reason})
    return ops


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def held_reason(findings: Iterable[Finding]) -> str:
    """`SG102,SG301: <first finding>`: the codes first, so the operator and humans can read them."""
    ordered = sort_findings(findings)
    codes = ",".join(dict.fromkeys(f.code for f in ordered))
    return clip(f"{codes}: {_headline(ordered[0])}", HELD_LIMIT)


def _located(finding: Finding) -> str:
    at = f" at {finding.field_path}" if finding.field_path else ""
    return f"{finding.subject}{at}"


def _headline(finding: Finding) -> str:
    """`SG102 socket-path-mismatch: <message>`, naming the object unless the message already does."""
    where = "" if str(finding.subject) in finding.message else f" on {_located(finding)}"
    return f"{finding.code} {finding.name}{where}: {finding.message.rstrip('.')}"


def warnings_for(introduced: Sequence[Finding], acting: Sequence[Finding]) -> tuple[str, ...]:
    """One warning per introduced finding, and the fix of each error (kubectl prints `Warning: ...`)."""
    acting_keys = {f.key for f in acting}
    out: list[str] = []
    ordered = sort_findings(introduced)
    for index, finding in enumerate(ordered):
        if len(out) >= WARNING_COUNT - 1 and index < len(ordered) - 1:
            out.append(f"SocketGuard: {len(ordered) - index} more findings (`socketguard lint` lists them all)")
            break
        note = "" if finding.severity < Severity.ERROR or finding.key in acting_keys else _not_enforced(finding)
        out.append(f"{_headline(finding)}{note}")
        if finding.severity >= Severity.ERROR and finding.fixes:
            out.append(f"{finding.code} fix: {'; '.join(finding.fixes)} (see `socketguard explain {finding.code}`)")
    return tuple(out)


def _not_enforced(finding: Finding) -> str:
    if admission_classes().get(finding.code, Admission.ADVISORY) is Admission.ADVISORY:
        return f" (not enforced: {finding.code} is advisory at admission)"
    return " (not enforced: it names an object that does not exist yet)"


def denial_message(acting: Sequence[Finding]) -> str:
    """One line: code, where, both values (the rule's message), the fix, the explain pointer."""
    parts = []
    for finding in sort_findings(acting):
        fixes = "; ".join(finding.fixes) or "see the rule's documentation"
        parts.append(f"{_headline(finding)}. Fix: {fixes}. See `socketguard explain {finding.code}`")
    return "SocketGuard: " + join_clipped(parts, DENIAL_LIMIT - len("SocketGuard: "))
