"""PyYAML's safe loading, with a fast path for what manifests are made of.

Reading YAML with PyYAML's C loader is two steps: libyaml composes the node tree, calling the
loader's Python `resolve` for the tag of every node, then the SafeConstructor builds Python
objects through generators and per-node dispatch (built for recursive documents that
manifests never contain). At 10,000 objects that is most of `lint`'s time. Two shortcuts keep
PyYAML's answer exactly:

- `FastSafeLoader.resolve` remembers the tags of scalars: with no path resolvers (the safe
  loader has none), a tag depends only on the node kind, the value and whether it was quoted,
  and keys and common values repeat in every object.
- `construct(loader, node)` builds a document's mappings with string keys, sequences and
  scalars directly: a string is its node's value, every other standard scalar tag goes through
  the SafeConstructor's own function (once per distinct text), and a node reached twice (an
  alias) gives the same object.
  Anything else (merge keys `<<`, `=` keys, non-string keys, `!!set`/`!!omap`/`!!pairs`/
  `!!binary`, local tags, a recursive alias, nesting deeper than `MAX_FAST_DEPTH`) gives up, and
  the document is constructed by PyYAML itself, errors included.

Nodes may be PyYAML's or the loader's compact ones (`inputs.nodes`): both are told apart by `id`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import yaml

from socketguard.inputs.nodes import PYYAML_KIND, Node, as_pyyaml

_BaseLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR = "tag:yaml.org,2002:str"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
# Scalar tags whose SafeConstructor function reads only the node's value.
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp"))
# Far deeper than any manifest, and shallow enough that PyYAML's own construction (three
# frames a level) would not have hit the recursion limit where the fast path succeeds.
MAX_FAST_DEPTH = 100
# The cache keeps the scalars it was asked about; a lint keeps every node until it exits anyway.
_MAX_REMEMBERED_TAGS = 50_000


_RESOLVE: Callable[[type, str | None, Any], str] = yaml.resolver.Resolver().resolve


def _resolve(kind: type, value: str | None, implicit: Any) -> str:
    """PyYAML's tag for a node; the resolver tells kinds apart by PyYAML's node classes."""
    return _RESOLVE(PYYAML_KIND.get(kind, kind), value, implicit)


class FastSafeLoader(_BaseLoader):  # type: ignore[valid-type, misc]
    """The C safe loader (else the pure-Python one), remembering the tags of scalars."""

    # libyaml calls these three for every node, from C. Without path resolvers the first two do
    # nothing and `resolve` depends only on its arguments, so C callables stand in for the Python
    # methods: a builtin that ignores its result, and a cache that calls PyYAML only on a miss
    # (with the tag table of PyYAML's Resolver, which both safe loaders use unchanged).
    descend_resolver = staticmethod(operator.is_)  # (parent node, index): the result is ignored
    ascend_resolver = staticmethod(tuple)  # (): the result is ignored
    resolve = staticmethod(lru_cache(maxsize=_MAX_REMEMBERED_TAGS)(_resolve))


assert not FastSafeLoader.yaml_path_resolvers, "remembered tags assume no path resolvers"
assert FastSafeLoader.yaml_implicit_resolvers is yaml.resolver.Resolver.yaml_implicit_resolvers


class _FallBackError(Exception):
    """The document holds something only PyYAML's own constructor builds."""


def construct(loader: Any, node: Node, anchored: bool = True) -> Any:
    """The document's Python data, as `loader.construct_document(node)` gives it.

    `anchored=False` says the text has no `&` at all, so no node can be an alias of another
    (the composer refuses an alias without its anchor) and nothing needs remembering.
    """
    try:
        return _Builder(loader, anchored).build(node, 0)
    except _FallBackError:
        return loader.construct_document(as_pyyaml(node))


class _Builder:
    def __init__(self, loader: Any, anchored: bool) -> None:
        self.loader = loader
        self.anchored = anchored
        self.built: dict[int, Any] = {}  # collection nodes by id: an alias gives the same object
        self.building: set[int] = set()

    def build(self, node: Node, depth: int) -> Any:
        kind = node.id
        if kind == "scalar":
            return self._scalar(node)
        if not self.anchored:
            return self._collection(node, kind, depth)
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.building:
            raise _FallBackError
        self.building.add(key)
        data = self.built[key] = self._collection(node, kind, depth)
        self.building.discard(key)
        return data

    def _scalar(self, node: Node) -> Any:
        tag = node.tag
        if tag == STR:
            return node.value
        if tag in _SCALARS:
            try:
                return _standard_scalar(tag, node.value)
            except Exception as error:  # `!!int abc`: PyYAML raises its own error, as it would
                raise _FallBackError from error
        raise _FallBackError

    def _collection(self, node: Node, kind: str, depth: int) -> Any:
        if depth > MAX_FAST_DEPTH:
            raise _FallBackError
        tag = node.tag
        if kind == "sequence" and tag == SEQ:
            return [self.build(item, depth + 1) for item in node.value]
        if kind != "mapping" or tag != MAP:
            raise _FallBackError
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.id != "scalar" or key_node.tag != STR:
                raise _FallBackError  # merge keys, `=` keys, non-string keys
            # Most values are strings: taken here, not through `build` (a third of all nodes).
            is_text = value_node.tag == STR and value_node.id == "scalar"
            data[key_node.value] = value_node.value if is_text else self.build(value_node, depth + 1)
        return data


@lru_cache(maxsize=_MAX_REMEMBERED_TAGS)
def _standard_scalar(tag: str, text: str) -> Any:
    """A null, bool, int, float or timestamp, as the SafeConstructor builds it: from the text alone
    (values are immutable, so a repeated `80` or `true` can share one)."""
    return _SAFE.yaml_constructors[tag](_SAFE, yaml.ScalarNode(tag, text))


_SAFE = yaml.constructor.SafeConstructor()
