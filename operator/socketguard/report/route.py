"""`socketguard route` output: each router's decision for one request, as text or JSON.

JSON: `{"request": {"url", "host", "path", "method", "headers"}, "decisions": [{"router",
"entrance": OBJECT | "mesh", "route": OBJECT | null, "field", "action", "status", "upstream_path",
"location", "backends": [{"service": OBJECT | null, "port", "weight", "workloads": [OBJECT]}],
"notes"}]}`, objects shaped as `lint`'s `object` field (`apiVersion`, `kind`, `namespace`, `name`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from socketguard.engine.objects import render_path
from socketguard.engine.routing import Backend
from socketguard.engine.routing.decide import Decision


@dataclass(frozen=True)
class AskedRequest:
    """The request as the user gave it."""

    url: str
    host: str
    path: str
    method: str
    headers: Mapping[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "host": self.host, "path": self.path, "method": self.method,
                "headers": dict(self.headers)}


def as_data(request: AskedRequest, decisions: Sequence[Decision]) -> dict[str, object]:
    return {"request": request.as_dict(), "decisions": [decision_data(d) for d in decisions]}


def decision_data(decision: Decision) -> dict[str, object]:
    return {
        "router": decision.router,
        "entrance": decision.entrance.as_dict() if decision.entrance is not None else "mesh",
        "route": decision.route.as_dict() if decision.route is not None else None,
        "field": render_path(decision.field) if decision.field is not None else None,
        "action": decision.action,
        "status": decision.status,
        "upstream_path": decision.upstream_path,
        "location": decision.location,
        "backends": [_backend_data(b) for b in decision.backends],
        "notes": list(decision.notes),
    }


def _backend_data(backend: Backend) -> dict[str, object]:
    return {
        "service": backend.service.as_dict() if backend.service is not None else None,
        "port": backend.service_port if backend.service_port is not None else backend.port_number,
        "weight": backend.weight,
        "workloads": [w.as_dict() for w in backend.workloads],
    }


def render_json(request: AskedRequest, decisions: Sequence[Decision]) -> str:
    return json.dumps(as_data(request, decisions), indent=2, ensure_ascii=False) + "\n"


def render_text(request: AskedRequest, decisions: Sequence[Decision]) -> str:
    lines = [f"{request.method} {request.url}"]
    if not decisions:
        lines.append("  no entrance serves this host")
    for decision in decisions:
        lines.extend(_decision_lines(decision))
    return "\n".join(lines) + "\n"


def _decision_lines(decision: Decision) -> list[str]:
    entrance = str(decision.entrance) if decision.entrance is not None else "mesh (sidecar)"
    status = f" {decision.status}" if decision.status is not None else ""
    lines = [f"{decision.router} at {entrance}: {decision.action}{status}"]
    if decision.route is not None:
        where = f" {render_path(decision.field)}" if decision.field is not None else ""
        lines.append(f"  route     {decision.route}{where}")
    if decision.location is not None:
        lines.append(f"  location  {decision.location}")
    if decision.upstream_path is not None:
        lines.append(f"  upstream  {decision.upstream_path}")
    lines.extend(f"  backend   {_backend_text(b)}" for b in decision.backends)
    lines.extend(f"  note      {note}" for note in decision.notes)
    return lines


def share_text(backend: Backend) -> str:
    """The backend's share of requests; a header or cookie canary with no weight is chosen only so."""
    if backend.chosen_by is None:
        return f"weight {backend.weight}%"
    weight = f"weight {backend.weight}% or " if backend.weight else ""
    return f"{weight}by {backend.chosen_by}"


def _backend_text(backend: Backend) -> str:
    target = str(backend.service) if backend.service is not None else backend.host
    port = backend.service_port if backend.service_port is not None else backend.port_number
    text = f"{target}" + (f" port {port}" if port is not None else "") + f" {share_text(backend)}"
    if backend.workloads:
        text += " -> " + ", ".join(str(w) for w in backend.workloads)
    return text
