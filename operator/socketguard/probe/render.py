"""A probe report for people: a step table, then each cause with its fix."""

from __future__ import annotations

import json

import click

from socketguard.probe.model import Outcome, ProbeReport, StepResult

_MARKS = {Outcome.OK: ("ok", "green"), Outcome.FAILED: ("FAILED", "red"), Outcome.SKIPPED: ("skipped", "yellow")}


def render_json(report: ProbeReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def render_text(report: ProbeReport) -> str:
    """Plain text with ANSI colours; `click.echo` strips them when the output is not a terminal."""
    options = report.options
    origin = f", origin {options.origin}" if options.origin else ""
    lines = [
        f"probe {options.endpoint} (namespace {options.namespace}, transport {options.transport}{origin})",
        "",
    ]
    title_width = max((len(step.title) for step in report.steps), default=0)
    for step in report.steps:
        lines.extend(_step_lines(step, title_width))
    lines.append("")
    lines.extend(_verdict_lines(report))
    return "\n".join(lines)


def summary_line(report: ProbeReport) -> str:
    """One sentence for an event or a finding message (the operator's SG601)."""
    if report.ok:
        return f"every probe step through {report.options.endpoint} worked"
    entries = report.diagnoses
    if not entries:
        return f"the probe of {report.options.endpoint} did not complete"
    first = entries[0]
    more = f" (+{len(entries) - 1} more cause(s))" if len(entries) > 1 else ""
    return f"{first.diagnosis.cause.value}: {first.diagnosis.summary}{more}"


def _step_lines(step: StepResult, title_width: int) -> list[str]:
    word, colour = _MARKS[step.outcome]
    mark = click.style(f"{word:<7}", fg=colour, bold=step.outcome is Outcome.FAILED)
    timing = f"{step.duration_ms:8.1f} ms" if step.duration_ms is not None else " " * 11
    status = f" -> {step.http_status}" if step.http_status is not None else ""
    head = f"  {mark} {step.title:<{title_width}}  {timing}  {step.request}{status}".rstrip()
    return [head, f"  {'':7} {step.detail}"] if step.detail else [head]


def _verdict_lines(report: ProbeReport) -> list[str]:
    if report.ok:
        return [click.style("OK", fg="green", bold=True) + f": every step worked ({report.total_ms:.0f} ms)"]
    entries = report.diagnoses
    lines = [click.style("FAILED", fg="red", bold=True) + f": {len(entries)} cause(s) ({report.total_ms:.0f} ms)"]
    for entry in entries:
        lines.append("")
        cause = click.style(entry.diagnosis.cause.value, bold=True)
        lines.append(f"  {cause} (in {', '.join(entry.steps)})")
        lines.append(f"    {entry.diagnosis.summary}")
        lines.append(f"    fix: {entry.diagnosis.hint}")
    return lines
