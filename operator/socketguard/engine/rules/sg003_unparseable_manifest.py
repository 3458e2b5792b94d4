"""A file or document that is not valid YAML/JSON or not a Kubernetes object.

What it checks
--------------
Every input is read as UTF-8 YAML (JSON is YAML too) with one Kubernetes object per document,
or a `List` whose `items` are objects. SG003 reports what could not be used:

- a file that cannot be read, is not UTF-8 text, or is binary;
- a YAML or JSON syntax error (the position of the error is reported; documents after it in
  the same file are not read);
- a document that is a string or a number, or a list holding an object (instead of a `List`);
- a document with `apiVersion` or `kind` but without a string `apiVersion`, `kind` or
  `metadata.name`;
- a field that SocketGuard reads having the wrong type (a string where a list is expected,
  say); the object is then left out of the analysis;
- a Helm chart or Kustomize directory whose rendering fails (the tool's message, at the
  template and line it names).

Empty documents and `null` are skipped, and so is a document with neither `apiVersion` nor
`kind` (a chart's `values.yaml`, a compose file, a JSON schema): it is not a Kubernetes object.
Objects of kinds SocketGuard does not model are accepted and ignored. A field whose value is
`null` (Helm renders `annotations:` with nothing after it when a values map is empty) is read as
the API server reads it: as if it were absent, with its default. Only a required field given
`null` is reported.

Why it matters
--------------
A document that cannot be read is a document that was not checked: the route or workload in
it is missing from the analysis, so other findings may be missing or wrong. That is why
`socketguard lint` exits with 2 whenever SG003 is reported, even with `--fail-on never`
(unless SG003 is ignored or recorded in the baseline). `kubectl apply` would reject most of
these documents too.

How to fix
----------
Fix the document at the reported position. A Helm template is not YAML until it is rendered:
lint the chart's directory (`socketguard lint` renders it with helm) or the rendered output,
not a file of `templates/`:

```sh
helm template my-release ./chart | socketguard lint -
```

A document that is a list must become one document per object (or a `List`):

```yaml
# wrong: a YAML list at the top level
- apiVersion: v1
  kind: Service
  metadata: {name: mageagent}
---
# right
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: mageagent}
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG003", name="unparseable-manifest", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)

# Subjects of problems that have no object identity: a whole file (unreadable, syntax
# error), or one document of a file (`file#2`, `file#2.items[0]`) that is not an object.
FILE_KIND = "File"
DOCUMENT_KIND = "Document"


def file_problem(file: str, message: str) -> Finding:
    """A problem with a whole file: unreadable, not UTF-8 text, or a syntax error."""
    return RULE.finding(ObjectRef("", FILE_KIND, "", file), (), message)


def document_problem(document: str, path: FieldPath, message: str) -> Finding:
    """A document that is not a Kubernetes object; `path` is the field that is missing or wrong."""
    return RULE.finding(ObjectRef("", DOCUMENT_KIND, "", document), path, message)


@RULE.checker
def check(context: Context) -> Iterator[Finding]:
    """Objects the inventory kept aside because a field it reads has the wrong type."""
    for entry in context.inventory.rejected():
        for problem in entry.problems:
            yield RULE.finding(
                entry.ref,
                problem.path,
                f"{problem.message}; {entry.ref} is left out of the analysis",
            )
