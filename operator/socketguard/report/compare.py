"""`socketguard compare` output: text, JSON (the shape docs/cli.md documents) and SARIF."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from socketguard.engine.migration.compare import Comparison, RouteComparison
from socketguard.engine.migration.pair import Difference
from socketguard.engine.rules.base import Rule
from socketguard.inputs.locate import Located, Location

Locate = Callable[[Difference], Location]


def as_data(comparison: Comparison, locate: Locate) -> dict[str, object]:
    return {
        "routes": [_route(route, locate) for route in comparison.routes],
        "summary": comparison.summary,
        "assumptions": list(comparison.assumptions),
    }


def _route(route: RouteComparison, locate: Locate) -> dict[str, object]:
    client = route.client
    return {
        "host": route.request.host,
        "path": route.request.path,
        "client": client.as_dict() if client is not None else None,
        "verdict": route.verdict,
        "differences": [_difference(d, locate) for d in route.differences],
    }


def _difference(difference: Difference, locate: Locate) -> dict[str, object]:
    finding = difference.finding
    location = locate(difference)
    return {
        "aspect": difference.aspect,
        "code": finding.code,
        "severity": finding.severity.label,
        "before": difference.before,
        "after": difference.after,
        "message": finding.message,
        "fixes": list(finding.fixes),
        "location": location.as_dict(),
    }


def render_json(comparison: Comparison, locate: Locate) -> str:
    return json.dumps(as_data(comparison, locate), indent=2, ensure_ascii=False) + "\n"


def render_text(comparison: Comparison, locate: Locate) -> str:
    lines: list[str] = []
    for route in comparison.routes:
        who = f"  (client {route.client})" if route.client is not None else ""
        lines.append(f"{route.verdict:<8} {route.request.host}{route.request.path}{who}")
        for difference in route.differences:
            finding = difference.finding
            where = _where(locate(difference))
            lines.append(f"  {finding.severity.label} {finding.code} {difference.aspect}: {finding.message}")
            lines.append(f"      before: {difference.before}")
            lines.append(f"      after:  {difference.after}")
            if where:
                lines.append(f"      at:     {where}")
            lines.extend(f"      fix:    {fix}" for fix in finding.fixes)
    summary = comparison.summary
    lines.append("")
    lines.append(", ".join(f"{count} {verdict}" for verdict, count in summary.items()))
    lines.extend(f"assumed: {assumption}" for assumption in comparison.assumptions)
    return "\n".join(lines) + "\n"


def render_sarif(comparison: Comparison, locate: Locate, rules: Sequence[Rule]) -> str:
    from socketguard.report import sarif

    located = [Located(d.finding, locate(d)) for d in comparison.differences()]
    return sarif.render(located, rules, source_root=Path.cwd())


def _where(location: Location) -> str:
    if location.file:
        return f"{location.file}:{location.line}:{location.column} ({location.json_path})"
    return location.json_path
