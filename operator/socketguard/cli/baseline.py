"""Known findings, recorded once by key so that only new ones are reported.

A finding is known when its key (code, object, field path) is in the baseline; a changed
message of a known finding is not new. Problems that belong to a file or document rather than
an object (SG003) carry the file name in their object, so they are known per file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from socketguard.engine.findings import Finding
from socketguard.engine.objects import ObjectRef

FORMAT_VERSION = 1
Key = tuple[str, ObjectRef, str]


class BaselineError(ValueError):
    """A baseline file that cannot be used."""


def read_baseline(path: Path) -> frozenset[Key]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{path}: cannot read the baseline: {error}") from None
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: not a SocketGuard baseline (no `findings` list)")
    return frozenset(_key(path, entry) for entry in entries)


def _key(path: Path, entry: Any) -> Key:
    obj = entry.get("object") if isinstance(entry, dict) else None
    fields = ("apiVersion", "kind", "namespace", "name")
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f, ""), str) for f in fields):
        raise BaselineError(f"{path}: malformed entry {entry!r}")
    code, field_path = entry.get("code"), entry.get("path", "")
    if not isinstance(code, str) or not isinstance(field_path, str):
        raise BaselineError(f"{path}: malformed entry {entry!r}")
    ref = ObjectRef(*(obj.get(f, "") for f in fields))
    return (code, ref, field_path)


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    keys = sorted({finding.key for finding in findings})
    entries = [{"code": code, "object": ref.as_dict(), "path": field_path} for code, ref, field_path in keys]
    document = {"version": FORMAT_VERSION, "tool": "socketguard", "findings": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def is_known(finding: Finding, known: frozenset[Key]) -> bool:
    return finding.key in known
