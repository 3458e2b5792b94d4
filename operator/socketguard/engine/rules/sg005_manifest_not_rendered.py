"""A Helm chart or Kustomize directory was found but could not be rendered, so it was not checked.

What it checks
--------------
`socketguard lint DIR` renders every Helm chart it finds (a directory holding `Chart.yaml`)
with `helm template`, and every Kustomize directory (holding `kustomization.yaml`,
`kustomization.yml` or `Kustomization`) with `kubectl kustomize` or `kustomize build`, and
lints the rendered objects. When the tool is not on `PATH`, the chart or directory is reported
once with this finding instead, and none of its files is read: templates are not YAML until
they are rendered, and a Kustomize base is only meaningful through its overlays.

Why it matters
--------------
The routes, Services and workloads inside the chart or overlay were not checked at all. A clean
report must not be mistaken for a checked one: a socket route broken in a chart's template is
exactly what this lint is for.

How to fix
----------
Install `helm` (or `kubectl`, or `kustomize`) where `socketguard lint` runs, or render the
manifests yourself and lint the output:

```sh
helm template my-release ./chart --namespace my-namespace | socketguard lint -
kubectl kustomize overlays/production | socketguard lint -
```

To keep a directory out of the lint on purpose, exclude it: `--exclude 'charts/legacy'` or
`exclude: [charts/legacy]` in `.socketguard.yaml`.
"""

from __future__ import annotations

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.rules.sg003_unparseable_manifest import FILE_KIND

# No checker: the front-end that reads files reports what it could not render.
RULE = Rule.define(__doc__, code="SG005", name="manifest-not-rendered", severity=Severity.INFO,
                   admission=Admission.ADVISORY)


def not_rendered(file: str, what: str, tool: str, command: str) -> Finding:
    """`file` (Chart.yaml or the kustomization file) says `what` was found; no `tool` to render it."""
    return RULE.finding(
        ObjectRef("", FILE_KIND, "", file),
        (),
        f"{what} not rendered: no {tool} on PATH, so its objects were not checked",
        fixes=(f"install {tool}, or lint the rendered output: {command} | socketguard lint -",),
    )
