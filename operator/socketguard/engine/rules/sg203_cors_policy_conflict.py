"""The route's CORS settings (an Istio corsPolicy) and the Socket.IO server's own CORS disagree.

What it checks
--------------
For every route rule with CORS at the proxy (Istio `corsPolicy`, a Gateway API CORS filter,
ingress-nginx `enable-cors`) that delivers to a Socket.IO server whose CORS is set
(`socketguard.io/cors-origins` not empty), SocketGuard compares the origins and the credentials
flag on both sides: a wildcard on one side only, an origin listed on one side only, a
prefix/regex matcher that matches none of the server's origins, or `allowCredentials` that differs
from `socketguard.io/cors-credentials`.

Why it matters
--------------
Two answers to one question diverge silently. The proxy adds its headers only when its policy
matches the origin and otherwise passes the server's headers through, so for a node server the effective
policy is the union of both lists; a python-socketio server still answers 400 to an origin the
proxy allows. Tightening one side then changes nothing, and widening one side opens more than
intended.

How to fix
----------
Decide where CORS is answered and keep it in one place, or make both say the same.

```yaml
# the server answers CORS; the route carries no corsPolicy
http:
- match:
  - uri: {prefix: /socket.io/}
  route:
  - destination: {host: chat}
---
metadata:
  annotations:
    socketguard.io/cors-origins: https://app.example.com
```
"""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.context import Context
from socketguard.engine.contract import ServerSpec
from socketguard.engine.cors import (
    ANY,
    describe_proxy,
    describe_server,
    normalize_origin,
    proxy_allows_any,
    proxy_matcher_matches,
    server_allows_any,
)
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import CorsAtProxy, RouteHop
from socketguard.engine.rules.base import Admission, Rule

RULE = Rule.define(__doc__, code="SG203", name="cors-policy-conflict", severity=Severity.WARNING,
                   admission=Admission.ADVISORY)


@RULE.checker
def check(ctx: Context) -> Iterator[Finding]:
    seen: set[tuple[ObjectRef, FieldPath, ObjectRef]] = set()
    for trace in ctx.traces.traces:
        hop = trace.hop
        if hop is None or hop.cors is None:
            continue
        # the winning hop's own backends: a shadowed trace's deliveries belong to another rule
        reached = (ctx.servers.get(w) for backend in hop.backends for w in backend.workloads)
        for server in (s for s in reached if s is not None):
            key = (hop.route, hop.cors.path, server.workload)
            if not server.cors_origins or key in seen:
                continue
            seen.add(key)
            differences = _differences(hop.cors, server)
            if differences:
                yield _finding(hop, server, differences)


def _differences(proxy: CorsAtProxy, server: ServerSpec) -> list[str]:
    found: list[str] = []
    proxy_any, server_any = proxy_allows_any(proxy), server_allows_any(server)
    listed = [o for o in (normalize_origin(x) for x in server.cors_origins if x not in ANY) if o is not None]
    if proxy_any and not server_any:
        found.append("the proxy allows any origin, the server only its list")
    elif server_any and not proxy_any:
        found.append("the server allows any origin, the proxy only its matchers")
    elif not proxy_any:
        found.extend(f"the server allows {origin}, the proxy does not" for origin in listed
                     if not any(proxy_matcher_matches(kind, value, origin) for kind, value in proxy.allow_origins))
        found.extend(f"the proxy allows {kind} {value}, the server no such origin"
                     for kind, value in proxy.allow_origins
                     if not any(proxy_matcher_matches(kind, value, origin) for origin in listed))
    if bool(proxy.allow_credentials) != server.cors_credentials:
        found.append(f"allowCredentials is {str(bool(proxy.allow_credentials)).lower()}, the server's credentials "
                     f"{str(server.cors_credentials).lower()}")
    return found


def _finding(hop: RouteHop, server: ServerSpec, differences: list[str]) -> Finding:
    assert hop.cors is not None
    effect = ("the proxy's headers win for origins it matches and the server's pass through for the rest"
              if server.stack == "node" else "python-socketio still answers 400 to origins outside its own list")
    message = (f"the {describe_proxy(hop)} at {hop.route} {hop.rule_path_text} disagrees with "
               f"{server.workload} ({describe_server(server)}): {'; '.join(differences)}, and {effect}")
    fixes = [f"answer CORS in one place: remove the proxy's CORS from {hop.route} {hop.rule_path_text}, or drop "
             f"the server's `cors` option and `socketguard.io/cors-origins` on {server.workload} (node only)",
             "or make both list the same origins and the same credentials flag"]
    return RULE.finding(hop.route, hop.cors.path, message, fixes=fixes, related=[server.workload],
                        assumptions=hop.assumptions)
