"""A live Engine.IO handshake through the route failed; the message carries the diagnosis.

What it checks
--------------
`socketguard probe URL` (and the operator, for servers annotated
`socketguard.io/probe: "true"`) performs a real Engine.IO v4 handshake: the polling open
packet, the namespace CONNECT, further polls on the same session, the WebSocket upgrade and a
WebSocket-only handshake, with the page's Origin. When a step fails, the answer is mapped to a
cause: DNS, TCP or TLS failure; a 404 or a page that is not Engine.IO (wrong path or rewrite);
Engine.IO error codes 0-5 (code 1 `Session ID unknown`: no sticky sessions); a missing or
wrong `Access-Control-Allow-Origin`; an upgrade refused or hung up; a namespace refused (`44`);
a proxy's 502/503/504.

Why it matters
--------------
The static rules reason about the objects; the probe tests what the proxies and the server
actually do, including what no manifest shows: the code's `path` option, middleware in front
of the server, a load balancer outside the cluster.

How to fix
----------
Follow the cause in the message; `socketguard probe URL -o json` shows every step. For
example, `no-sticky-sessions` (code 1 on the second poll) is fixed with session affinity on the
route that reaches the pods:

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: chat, namespace: web}
spec:
  host: chat.web.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: io, ttl: 0s}
```
"""

from __future__ import annotations

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Admission, Rule

# No checker: the finding comes from a live probe, not from the objects.
RULE = Rule.define(__doc__, code="SG601", name="probe-handshake-failed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)

PROBE_ANNOTATION_PATH = ("metadata", "annotations", "socketguard.io/probe")


def probe_finding(subject: ObjectRef, summary: str, *, endpoint: str, hint: str = "") -> Finding:
    """The SG601 finding for a failed probe of `subject` (a server workload)."""
    fixes = (hint,) if hint else ()
    return RULE.finding(subject, PROBE_ANNOTATION_PATH, f"probe of {endpoint} failed: {summary}",
                        fixes=(*fixes, f"run `socketguard probe {endpoint}` for every step"))
