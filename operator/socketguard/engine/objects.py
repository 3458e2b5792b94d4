"""Identities of Kubernetes objects and field paths inside them.

A finding names the object to change (`ObjectRef`) and the field (`FieldPath`), rendered as
the JSONPath-like string admins see (`spec.http[0].rewrite.uri`,
`metadata.annotations['socketguard.io/path']`). The CLI maps the same path to file:line:col.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

PathSegment: TypeAlias = str | int
FieldPath: TypeAlias = tuple[PathSegment, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ObjectRef(NamedTuple):
    """apiVersion/kind/namespace/name of one object; namespace is "" for cluster-scoped kinds.

    A named tuple: refs are set members, dict keys and sort keys hundreds of thousands of times
    in a large lint, and a tuple hashes and compares in C.
    """

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    @classmethod
    def of(cls, obj: Any) -> ObjectRef:
        """The ref of a raw object dict, tolerant of missing or mistyped fields."""
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        return cls(
            api_version=_text(obj.get("apiVersion")) if isinstance(obj, dict) else "",
            kind=_text(obj.get("kind")) if isinstance(obj, dict) else "",
            namespace=_text(meta.get("namespace")),
            name=_text(meta.get("name")),
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@lru_cache(maxsize=16384)  # the same few hundred paths recur across every object of a cluster
def render_path(path: FieldPath) -> str:
    """`("spec", "http", 0, "rewrite", "uri")` -> `spec.http[0].rewrite.uri`."""
    out: list[str] = []
    for segment in path:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _PLAIN_KEY.match(segment):
            out.append(f".{segment}" if out else segment)
        else:
            out.append(f"['{segment}']")
    return "".join(out)


def annotation_path(key: str) -> FieldPath:
    return ("metadata", "annotations", key)


def get_path(obj: Any, path: FieldPath) -> Any:
    """The value at `path` in a raw object, or None when any step is missing or mistyped."""
    current = obj
    for segment in path:
        if isinstance(segment, int):
            if not isinstance(current, list) or not -len(current) <= segment < len(current):
                return None
            current = current[segment]
        else:
            if not isinstance(current, dict):
                return None
            current = current.get(segment)
    return current
