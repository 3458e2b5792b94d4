"""Small rules and manifests for testing the lint front-end apart from the real rule catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from socketguard.engine.context import Context
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules.base import Admission, Rule
from socketguard.engine.rules.sg003_unparseable_manifest import RULE as SG003

_DOC = """{summary}.

What it checks
--------------
A test rule.

Why it matters
--------------
It exercises the front-end.

How to fix
----------
Nothing to fix.
"""

ERROR_RULE = Rule.define(
    _DOC.format(summary="Every Service is an error"), code="SG901", name="test-service", severity=Severity.ERROR,
    admission=Admission.CONTRADICTION,
)
WARNING_RULE = Rule.define(
    _DOC.format(summary="Every annotated Deployment is a warning"),
    code="SG902",
    name="test-deployment",
    severity=Severity.WARNING,
    admission=Admission.ADVISORY,
)
INFO_RULE = Rule.define(
    _DOC.format(summary="Every ConfigMap is info"), code="SG903", name="test-configmap", severity=Severity.INFO,
    admission=Admission.ADVISORY,
)
PATH_ANNOTATION = "socketguard.io/path"


@ERROR_RULE.checker
def _services(ctx: Context) -> Iterator[Finding]:
    for service in ctx.inventory.services():
        ref = ctx.inventory.ref_of(service)
        yield ERROR_RULE.finding(ref, ("spec", "ports", 0, "targetPort"), f"service {ref.name} is bad",
                                 fixes=["remove the Service"])


@WARNING_RULE.checker
def _deployments(ctx: Context) -> Iterator[Finding]:
    for entry in ctx.inventory.entries():
        if entry.ref.kind == "Deployment":
            yield WARNING_RULE.finding(
                entry.ref, ("metadata", "annotations", PATH_ANNOTATION), f"deployment {entry.ref.name}"
            )


@INFO_RULE.checker
def _configmaps(ctx: Context) -> Iterator[Finding]:
    for entry in ctx.inventory.entries():
        if entry.ref.kind == "ConfigMap":
            yield INFO_RULE.finding(entry.ref, ("data",), f"configmap {entry.ref.name}")


TEST_RULES = (SG003, ERROR_RULE, WARNING_RULE, INFO_RULE)


def service(name: str, namespace: str = "web") -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
    targetPort: 8080
"""


def deployment(name: str, namespace: str = "web") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: app:1
"""


def configmap(name: str, namespace: str = "web") -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {namespace}
data:
  key: value
"""


def write(path: Path, *documents: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n".join(documents), encoding="utf-8")
    return path
