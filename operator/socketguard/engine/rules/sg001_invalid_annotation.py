"""A `socketguard.io/` annotation has a bad value, an unknown key, or disagrees with its pod template.

What it checks
--------------
Every `socketguard.io/` annotation on a Deployment, StatefulSet or DaemonSet and on its pod
template (`spec.template.metadata.annotations`) is validated against the annotation contract
(docs/annotations.md):

- a value that does not parse: `socketguard.io/stack: nodejs`, `socketguard.io/ping-interval: 25s`,
  `socketguard.io/path: socket.io` (not absolute), `socketguard.io/cors-origins: adverant.ai`
  (an origin needs its scheme), `socketguard.io/client-url: adverant.ai`;
- an unknown key under the prefix, with the closest known key as a suggestion
  (`socketguard.io/cors-origin` -> `socketguard.io/cors-origins`);
- the same key on the workload and on its pod template with different values;
- a server key (`path`, `cors-origins`, ...) on a workload whose `role` is `client`;
- both `path` and `path-from` set, or a `*-from` value that is not a valid JSONPath.

Annotations outside the `socketguard.io/` prefix are never reported.

Why it matters
--------------
The annotations are how the other rules learn what the Socket.IO server and client are
configured with. A value SocketGuard cannot read falls back to the default (path `/socket.io`,
stack `node`, no CORS, ...), so the other findings are computed against something the owner did
not write, and a typo in a key silently switches the check off. Fixing SG001 first makes every
other finding trustworthy.

How to fix
----------
Use the values the finding names. The example says that the server runs socket.io 4 on Node,
serves the path the route delivers, and allows the page's origin with credentials:

    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: mageagent
      annotations:
        socketguard.io/role: server
        socketguard.io/stack: node                    # not "nodejs"
        socketguard.io/path: /mageagent/socket.io      # absolute, no query
        socketguard.io/cors-origins: https://adverant.ai,https://www.adverant.ai
        socketguard.io/cors-credentials: "true"       # a quoted YAML string
        socketguard.io/ping-interval: "25000"         # milliseconds, not "25s"
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.rules._contract_issues import contract_findings
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.context import Context

RULE = Rule.define(__doc__, code="SG001", name="invalid-annotation", severity=Severity.ERROR,
                   admission=Admission.CONTRADICTION)


@RULE.checker
def check(context: Context) -> Iterator[Finding]:
    return contract_findings(RULE, context)
