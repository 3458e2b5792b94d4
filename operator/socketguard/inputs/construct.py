"""PyYAML's safe loading, with a fast path for what manifests are made of.

Reading YAML with PyYAML's C loader is two steps: libyaml composes the node tree, calling the
loader's Python `resolve` for the tag of every node, then the SafeConstructor builds Python
objects through generators and per-node dispatch (built for recursive documents that
manifests never contain). At 10,000 objects that is most of `lint`'s time. Two shortcuts keep
PyYAML's answer exactly:

- `FastSafeLoader.resolve` remembers the tags of short scalars: with no path resolvers (the
  safe loader has none), a tag depends only on the node kind, the value and whether it was
  quoted, and keys and common values repeat in every object.
- `construct(loader, node)` builds a document's mappings with string keys, sequences and
  scalars directly: a string is its node's value, every other standard scalar tag goes through
  the SafeConstructor's own function, and a node reached twice (an alias) gives the same object.
  Anything else (merge keys `<<`, `=` keys, non-string keys, `!!set`/`!!omap`/`!!pairs`/
  `!!binary`, local tags, a recursive alias, nesting deeper than `MAX_FAST_DEPTH`) gives up, and
  the document is constructed by PyYAML itself, errors included.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BaseLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR = "tag:yaml.org,2002:str"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
# Scalar tags whose SafeConstructor function reads only the node's value.
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp"))
# Far deeper than any manifest, and shallow enough that PyYAML's own construction (three
# frames a level) would not have hit the recursion limit where the fast path succeeds.
MAX_FAST_DEPTH = 100
_MAX_REMEMBERED_SCALAR = 40
_MAX_REMEMBERED_TAGS = 50_000  # a few MiB at most; keys and common values come first


class FastSafeLoader(_BaseLoader):  # type: ignore[valid-type, misc]
    """The C safe loader (else the pure-Python one), remembering the tags of short scalars."""

    _tags: dict[tuple[Any, str | None, Any], str] = {}

    def resolve(self, kind: Any, value: str | None, implicit: Any) -> str:
        if value is not None and len(value) > _MAX_REMEMBERED_SCALAR:
            return str(super().resolve(kind, value, implicit))
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = str(super().resolve(kind, value, implicit))
            if len(self._tags) < _MAX_REMEMBERED_TAGS:
                self._tags[key] = tag
        return tag


assert not FastSafeLoader.yaml_path_resolvers, "remembered tags assume no path resolvers"


class _FallBackError(Exception):
    """The document holds something only PyYAML's own constructor builds."""


def construct(loader: Any, node: Node) -> Any:
    """The document's Python data, as `loader.construct_document(node)` gives it."""
    try:
        return _Builder(loader).build(node, 0)
    except _FallBackError:
        return loader.construct_document(node)


class _Builder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}  # collection nodes by id: an alias gives the same object
        self.building: set[int] = set()

    def build(self, node: Node, depth: int) -> Any:
        tag = node.tag
        if type(node) is ScalarNode:
            if tag == STR:
                return node.value
            if tag in _SCALARS:
                try:
                    return self.loader.yaml_constructors[tag](self.loader, node)
                except Exception as error:  # `!!int abc`: PyYAML raises its own error, as it would
                    raise _FallBackError from error
            raise _FallBackError
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.building or depth > MAX_FAST_DEPTH:
            raise _FallBackError
        self.building.add(key)
        if type(node) is MappingNode and tag == MAP:
            data: Any = self._mapping(node, depth)
        elif type(node) is SequenceNode and tag == SEQ:
            data = [self.build(item, depth + 1) for item in node.value]
        else:
            raise _FallBackError
        self.building.discard(key)
        self.built[key] = data
        return data

    def _mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag != STR:
                raise _FallBackError  # merge keys, `=` keys, non-string keys
            data[key_node.value] = self.build(value_node, depth + 1)
        return data
