"""A `socketguard.io/*-from` JSONPath selects nothing, several values, or something that is not a usable string.

What it checks
--------------
`socketguard.io/path-from` and `socketguard.io/client-url-from` name a field of the workload
object (an env var value, a container argument) that holds the real value, so the annotation
cannot drift from what the container is started with. SG002 reports a reference that:

- selects nothing in the workload (a renamed env var, a wrong container index): error;
- selects several values, or a mapping or list instead of a string: error;
- selects a string that is not a valid value (`socket.io` instead of `/socket.io`): error;
- selects an env var whose value comes from a ConfigMap or Secret (`valueFrom`): a warning,
  because only the cluster can resolve it; the default is assumed meanwhile.

A JSONPath that does not even parse is SG001.

Why it matters
--------------
When the reference cannot be resolved, SocketGuard checks the route against the default
(`/socket.io` for the server path, the page origin for the client URL) instead of the value the
pod really uses, and may report a mismatch that is not there or miss one that is.

How to fix
----------
Point the JSONPath at a field that holds the literal value, or set the literal with the annotation
without `-from`:

    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: mageagent
      annotations:
        socketguard.io/path-from: >-
          spec.template.spec.containers[0].env[?(@.name=='SOCKET_IO_PATH')].value
    spec:
      template:
        spec:
          containers:
            - name: mageagent
              env:
                - name: SOCKET_IO_PATH
                  value: /mageagent/socket.io

When the value lives in a ConfigMap, repeat it as `socketguard.io/path: /mageagent/socket.io`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._contract_issues import contract_findings
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG002", name="unresolved-reference", severity=Severity.ERROR,
                   admission=Admission.MISSING_REFERENCE)


@RULE.checker
def check(context: Context) -> Iterator[Finding]:
    return contract_findings(RULE, context)
