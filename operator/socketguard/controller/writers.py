"""The operator's only writes: its condition, its Events, its reports, resuming held Deployments.

Conditions are upserted with JSON patches on the status subresource: a `test` of our
condition's type at its index (or of the resourceVersion when the list is created) makes the
patch fail instead of overwriting someone else's conditions if the object changed meanwhile;
the writer then reads the object again and retries.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from socketguard import ANNOTATION_PREFIX
from socketguard.cluster import metrics
from socketguard.cluster.feed import Observed, observe
from socketguard.cluster.kube import Kube, KubeError, collection_path, object_path
from socketguard.controller.verdict import CONDITION_TYPE, Condition, summary
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

MANAGED_BY = {"app.kubernetes.io/managed-by": "socketguard"}
MANAGED_SELECTOR = "app.kubernetes.io/managed-by=socketguard"
FINDING_ANNOTATION = f"{ANNOTATION_PREFIX}finding"
HELD_ANNOTATION = f"{ANNOTATION_PREFIX}held"
SHARDS_ANNOTATION = f"{ANNOTATION_PREFIX}report-shards"  # how many buckets the namespace's results fill
ReportKind = tuple[str, str, str, str]  # group, kind, apiVersion, plural
REPORT_KINDS: tuple[ReportKind, ...] = (  # preference order: the first whose CRD exists is written
    ("wgpolicyk8s.io", "PolicyReport", "wgpolicyk8s.io/v1alpha2", "policyreports"),
    ("openreports.io", "Report", "openreports.io/v1alpha1", "reports"),
)
_RETRIES = 3


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition_patch(observed: Observed, condition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON patch that puts `condition` into status.conditions and touches nothing else."""
    if observed.index is not None:
        where = f"/status/conditions/{observed.index}"
        return [{"op": "test", "path": f"{where}/type", "value": CONDITION_TYPE},
                {"op": "replace", "path": where, "value": dict(condition)}]
    if observed.conditions is not None:
        return [{"op": "add", "path": "/status/conditions/-", "value": dict(condition)}]
    guard = {"op": "test", "path": "/metadata/resourceVersion", "value": observed.resource_version}
    if observed.has_status:
        return [guard, {"op": "add", "path": "/status/conditions", "value": [dict(condition)]}]
    return [guard, {"op": "add", "path": "/status", "value": {"conditions": [dict(condition)]}}]


def removal_patch(observed: Observed) -> list[dict[str, Any]]:
    assert observed.index is not None
    where = f"/status/conditions/{observed.index}"
    return [{"op": "test", "path": f"{where}/type", "value": CONDITION_TYPE}, {"op": "remove", "path": where}]


class Writers:
    def __init__(self, kube: Kube, instance: str) -> None:
        self.kube = kube
        self.instance = instance

    async def upsert_condition(self, ref: ObjectRef, observed: Observed, condition: Condition,
                               generation: int | None) -> Observed | None:
        """Writes the condition unless it already reads so; returns what the object now shows."""

        def plan(current: Observed) -> list[dict[str, Any]] | None:
            if condition.matches(current.condition, generation):
                return None
            previous = current.condition
            transition = (str(previous.get("lastTransitionTime")) if previous and previous.get("status") ==
                          condition.status and previous.get("lastTransitionTime") else now())
            body = condition.as_dict(generation, transition)
            if ref.kind == "Rollout":  # Argo's RolloutCondition schema requires lastUpdateTime
                body["lastUpdateTime"] = now()
            return condition_patch(current, body)

        return await self._patch_status(ref, observed, plan, "condition")

    async def remove_condition(self, ref: ObjectRef, observed: Observed) -> Observed | None:
        def plan(current: Observed) -> list[dict[str, Any]] | None:
            return None if current.index is None else removal_patch(current)

        return await self._patch_status(ref, observed, plan, "condition-removal")

    async def _patch_status(self, ref: ObjectRef, observed: Observed,
                            plan: Callable[[Observed], list[dict[str, Any]] | None], what: str) -> Observed | None:
        """Applies `plan`'s JSON patch to the status, re-reading and re-planning when it lost a race.

        None: the object is gone. `plan` returning None means the status already reads as wanted.
        """
        for _ in range(_RETRIES):
            patch = plan(observed)
            if patch is None:
                return observed
            try:
                updated = await self.kube.json_patch(object_path(ref, subresource="status"), patch, kind=ref.kind)
            except KubeError as error:
                if error.status == 404:
                    return None
                if error.status not in (409, 422):
                    raise
                observed = observe(await self.kube.get(object_path(ref)))
                continue
            metrics.WRITES.labels(what=what).inc()
            return observe(updated)
        raise RuntimeError(f"{ref}: the condition kept changing under us")

    async def post_event(self, ref: ObjectRef, uid: str, *, kind: str, reason: str, message: str,
                         finding_id: str | None = None) -> None:
        stamp = now()
        annotations = {FINDING_ANNOTATION: finding_id} if finding_id else {}
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace,
                         "labels": dict(MANAGED_BY), "annotations": annotations},
            "involvedObject": {**ref.as_dict(), "uid": uid},
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": "socketguard"},
            "reportingComponent": "socketguard.io/operator",
            "reportingInstance": self.instance,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        await self.kube.create(collection_path("v1", "events", ref.namespace), body, kind="Event")
        metrics.WRITES.labels(what=f"event-{kind.lower()}").inc()

    async def resume_held(self, ref: ObjectRef) -> None:
        """Unpauses a Deployment the webhook's hold mode paused, and drops the marker."""
        patch = {"metadata": {"annotations": {HELD_ANNOTATION: None}}, "spec": {"paused": False}}
        await self.kube.merge_patch(object_path(ref), patch, kind=ref.kind)
        metrics.WRITES.labels(what="resume").inc()

    async def write_report(self, report_kind: ReportKind, namespace: str, name: str,
                           results: Sequence[Mapping[str, Any]], shards: int, exists: bool) -> None:
        """Creates or replaces the report `name` (one of the namespace's `shards` reports)."""
        _, kind, api_version, plural = report_kind
        path = object_path(ObjectRef(api_version, kind, namespace, name), plural=plural)
        annotations = {SHARDS_ANNOTATION: str(shards)}
        content = {"results": list(results), "summary": summary(results)}
        patch = {"metadata": {"annotations": annotations}, **content}
        if exists:
            try:
                await self.kube.merge_patch(path, patch, kind=kind)
                metrics.WRITES.labels(what="report").inc()
                return
            except KubeError as error:
                if error.status != 404:
                    raise
        body = {"apiVersion": api_version, "kind": kind,
                "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY),
                             "annotations": annotations},
                **content}
        try:
            await self.kube.create(collection_path(api_version, plural, namespace), body, kind=kind)
        except KubeError as error:
            if error.status != 409:
                raise
            await self.kube.merge_patch(path, patch, kind=kind)
        metrics.WRITES.labels(what="report").inc()

    async def delete_report(self, report_kind: ReportKind, namespace: str, name: str) -> None:
        _, kind, api_version, plural = report_kind
        await self._delete_ignoring_absent(object_path(ObjectRef(api_version, kind, namespace, name), plural=plural),
                                           kind)
        metrics.WRITES.labels(what="report").inc()

    async def _delete_ignoring_absent(self, path: str, kind: str) -> None:
        try:
            await self.kube.delete(path, kind=kind)
        except KubeError as error:
            if error.status != 404:
                raise
