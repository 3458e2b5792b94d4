"""The loader keeps compact nodes (`inputs.nodes`) and leaves PyYAML as it found it.

The compact classes are what make a 10,000-object lint keep 113 MB of nodes instead of 180 MB
(bench/lint_scale.py); these tests pin that they are really the ones kept, that PyYAML's C
composer gets its own classes back afterwards (after a syntax error too), and that findings are
located on them exactly as on PyYAML's nodes.
"""

from __future__ import annotations

from pathlib import Path

import yaml
import yaml._yaml as composer  # PyYAML's C extension, which the loader needs to compact nodes

from socketguard.inputs.loader import load_bytes, load_inputs
from socketguard.inputs.locate import node_position
from socketguard.inputs.nodes import CompactMapping, CompactScalar, CompactSequence, as_pyyaml

TEXT = b"""\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec:
    ports:
    - {name: http, port: 80}
"""
PYYAML_CLASSES = {name: getattr(yaml.nodes, name) for name in ("ScalarNode", "SequenceNode", "MappingNode")}


def assert_composer_restored() -> None:
    assert {name: getattr(composer, name) for name in PYYAML_CLASSES} == PYYAML_CLASSES


def test_the_loader_keeps_compact_nodes_and_restores_the_composer() -> None:
    loaded = load_bytes("list.yaml", TEXT)
    node = loaded.objects[0].origin.node  # type: ignore[union-attr]
    assert type(node) is CompactMapping
    ports = {key.value: value for key, value in node.value}["spec"].value[0][1]
    assert type(ports) is CompactSequence
    assert all(type(key) is CompactScalar for key, _ in node.value)
    assert not hasattr(node, "__dict__")
    assert_composer_restored()
    assert type(yaml.compose(TEXT, Loader=yaml.CSafeLoader)) is yaml.MappingNode


def test_the_composer_is_restored_after_a_syntax_error() -> None:
    loaded = load_bytes("broken.yaml", b"a: [1, 2\nb: {")
    assert [problem.finding.code for problem in loaded.problems] == ["SG003"]
    assert_composer_restored()


def test_a_directory_is_read_into_compact_nodes_and_the_composer_restored(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(TEXT)
    (tmp_path / "b.yaml").write_bytes(b"a: [1, 2\nb: {")
    loaded = load_inputs([str(tmp_path)], cwd=tmp_path)
    assert [type(item.origin.node) for item in loaded.objects if item.origin] == [CompactMapping]
    assert [problem.location.file for problem in loaded.problems] == ["b.yaml"]
    assert_composer_restored()


def test_positions_on_compact_nodes_are_those_on_pyyaml_nodes() -> None:
    compact = load_bytes("list.yaml", TEXT).objects[0].origin.node  # type: ignore[union-attr]
    assert compact is not None
    pyyaml = as_pyyaml(compact)
    assert type(pyyaml) is yaml.MappingNode
    for path in [(), ("spec",), ("spec", "ports", 0, "port"), ("spec", "ports", 0), ("metadata", "name"),
                 ("spec", "ports", 5), ("missing", "deeper")]:
        assert node_position(compact, path) == node_position(pyyaml, path)
    # 0-based: the key `port` in `    - {name: http, port: 80}`.
    assert node_position(compact, ("spec", "ports", 0, "port")) == (8, 19)
