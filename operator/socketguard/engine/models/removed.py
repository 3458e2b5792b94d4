"""API versions the API server no longer serves, read as the old API server converted them.

Old charts still render `extensions/v1beta1` Ingresses and `apps/v1beta2` Deployments, and
`socketguard lint` reads files, so such an object is analysed in the version that replaced
its own, after the conversion and defaulting the API server applied while it still served
both (SG006 says the version is gone). A cluster never returns these versions, so only file
input meets them.

What the conversion changes, per version (Kubernetes' own conversion and defaulting,
`pkg/apis/{networking,extensions,apps}/v1beta*` of the releases that served them):

- Ingress `extensions/v1beta1`, `networking.k8s.io/v1beta1` (removed in 1.22): a backend's
  `serviceName`/`servicePort` becomes `service: {name, port: {number}}` (`{name}` when the port
  is a string); `spec.backend` becomes `spec.defaultBackend`; a path without `pathType` is
  `ImplementationSpecific`.
- Deployment and DaemonSet `extensions/v1beta1`, Deployment and StatefulSet `apps/v1beta1`
  (removed in 1.16): a missing `spec.selector` is the pod template's labels, and so are the
  object's labels when it has none. `apps/v1beta2` (also removed in 1.16) already required both.
- HorizontalPodAutoscaler `autoscaling/v2beta1` (removed in 1.25) and `v2beta2` (1.26), and the
  Gateway API's `v1alpha2` Gateway and HTTPRoute (no longer served since Gateway API v0.7.0) and
  ReferenceGrant (v1.2.0): the fields SocketGuard reads are the same in both versions.

The input is never changed; anything of an unexpected shape is passed on untouched for the
views to refuse at its field (SG003).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Converter = Callable[[dict[str, Any]], None]  # converts a deep copy in place


@dataclass(frozen=True, slots=True)
class RemovedVersion:
    """One apiVersion of one kind that is no longer served, and what replaced it."""

    api_version: str
    kind: str
    served_as: str
    removed_in: str
    convert: Converter


def removed_version(api_version: object, kind: object) -> RemovedVersion | None:
    """The removed version this object is written in, or None for a served (or unknown) one."""
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return REMOVED_VERSIONS.get((api_version, kind))


def served_form(raw: dict[str, Any]) -> dict[str, Any]:
    """The object in the version that replaced a removed one; `raw` itself for a served version."""
    removed = removed_version(raw.get("apiVersion"), raw.get("kind"))
    if removed is None:
        return raw
    converted = copy.deepcopy(raw)
    converted["apiVersion"] = removed.served_as
    removed.convert(converted)
    return converted


def _unchanged(_obj: dict[str, Any]) -> None:
    """The fields SocketGuard reads did not change between the two versions."""


def _ingress_v1beta1(obj: dict[str, Any]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if "backend" in spec and "defaultBackend" not in spec:
        spec["defaultBackend"] = _backend(spec.pop("backend"))
    for path in _ingress_paths(spec):
        if path.get("pathType") is None:
            path["pathType"] = "ImplementationSpecific"
        if "backend" in path:
            path["backend"] = _backend(path["backend"])


def _ingress_paths(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for rule in _mappings(spec.get("rules")):
        http = rule.get("http")
        yield from _mappings(http.get("paths") if isinstance(http, dict) else None)


def _backend(backend: Any) -> Any:
    """`serviceName`/`servicePort` -> `service: {name, port: {number} | {name}}`."""
    if not isinstance(backend, dict) or not {"serviceName", "servicePort"} & backend.keys():
        return backend
    converted = {key: value for key, value in backend.items() if key not in ("serviceName", "servicePort")}
    service: dict[str, Any] = {}
    if "serviceName" in backend:
        service["name"] = backend["serviceName"]
    port = backend.get("servicePort")
    if port is not None:  # an int-or-string: a string names the Service port
        service["port"] = {"name": port} if isinstance(port, str) else {"number": port}
    converted["service"] = service
    return converted


def _selector_from_template(obj: dict[str, Any]) -> None:
    """The old defaulting: no selector means the pod template's labels (and the object's, if unset)."""
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    labels = template_meta.get("labels") if isinstance(template_meta, dict) else None
    if not isinstance(spec, dict) or not isinstance(labels, dict):
        return
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": dict(labels)}
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and not metadata.get("labels"):
        metadata["labels"] = dict(labels)


def _mappings(items: Any) -> Iterator[dict[str, Any]]:
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))


def _table() -> dict[tuple[str, str], RemovedVersion]:
    gateway_api = "gateway.networking.k8s.io"
    rows = [
        ("extensions/v1beta1", "Ingress", "networking.k8s.io/v1", "Kubernetes 1.22", _ingress_v1beta1),
        ("networking.k8s.io/v1beta1", "Ingress", "networking.k8s.io/v1", "Kubernetes 1.22", _ingress_v1beta1),
        ("extensions/v1beta1", "Deployment", "apps/v1", "Kubernetes 1.16", _selector_from_template),
        ("extensions/v1beta1", "DaemonSet", "apps/v1", "Kubernetes 1.16", _selector_from_template),
        ("apps/v1beta1", "Deployment", "apps/v1", "Kubernetes 1.16", _selector_from_template),
        ("apps/v1beta1", "StatefulSet", "apps/v1", "Kubernetes 1.16", _selector_from_template),
        *(("apps/v1beta2", kind, "apps/v1", "Kubernetes 1.16", _unchanged)
          for kind in ("Deployment", "StatefulSet", "DaemonSet")),
        ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "autoscaling/v2", "Kubernetes 1.25", _unchanged),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2", "Kubernetes 1.26", _unchanged),
        (f"{gateway_api}/v1alpha2", "Gateway", f"{gateway_api}/v1", "Gateway API v0.7.0", _unchanged),
        (f"{gateway_api}/v1alpha2", "HTTPRoute", f"{gateway_api}/v1", "Gateway API v0.7.0", _unchanged),
        (f"{gateway_api}/v1alpha2", "ReferenceGrant", f"{gateway_api}/v1beta1", "Gateway API v1.2.0", _unchanged),
    ]
    return {(row[0], row[1]): RemovedVersion(*row) for row in rows}


REMOVED_VERSIONS = _table()
