"""What the SG7xx rules say about a rule of either picture: its live backends, its handshake, its words.

Apart from `pair` so that the rule modules, which `lint` loads with every rule, load no migration
machinery: only `socketguard compare` builds pairs.
"""

from __future__ import annotations

from socketguard.engine.contract import ServerSpec
from socketguard.engine.routing import Backend, RouteHop
from socketguard.engine.routing.decide import unresolved_reason
from socketguard.engine.trace import handshake_path


def delivered(hop: RouteHop | None) -> list[Backend]:
    """The backends of a rule that receive traffic (a positive weight, resolved)."""
    if hop is None or not hop.delivers:
        return []
    return [b for b in hop.backends if b.weight > 0 and unresolved_reason(b) is None]


def accepts(server: ServerSpec, upstream_path: str) -> bool:
    """Whether the server's Engine.IO path takes this request path (`/socket.io/` and below)."""
    wanted = handshake_path(server.path)
    path = upstream_path.split("?", 1)[0]
    return path.startswith(wanted) or path == wanted.rstrip("/")


def describe_hop(hop: RouteHop | None) -> str:
    if hop is None:
        return "no rule"
    return f"{hop.route} {hop.rule_path_text} ({hop.match_text})"


def seconds(milliseconds: float | None) -> str:
    if milliseconds is None:
        return "none"
    value = milliseconds / 1000
    return f"{value:g} s"
