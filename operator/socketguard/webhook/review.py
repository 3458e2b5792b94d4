"""AdmissionReview v1: a tolerant parser and the response builder.

Nothing here raises on bad input except `MalformedReviewError`, which carries what is needed to
still answer cleanly (the request's uid when one could be read).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REVIEW_API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
# kubectl shows each warning whole up to this length; the API server may cut longer ones.
WARNING_LIMIT = 256


class MalformedReviewError(ValueError):
    def __init__(self, message: str, uid: str = "", api_version: str = REVIEW_API_VERSIONS[0]) -> None:
        super().__init__(message)
        self.uid = uid
        self.api_version = api_version


@dataclass(frozen=True)
class AdmissionRequest:
    uid: str
    operation: str
    group: str
    version: str
    kind: str
    resource: str
    sub_resource: str
    namespace: str
    name: str
    obj: dict[str, Any] | None
    old: dict[str, Any] | None
    dry_run: bool = False
    username: str = ""
    review_api_version: str = REVIEW_API_VERSIONS[0]

    @property
    def api_version(self) -> str:
        """apiVersion of the object under review (`apps/v1`, `v1`)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def described(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        sub = f"/{self.sub_resource}" if self.sub_resource else ""
        return f"{self.operation} {self.kind}{sub} {where}"


@dataclass(frozen=True)
class Answer:
    """What the server sends back: allowed or not, why, warnings, and a JSONPatch for mutations."""

    allowed: bool
    message: str = ""
    code: int = 200
    warnings: tuple[str, ...] = ()
    patch: tuple[dict[str, Any], ...] = field(default=())


def parse_review(body: Any) -> AdmissionRequest:
    if not isinstance(body, dict):
        raise MalformedReviewError("the body is not a JSON object")
    api_version = body.get("apiVersion")
    request = body.get("request")
    uid = request.get("uid") if isinstance(request, dict) else None
    uid_text = uid if isinstance(uid, str) else ""
    version_text = api_version if api_version in REVIEW_API_VERSIONS else REVIEW_API_VERSIONS[0]

    def bad(message: str) -> MalformedReviewError:
        return MalformedReviewError(message, uid_text, version_text)

    if body.get("kind") != "AdmissionReview" or api_version not in REVIEW_API_VERSIONS:
        raise bad(f"expected kind AdmissionReview of {REVIEW_API_VERSIONS[0]}, got kind "
                  f"{_short(body.get('kind'))} of {_short(api_version)}")
    if not isinstance(request, dict):
        raise bad("`request` is missing or not an object")
    if not uid_text:
        raise bad("`request.uid` is missing or not a string")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise bad(f"`request.operation` {_short(operation)} is not one of {', '.join(OPERATIONS)}")
    kind = _mapping(request.get("kind"))
    resource = _mapping(request.get("resource"))
    if not isinstance(kind.get("kind"), str) or not isinstance(resource.get("resource"), str):
        raise bad("`request.kind.kind` and `request.resource.resource` must be strings")
    obj, old = request.get("object"), request.get("oldObject")
    user = _mapping(request.get("userInfo"))
    return AdmissionRequest(
        uid=uid_text,
        operation=operation,
        group=_text(kind.get("group")),
        version=_text(kind.get("version")),
        kind=kind["kind"],
        resource=resource["resource"],
        sub_resource=_text(request.get("subResource")),
        namespace=_text(request.get("namespace")),
        name=_text(request.get("name")),
        obj=obj if isinstance(obj, dict) else None,
        old=old if isinstance(old, dict) else None,
        dry_run=request.get("dryRun") is True,
        username=_text(user.get("username")),
        review_api_version=version_text,
    )


def build_response(uid: str, answer: Answer, api_version: str = REVIEW_API_VERSIONS[0],
                   audit: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The AdmissionReview response; `audit` becomes `auditAnnotations` (the API server prefixes
    each key with the webhook's name, so keys carry no prefix of their own)."""
    payload: dict[str, Any] = {"uid": uid, "allowed": answer.allowed}
    if not answer.allowed or answer.message:
        payload["status"] = {"code": answer.code if not answer.allowed else 200, "message": answer.message}
        if not answer.allowed:
            payload["status"]["reason"] = "Forbidden" if answer.code == 403 else "BadRequest"
    if answer.warnings:
        payload["warnings"] = [clip(w, WARNING_LIMIT) for w in answer.warnings]
    if answer.patch:
        payload["patchType"] = "JSONPatch"
        payload["patch"] = base64.b64encode(json.dumps(list(answer.patch)).encode()).decode("ascii")
    if audit:
        payload["auditAnnotations"] = dict(audit)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": payload}


def malformed_response(error: MalformedReviewError) -> dict[str, Any]:
    answer = Answer(allowed=False, code=400, message=f"SocketGuard: malformed AdmissionReview: {error}")
    return build_response(error.uid, answer, error.api_version)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def join_clipped(parts: Sequence[str], limit: int, separator: str = " | ") -> str:
    """Parts joined up to `limit` characters; the rest summarised as `(+N more)`."""
    out: list[str] = []
    used = 0
    for index, part in enumerate(parts):
        rest = len(parts) - index - 1
        tail = f"{separator}(+{rest} more)" if rest else ""
        if out and used + len(separator) + len(part) + len(tail) > limit:
            return separator.join(out) + f"{separator}(+{len(parts) - index} more)"
        out.append(part)
        used += len(part) + (len(separator) if len(out) > 1 else 0)
    return clip(separator.join(out), limit)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _short(value: Any) -> str:
    return clip(repr(value), 60)
