"""After the migration, the path that reaches the pod is one the Socket.IO server does not take.

What it checks
--------------
`socketguard compare` only. For a handshake both pictures deliver, it compares the path as
the pod receives it, after rewrites: ingress-nginx `rewrite-target` (with `$1`, `$2` capture
groups, applied to every path of the Ingress) against HTTPRoute `URLRewrite`
(`ReplacePrefixMatch` replaces the matched segments, `ReplaceFullPath` the whole path). It is
an error when BEFORE's path was under the server's Engine.IO path (`/socket.io/` unless
`socketguard.io/path` says otherwise) and AFTER's is not; a change that the server still
takes is not reported.

Why it matters
--------------
Capture groups have no Gateway API equivalent. A converter that drops the rewrite, or turns
`/$2` into a `ReplacePrefixMatch` that also strips `/socket.io`, sends the handshake to a path
where the server answers 404 (`Cannot GET /mageagent/socket.io/`).

How to fix
----------
Replace the matched prefix with the server's path, keeping the rest of the URL:

```yaml
rules:
- matches: [{path: {type: PathPrefix, value: /mageagent/socket.io}}]
  filters:
  - type: URLRewrite
    urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /socket.io}}
  backendRefs: [{name: mageagent, port: 8080}]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from socketguard.engine.findings import Severity
from socketguard.engine.migration.hops import accepts, delivered
from socketguard.engine.rules.base import Admission, Rule

if TYPE_CHECKING:
    from socketguard.engine.migration.pair import Difference, RoutePair

RULE = Rule.define(__doc__, code="SG702", name="migration-path-changed", severity=Severity.ERROR,
                   admission=Admission.ADVISORY)
ASPECT = "path"


def differences(pair: RoutePair) -> Iterator[Difference]:
    before, after = pair.before_hop, pair.after_hop
    if before is None or after is None or not delivered(after):
        return
    was, now = before.upstream_path, after.upstream_path
    if was == now:
        return
    servers = [s for s in pair.servers if accepts(s, was)]
    refusing = [s for s in servers if not accepts(s, now)]
    if not refusing:
        return
    server = refusing[0]
    at = (after.route, after.rewrite_path or after.rule_path)
    message = (f"{pair.request.host}{pair.request.path} arrives as {now} after the migration (BEFORE: {was}); "
               f"{server.workload} serves Engine.IO on {server.path}, so the handshake gets 404")
    yield pair.located(RULE, message, aspect=ASPECT, before=was, after=now, at=at,
                       fixes=(_fix(pair, was, server.path),))


def _fix(pair: RoutePair, wanted: str, server_path: str) -> str:
    hop = pair.after_hop
    assert hop is not None
    kind, _, value = hop.match_text.partition(" ")
    where = f"in {hop.route} {hop.rule_path_text}"
    if kind != "PathPrefix":
        return (f"{where}: match `{{path: {{type: PathPrefix, value: ...}}}}` and rewrite with ReplacePrefixMatch; "
                f"the server takes {server_path}/")
    return (f"{where}: `filters: [{{type: URLRewrite, urlRewrite: {{path: {{type: ReplacePrefixMatch, "
            f"replacePrefixMatch: {replacement(value, pair.request.path, wanted, server_path)}}}}}}}]`")


def replacement(prefix: str, request_path: str, wanted: str, server_path: str) -> str:
    """The ReplacePrefixMatch value that turns `request_path` into `wanted` (BEFORE's upstream path)."""
    rest = request_path[len(prefix.rstrip("/")):]
    wanted_path = wanted.split("?", 1)[0]
    if rest and wanted_path.endswith(rest):
        return wanted_path[: len(wanted_path) - len(rest)] or "/"
    return server_path.rstrip("/") or "/"
