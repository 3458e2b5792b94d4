"""Where a finding points: `FieldPath` -> `file:line:col`, or a JSONPath when there is no file.

The loader keeps the composed YAML node of every object it reads (an `Origin`); the node tree
is walked along the finding's path only when the finding is reported, so locating costs
nothing for the objects that have no finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import yaml

from socketguard.engine.findings import Finding
from socketguard.engine.objects import FieldPath, ObjectRef, render_path
from socketguard.engine.values import value_type
from socketguard.inputs.nodes import Node


@value_type
class Location:
    """A 1-based position in a file; `line == 0` means the file alone (no position known)."""

    file: str | None
    line: int = 0
    column: int = 0
    json_path: str = "$"
    # For rendered manifests (Helm, Kustomize): the command that prints the text `line` counts in.
    rendered_by: str = ""

    def __str__(self) -> str:
        if self.file is None:
            return self.json_path
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def as_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {"file": self.file, "line": self.line, "column": self.column}
        shown["jsonPath"] = self.json_path  # after the position, as JSON reports have always listed it
        return {**shown, "renderedBy": self.rendered_by} if self.rendered_by else shown


@value_type
class Origin:
    """Where one object was read: the file, its node (None for JSON read without positions)."""

    file: str
    node: Node | None = None
    line: int = 1
    column: int = 1
    rendered_by: str = ""  # see Location.rendered_by

    @classmethod
    def of_node(cls, file: str, node: Node) -> Origin:
        return cls(file, node, node.start_mark.line + 1, node.start_mark.column + 1)


def json_path(path: FieldPath) -> str:
    rendered = render_path(path)
    if not rendered:
        return "$"
    return f"${rendered}" if rendered.startswith("[") else f"$.{rendered}"


def node_position(node: Node, path: FieldPath) -> tuple[int, int]:
    """0-based (line, column) of the deepest part of `path` that exists under `node`.

    A mapping entry points at its key (`uri:`), a list item at the item; a missing field
    points at its nearest existing ancestor, so a missing annotation lands on `annotations:`.
    """
    mark = node.start_mark
    current = node
    for segment in path:
        child = _child(current, segment)
        if child is None:
            break
        mark, current = child
    return mark.line, mark.column


def _child(node: Node, segment: str | int) -> tuple[yaml.Mark, Node] | None:
    if isinstance(segment, int) and node.id == "sequence":
        items = node.value
        if -len(items) <= segment < len(items):
            item: Node = items[segment]
            return item.start_mark, item
        return None
    if isinstance(segment, str) and node.id == "mapping":
        # Last match wins, as in the constructed dict when a key is repeated.
        for key_node, value_node in reversed(node.value):
            if key_node.id == "scalar" and key_node.value == segment:
                return key_node.start_mark, value_node
    return None


@value_type
class Located:
    """A finding and where it points."""

    finding: Finding
    location: Location


def by_location(item: Located) -> tuple[bool, str, int, int, int, str, str]:
    """Report order: by file and position (objects without a file last), worst first."""
    where = item.location
    return (
        where.file is None,
        where.file or str(item.finding.subject),
        where.line,
        where.column,
        -item.finding.severity,
        item.finding.code,
        item.finding.message,
    )


_Key = tuple[str, str, str, str]


def _key(ref: ObjectRef) -> _Key:
    # By group, not version: a rule may name the object with another served version.
    return (ref.group, ref.kind, ref.namespace, ref.name)


class Locator:
    """Locates findings on the objects that were loaded from files."""

    def __init__(self, origins: Mapping[ObjectRef, Origin] | None = None) -> None:
        self._origins: dict[_Key, Origin] = {}
        # Findings of several rules point at the same field of an object: each is walked to once.
        # Keyed by the ref as the finding names it (hashed in C); a ref naming the object by
        # another served version is located once more, to the same place.
        self._located: dict[tuple[ObjectRef, FieldPath], Location] = {}
        if origins:
            self.update(origins.items())

    def add(self, ref: ObjectRef, origin: Origin) -> Origin | None:
        """Remembers where `ref` was read; returns the origin this replaces, if any."""
        key = _key(ref)
        previous = self._origins.get(key)
        self._origins[key] = origin
        if self._located:
            self._located.clear()
        return previous

    def update(self, pairs: Iterable[tuple[ObjectRef, Origin]]) -> None:
        for ref, origin in pairs:
            self.add(ref, origin)

    def origin(self, ref: ObjectRef) -> Origin | None:
        return self._origins.get(_key(ref))

    def locate(self, ref: ObjectRef, path: FieldPath = ()) -> Location:
        key = (ref, path)
        located = self._located.get(key)
        if located is None:
            located = self._located[key] = self._locate(ref, path)
        return located

    def _locate(self, ref: ObjectRef, path: FieldPath) -> Location:
        origin = self.origin(ref)
        where = json_path(path)
        if origin is None:
            return Location(None, json_path=where)
        if origin.node is None:
            return Location(origin.file, origin.line, origin.column, where, origin.rendered_by)
        line, column = node_position(origin.node, path)
        return Location(origin.file, line + 1, column + 1, where, origin.rendered_by)

    def locate_finding(self, finding: Finding) -> Located:
        return Located(finding, self.locate(finding.subject, finding.path))
