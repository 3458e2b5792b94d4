"""Human output: findings grouped by file, `file:line:col: CODE severity name: message`.

Fixes, assumptions and related objects follow on indented lines; a summary line ends the
report. Colour comes from `click.style` and is applied only when asked for, so piping the
output never carries escape codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

import click

from socketguard.engine.findings import Severity
from socketguard.engine.objects import ObjectRef
from socketguard.inputs.locate import Located, Location, by_location

_SEVERITY_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
_NO_FILE = "(objects without a file)"

RefLocator = Callable[[ObjectRef], Location]


def render(
    located: Sequence[Located],
    *,
    colour: bool = False,
    locate_ref: RefLocator | None = None,
    hidden: int = 0,
    baselined: int = 0,
    skipped: int = 0,
) -> str:
    """The whole report; `hidden` and `baselined` count findings left out, `skipped` documents that
    are not Kubernetes objects, for the summary."""
    style = _styler(colour)
    lines: list[str] = []
    for file, grouped in groupby(sorted(located, key=by_location), key=lambda item: item.location.file):
        group = list(grouped)
        lines.append(style(file if file is not None else _NO_FILE, bold=True, underline=True))
        rendered_by = group[0].location.rendered_by
        if rendered_by:
            # Positions in a rendered file count lines of this command's output, not of the template.
            lines.append(f"  (rendered: lines of `{rendered_by}`)")
        for item in group:
            lines.extend(_finding_lines(item, style, locate_ref))
        lines.append("")
    lines.append(summary(located, hidden=hidden, baselined=baselined, skipped=skipped, style=style))
    return "\n".join(lines) + "\n"


Style = Callable[..., str]


def _styler(colour: bool) -> Style:
    if colour:
        return click.style

    def plain(text: str, **_: object) -> str:
        return text

    return plain


def _finding_lines(item: Located, style: Style, locate_ref: RefLocator | None) -> Iterable[str]:
    finding, where = item.finding, item.location
    position = str(where) if where.file is not None else f"{finding.subject}: {where.json_path}"
    severity = style(finding.severity.label, fg=_SEVERITY_COLOURS[finding.severity], bold=True)
    yield f"{position}: {style(finding.code, bold=True)} {severity} {finding.name}: {finding.message}"
    if where.file is not None and finding.subject.kind not in ("File", "Document"):
        yield f"    object: {finding.subject}  ({where.json_path})"
    for fix in finding.fixes:
        yield f"    {style('fix:', fg='green')} {fix}"
    for assumption in finding.assumptions:
        yield f"    {style('assumed:', fg='cyan')} {assumption}"
    for ref in finding.related:
        seen_at = locate_ref(ref) if locate_ref is not None else None
        suffix = f" ({seen_at})" if seen_at is not None and seen_at.file is not None else ""
        yield f"    related: {ref}{suffix}"


def summary(
    located: Sequence[Located], *, hidden: int = 0, baselined: int = 0, skipped: int = 0, style: Style | None = None
) -> str:
    style = style or _styler(False)
    counts = Counter(item.finding.severity for item in located)
    if not located:
        text = "No findings."
    else:
        parts = [
            _plural(counts[severity], severity.label, "s" if severity != Severity.INFO else "")
            for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        ]
        files = len({item.location.file for item in located if item.location.file is not None})
        text = f"{', '.join(parts)} in {_plural(files, 'file', 's')}."
    notes = []
    if hidden:
        notes.append(f"{hidden} below --show not printed")
    if baselined:
        notes.append(f"{baselined} known from the baseline")
    if skipped:
        notes.append(f"{_plural(skipped, 'document', 's')} not Kubernetes skipped, --verbose lists them")
    if notes:
        text = f"{text} ({'; '.join(notes)})"
    worst = max(counts) if counts else None
    colour = _SEVERITY_COLOURS.get(worst, "green") if worst is not None else "green"
    return style(text, fg=colour, bold=True)


def _plural(count: int, noun: str, suffix: str) -> str:
    return f"{count} {noun}{suffix if count != 1 else ''}"
