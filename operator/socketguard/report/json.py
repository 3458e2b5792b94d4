"""Machine output: a JSON list of findings, each with its location.

The schema is stable: every item has `code`, `name`, `severity` (`error|warning|info`),
`message`, `object` (`apiVersion`, `kind`, `namespace`, `name`), `path` (the field,
`spec.http[0].rewrite.uri`), `fixes`, `related`, `assumptions` and `location` (`file`, `line`,
`column`, `jsonPath`; `file` is null and `line` 0 for objects read from a cluster).
It is `Finding.as_dict()` with `Location.as_dict()` under `location`, one finding per line,
written as `json.dumps(item, ensure_ascii=False)` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring as _string

from socketguard.engine.objects import ObjectRef
from socketguard.inputs.locate import Located, Location

# One encoder for every part: `json.dumps` with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode

_Part = ObjectRef | tuple[str, ...] | tuple[ObjectRef, ...]


def render(located: Sequence[Located]) -> str:
    """The whole report as one text (see `lines`)."""
    return "".join(lines(located))


def lines(located: Sequence[Located]) -> Iterator[str]:
    """The report, one finding a line: a large one is written as it is encoded, never held twice.

    One finding per line, not `indent=`, which would switch json to its pure-Python encoder (20x
    slower). A large lint repeats the same object, fixes and related objects across thousands
    of findings: each such part is encoded once and reused. The rest (the message, the path, the
    location) is written field by field with json's own C string encoder, as `json.dumps` would
    write it (which `tests/report/test_json_report.py` checks), at half the cost of encoding
    a dict per finding.
    """
    if not located:
        yield "[]\n"
        return
    encoded: dict[_Part, str] = {}
    separator = "[\n"
    for entry in located:
        yield separator + _item(entry, encoded)
        separator = ",\n"
    yield "\n]\n"


def _item(entry: Located, encoded: dict[_Part, str]) -> str:
    finding = entry.finding
    return (
        f'{{"code": {_string(finding.code)}, "name": {_string(finding.name)}, '
        f'"severity": "{finding.severity.label}", "message": {_string(finding.message)}, '
        f'"object": {_part(finding.subject, encoded)}, "path": {_string(finding.field_path)}, '
        f'"fixes": {_part(finding.fixes, encoded)}, "related": {_part(finding.related, encoded)}, '
        f'"assumptions": {_part(finding.assumptions, encoded)}, '
        f'"location": {_location(entry.location)}}}'
    )


def _location(where: Location) -> str:
    file = "null" if where.file is None else _string(where.file)
    shown = f', "renderedBy": {_string(where.rendered_by)}' if where.rendered_by else ""
    return (f'{{"file": {file}, "line": {where.line}, "column": {where.column}, '
            f'"jsonPath": {_string(where.json_path)}{shown}}}')


def _part(value: _Part, encoded: dict[_Part, str]) -> str:
    text = encoded.get(value)
    if text is None:
        if isinstance(value, ObjectRef):
            text = _ENCODE(value.as_dict())
        else:
            text = _ENCODE([item.as_dict() if isinstance(item, ObjectRef) else item for item in value])
        encoded[value] = text
    return text
