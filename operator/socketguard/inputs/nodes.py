"""The YAML nodes the loader keeps for locating findings, in a third less memory than PyYAML's.

A lint keeps the composed node of every document until it exits, so that a finding's field
path can be walked to `file:line:col` when it is reported: about 480,000 nodes at 10,000
objects. PyYAML's node classes give each node an attribute dict and two marks (start and end):
180 MB at that size. Compact nodes have slots and keep the start mark only: 113 MB. On the
machines this project runs on, first touching fresh memory is a tenth of a large lint's time.

libyaml's composer (PyYAML's C extension, `yaml._yaml`) builds each node with the class its
module names `ScalarNode`, `SequenceNode` or `MappingNode`, looked up when the node is built.
`compact_nodes()` points those names at the compact classes while the loader composes, and
back after; the lint is single-threaded, and the names are restored even when parsing fails.
Without the extension nothing is replaced and the nodes are PyYAML's: every reader of nodes
here (`construct`, `locate`, `loader`) goes by the `id` both kinds carry ("scalar",
"sequence", "mapping") and reads only `tag`, `value` and `start_mark`.

PyYAML's own constructor, the fallback for the rare documents the fast path does not build
(merge keys, sets, ...), checks node classes: such a document is converted back first
(`as_pyyaml`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

import yaml


class Node(Protocol):
    """What the loader and the locator read of a node, PyYAML's or compact."""

    id: ClassVar[str]
    tag: str
    value: Any

    @property
    def start_mark(self) -> yaml.Mark: ...


class CompactScalar:
    """A scalar node without an attribute dict or an end mark."""

    __slots__ = ("start_mark", "style", "tag", "value")
    id: ClassVar[str] = "scalar"

    def __init__(self, tag: str, value: str, start_mark: yaml.Mark, end_mark: object, style: str | None) -> None:
        self.tag, self.value, self.start_mark, self.style = tag, value, start_mark, style


class _CompactCollection:
    __slots__ = ("flow_style", "start_mark", "tag", "value")
    id: ClassVar[str]

    def __init__(self, tag: str, value: list[Any], start_mark: yaml.Mark, end_mark: object,
                 flow_style: bool | None) -> None:
        self.tag, self.value, self.start_mark, self.flow_style = tag, value, start_mark, flow_style

    @property
    def end_mark(self) -> None:
        return None

    @end_mark.setter
    def end_mark(self, mark: object) -> None:
        """The composer sets it when the collection closes; nothing here reads it."""


class CompactSequence(_CompactCollection):
    __slots__ = ()
    id = "sequence"


class CompactMapping(_CompactCollection):
    __slots__ = ()
    id = "mapping"


_COMPACT: dict[str, type] = {"ScalarNode": CompactScalar, "SequenceNode": CompactSequence,
                             "MappingNode": CompactMapping}
# What PyYAML's resolver and constructor expect in place of each compact class.
PYYAML_KIND: dict[type, type[yaml.Node]] = {CompactScalar: yaml.ScalarNode, CompactSequence: yaml.SequenceNode,
                                            CompactMapping: yaml.MappingNode}


@contextmanager
def compact_nodes() -> Iterator[None]:
    """Within the block, libyaml's composer builds compact nodes (when PyYAML has its C extension)."""
    composer = sys.modules.get("yaml._yaml")
    names = composer.__dict__ if composer is not None else {}
    saved = {name: names[name] for name in _COMPACT if name in names}
    if len(saved) != len(_COMPACT):
        yield  # no C composer, or one laid out otherwise: PyYAML's nodes
        return
    names.update(_COMPACT)
    try:
        yield
    finally:
        names.update(saved)


def as_pyyaml(node: Node) -> yaml.Node:
    """The same tree in PyYAML's node classes; a node reached twice (an alias) converts once."""
    return _Converter().convert(node)


class _Converter:
    def __init__(self) -> None:
        self.converted: dict[int, yaml.Node] = {}

    def convert(self, node: Node) -> yaml.Node:
        done = self.converted.get(id(node))
        if done is not None:
            return done
        kind = PYYAML_KIND.get(type(node))
        if kind is None:
            assert isinstance(node, yaml.Node)  # already PyYAML's
            return node
        if kind is yaml.ScalarNode:
            converted: yaml.Node = yaml.ScalarNode(node.tag, node.value, node.start_mark, node.start_mark,
                                                   getattr(node, "style", None))
            self.converted[id(node)] = converted
            return converted
        value: list[Any] = []
        flow_style = getattr(node, "flow_style", None)
        # The node is registered before its children, so a recursive alias converts to the same loop.
        if kind is yaml.SequenceNode:
            converted = self.converted[id(node)] = yaml.SequenceNode(node.tag, value, node.start_mark, None, flow_style)
            value.extend(self.convert(item) for item in node.value)
        else:
            converted = self.converted[id(node)] = yaml.MappingNode(node.tag, value, node.start_mark, None, flow_style)
            value.extend((self.convert(key), self.convert(item)) for key, item in node.value)
        return converted
