"""An object is written in an API version the API server no longer serves.

What it checks
--------------
Objects of the kinds SocketGuard reads, written in a version that Kubernetes (or the Gateway
API CRDs) stopped serving:

| Kind | Removed versions | Gone since | Use |
|---|---|---|---|
| Ingress | `extensions/v1beta1`, `networking.k8s.io/v1beta1` | Kubernetes 1.22 | `networking.k8s.io/v1` |
| Deployment | `extensions/v1beta1`, `apps/v1beta1`, `apps/v1beta2` | Kubernetes 1.16 | `apps/v1` |
| StatefulSet | `apps/v1beta1`, `apps/v1beta2` | Kubernetes 1.16 | `apps/v1` |
| DaemonSet | `extensions/v1beta1`, `apps/v1beta2` | Kubernetes 1.16 | `apps/v1` |
| HorizontalPodAutoscaler | `autoscaling/v2beta1`, `autoscaling/v2beta2` | Kubernetes 1.25, 1.26 | `autoscaling/v2` |
| Gateway, HTTPRoute | `gateway.networking.k8s.io/v1alpha2` | Gateway API v0.7.0 | `gateway.networking.k8s.io/v1` |
| ReferenceGrant | `gateway.networking.k8s.io/v1alpha2` | Gateway API v1.2.0 | `gateway.networking.k8s.io/v1beta1` |

Such an object is not skipped: it is analysed as the old API server converted it to the
version that replaced it (an Ingress backend's `serviceName`/`servicePort` becomes
`service: {name, port}`, a path without `pathType` is `ImplementationSpecific`, a Deployment
without a selector selects its template's labels), so the other rules check its routes and
pods. Findings on such an object name the converted fields (`backend.service.port`) and point
at the nearest field the file has. Only files can hold these versions: a cluster serves every
object in a current one.

Why it matters
--------------
`kubectl apply` and `helm install` fail on a current cluster with "no matches for kind
Ingress in version extensions/v1beta1": the chart that renders it does not install, so what
SocketGuard checked is not what will run. The chart usually has a newer release, or a
`Capabilities.APIVersions` switch that picks the current version on a current cluster.

How to fix
----------
Render the chart for the cluster's version (`helm template --kube-version 1.30 ...`), upgrade
the chart, or rewrite the object (the `kubectl convert` plugin does it: `kubectl convert -f
old.yaml --output-version networking.k8s.io/v1`). An Ingress in `networking.k8s.io/v1`:

```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
spec:
  rules:
  - host: chat.example.com
    http:
      paths:
      - path: /socket.io/
        pathType: ImplementationSpecific    # what a v1beta1 path without pathType meant
        backend:
          service:
            name: chat                      # was serviceName: chat
            port: {number: 80}              # was servicePort: 80 (a name: {name: http})
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.inventory import Entry
from socketguard.engine.models.removed import RemovedVersion
from socketguard.engine.rules.base import Admission, Rule

# Advisory: a cluster never hands the webhook an object in a removed version.
RULE = Rule.define(__doc__, code="SG006", name="api-version-removed", severity=Severity.INFO,
                   admission=Admission.ADVISORY)

_SELECTOR = ("with a `spec.selector` (apps/v1 requires one; extensions/v1beta1 and apps/v1beta1 "
             "defaulted it to the pod template's labels)")
_REWRITES = {
    "Ingress": "with each backend as `service: {name: NAME, port: {number: PORT}}` (was `serviceName`/`servicePort`), "
               "`spec.defaultBackend` for `spec.backend`, and a `pathType` on every path "
               "(`ImplementationSpecific` keeps the old meaning)",
    "Deployment": _SELECTOR,
    "StatefulSet": _SELECTOR,
    "DaemonSet": _SELECTOR,
    "HorizontalPodAutoscaler": "(v2beta2 metrics are unchanged; v2beta1's `targetAverageUtilization: 80` "
                               "becomes `target: {type: Utilization, averageUtilization: 80}`)",
}


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    for entry in ctx.inventory.entries():
        if entry.removed is not None:
            yield _finding(entry, entry.removed)


def _finding(entry: Entry, removed: RemovedVersion) -> Finding:
    message = (
        f"{entry.ref} is written as {removed.api_version}, which is no longer served (removed in "
        f"{removed.removed_in}): applying it fails on a current cluster. It is analysed as "
        f"{removed.served_as}, converted as the API server used to convert it"
    )
    rewrite = _REWRITES.get(removed.kind, "(the fields are the same)")
    fixes = (
        f"write `apiVersion: {removed.served_as}` {rewrite}",
        f"or render the chart for the cluster's Kubernetes version, or run "
        f"`kubectl convert -f FILE --output-version {removed.served_as}`",
    )
    return RULE.finding(entry.ref, ("apiVersion",), message, fixes=fixes)
