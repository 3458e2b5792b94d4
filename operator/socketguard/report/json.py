"""Machine output: a JSON list of findings, each with its location.

The schema is stable: every item has `code`, `name`, `severity` (`error|warning|info`),
`message`, `object` (`apiVersion`, `kind`, `namespace`, `name`), `path` (the field,
`spec.http[0].rewrite.uri`), `fixes`, `related`, `assumptions` and `location` (`file`, `line`,
`column`, `jsonPath`; `file` is null and `line` 0 for objects read from a cluster).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from socketguard.inputs.locate import Located


def as_data(located: Sequence[Located]) -> list[dict[str, object]]:
    return [{**item.finding.as_dict(), "location": item.location.as_dict()} for item in located]


# One encoder for every item: `json.dumps` with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def render(located: Sequence[Located]) -> str:
    """One finding per line: `indent=` would switch json to its pure-Python encoder, 20x slower."""
    items = [_ENCODE(item) for item in as_data(located)]
    return "[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n"
