"""Machine output: a JSON list of findings, each with its location.

The schema is stable: every item has `code`, `name`, `severity` (`error|warning|info`),
`message`, `object` (`apiVersion`, `kind`, `namespace`, `name`), `path` (the field,
`spec.http[0].rewrite.uri`), `fixes`, `related`, `assumptions` and `location` (`file`, `line`,
`column`, `jsonPath`; `file` is null and `line` 0 for objects read from a cluster).
It is `Finding.as_dict()` with `Location.as_dict()` under `location`, one finding per line,
written as `json.dumps(item, ensure_ascii=False)` writes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring as _string

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.inputs.locate import Located, Location


def render(located: Sequence[Located]) -> str:
    """The whole report as one text (see `lines`)."""
    return "".join(lines(located))


def lines(located: Sequence[Located]) -> Iterator[str]:
    """The report, one finding a line: a large one is written as it is encoded, never held twice.

    One finding per line, not `indent=`, which would switch json to its pure-Python encoder (20x
    slower). Each field is written as `json.dumps(item, ensure_ascii=False)` writes it, with
    json's own C string encoder (`tests/report/test_json_report.py` holds the two equal), at a
    third of the cost of encoding a dict per finding: a large lint repeats the same objects
    across thousands of findings, and each is encoded once.
    """
    if not located:
        yield "[]\n"
        return
    parts = _Parts()
    separator = "[\n"
    for entry in located:
        yield separator + _item(entry, parts)
        separator = ",\n"
    yield "\n]\n"


def _item(entry: Located, parts: _Parts) -> str:
    finding = entry.finding
    return (
        f'{parts.rule(finding)}"message": {_string(finding.message)}, '
        f'"object": {parts.one(finding.subject)}, "path": {_string(finding.field_path)}, '
        f'"fixes": {_texts(finding.fixes)}, "related": {parts.many(finding.related)}, '
        f'"assumptions": {_texts(finding.assumptions)}, "location": {_location(entry.location)}}}'
    )


def _texts(values: Sequence[str]) -> str:
    return "[" + ", ".join(map(_string, values)) + "]" if values else "[]"


def _location(where: Location) -> str:
    file = "null" if where.file is None else _string(where.file)
    shown = f', "renderedBy": {_string(where.rendered_by)}' if where.rendered_by else ""
    return (f'{{"file": {file}, "line": {where.line}, "column": {where.column}, '
            f'"jsonPath": {_string(where.json_path)}{shown}}}')


class _Parts:
    """What many findings share, as JSON, each encoded once: a rule's code, name and severity, an
    object (`ObjectRef.as_dict()`), a list of related objects."""

    def __init__(self) -> None:
        self._one: dict[ObjectRef, str] = {}
        self._many: dict[tuple[ObjectRef, ...], str] = {}
        self._rules: dict[tuple[str, str, Severity], str] = {}

    def rule(self, finding: Finding) -> str:
        """The item's opening, up to its message: the same for every finding of a rule."""
        key = (finding.code, finding.name, finding.severity)
        text = self._rules.get(key)
        if text is None:
            text = self._rules[key] = (f'{{"code": {_string(finding.code)}, "name": {_string(finding.name)}, '
                                       f'"severity": "{finding.severity.label}", ')
        return text

    def one(self, ref: ObjectRef) -> str:
        text = self._one.get(ref)
        if text is None:
            text = self._one[ref] = (
                f'{{"apiVersion": {_string(ref.api_version)}, "kind": {_string(ref.kind)}, '
                f'"namespace": {_string(ref.namespace)}, "name": {_string(ref.name)}}}'
            )
        return text

    def many(self, refs: tuple[ObjectRef, ...]) -> str:
        text = self._many.get(refs)
        if text is None:
            text = self._many[refs] = "[" + ", ".join(map(self.one, refs)) + "]"
        return text
