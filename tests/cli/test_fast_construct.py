"""The loader's fast YAML construction gives what PyYAML's safe loader gives, data and errors alike.

PyYAML itself is the oracle: each text is read by `yaml.load_all(..., CSafeLoader)` and by the
loader's `FastSafeLoader` + `construct`, over PyYAML's nodes and over the loader's compact ones
(`inputs.nodes`), and the documents (or the error type) must be equal, the sharing of aliased
objects included.
"""

from __future__ import annotations

import subprocess
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from socketguard.inputs.construct import MAX_FAST_DEPTH, FastSafeLoader, construct
from socketguard.inputs.loader import load_bytes
from socketguard.inputs.nodes import compact_nodes

PyYAMLLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROOT = Path(__file__).resolve().parents[2]

# Plain scalars that YAML 1.1 resolves to other types, or nearly does.
PLAIN = ["yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "Null", "", "0x1F", "0o17", "017",
         "1_000", "190:20:30", "-1.5e3", ".inf", "-.Inf", ".NaN", "1.", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
         "2001-12-14 21:59:43.10", "3000", "0", "+12", "v1", "apps/v1", "a b", "=", "<<", "80", "8080:80"]
QUOTED = ['"yes"', "'80'", '"0x1F"', "'~'", '"a\\tb"', "''"]
TAGGED = ["!!str 80", "!!int '42'", "!!float 1", "!!bool yes", "!!null ''", "!!binary aGVsbG8=",
          "!!timestamp 2001-12-14", "!!int abc", "!custom x", "!!set {a, b}", "!!omap [{a: 1}]",
          "!!pairs [{a: 1}]"]
SCALARS = st.sampled_from(PLAIN + QUOTED + TAGGED)
KEYS = st.sampled_from(["a", "b", "name", "80", "yes", "~", "<<", "=", "'quoted'", "[1, 2]", "{x: 1}", "? c"])


def block(depth: int) -> st.SearchStrategy[str]:
    """A block mapping or sequence, each entry a scalar, a flow collection or a nested block."""
    if depth == 0:
        return SCALARS
    inner = st.one_of(SCALARS, st.builds(lambda xs: "[" + ", ".join(xs) + "]", st.lists(SCALARS, max_size=3)),
                      st.builds(lambda v: "\n" + v, block(depth - 1)))
    pad = "  " * (3 - depth)
    mapping = st.lists(st.tuples(KEYS, inner), min_size=1, max_size=4).map(
        lambda items: "\n".join(f"{pad}{k}: {_indent(v, pad)}" for k, v in items))
    sequence = st.lists(inner, min_size=1, max_size=3).map(
        lambda items: "\n".join(f"{pad}- {_indent(v, pad)}" for v in items))
    return st.one_of(mapping, sequence)


def _indent(value: str, pad: str) -> str:
    return value.replace("\n", "\n" + pad + "  ") if value.startswith("\n") else value


def read(text: str, fast: bool, anchored: bool | None = None, compact: bool = False) -> tuple[str, list[Any]]:
    """("ok", documents) or (error type, documents read before it).

    The fast path tracks aliases when the text has an `&`, as the loader does, or as `anchored` says.
    """
    anchored = "&" in text if anchored is None else anchored
    documents: list[Any] = []
    loader: Any = FastSafeLoader(text) if fast else PyYAMLLoader(text)
    try:
        with compact_nodes() if compact else nullcontext():
            while loader.check_node():
                node = loader.get_node()
                documents.append(construct(loader, node, anchored) if fast else loader.construct_document(node))
    except Exception as error:  # the oracle's error type is the expectation
        return type(error).__name__, documents
    finally:
        loader.dispose()
    return "ok", documents


def shape(value: Any, seen: dict[int, int] | None = None) -> Any:
    """`value` with each shared list or dict numbered by first appearance, so sharing is compared too."""
    seen = {} if seen is None else seen
    if isinstance(value, dict | list):
        if id(value) in seen:
            return ("alias", seen[id(value)])
        seen[id(value)] = len(seen)
        if isinstance(value, dict):
            return ("map", [(shape(k, seen), shape(v, seen)) for k, v in value.items()])
        return ("seq", [shape(v, seen) for v in value])
    return (type(value).__name__, value if value == value else "nan")  # NaN != NaN


def assert_same(text: str, anchored: bool | None = None) -> None:
    expected = read(text, fast=False)
    for compact in (False, True):
        actual = read(text, fast=True, anchored=anchored, compact=compact)
        assert actual[0] == expected[0]
        assert shape(actual[1]) == shape(expected[1])


@settings(max_examples=300, deadline=None)
@given(block(3))
def test_generated_documents_read_as_pyyaml_reads_them(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize("text", [
    "base: &b {a: 1, b: [x, y]}\nuse: *b\nlist: [*b, *b]\n",  # aliases share one object
    "base: &b {a: 1}\nmerged:\n  <<: *b\n  c: 2\n",  # merge key
    "many:\n  <<: [{a: 1}, {b: 2}]\n  a: 3\n",
    "=: value\n",
    "? [a, b]\n: unhashable\n",  # a non-string key PyYAML refuses
    "1: one\ntrue: yes\n~: null\n",  # keys of other types
    "&r [*r]\n",  # a recursive alias
    "a: 1\na: 2\n",  # the later duplicate wins
    "s: !!set {a, b}\no: !!omap [{a: 1}]\n",
    "x: !!python/object:os.system ls\n",  # an unsafe tag: the same ConstructorError
    "x: !!int abc\n",
    "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\nb: !!binary aGVsbG8=\n",
    "kind: Deployment\n---\n- a\n- b\n---\n",
])
def test_special_documents_read_as_pyyaml_reads_them(text: str) -> None:
    assert_same(text)


def test_nesting_beyond_the_fast_depth_is_left_to_pyyaml() -> None:
    for depth in (MAX_FAST_DEPTH, MAX_FAST_DEPTH + 5):
        assert_same("v: " + "[" * depth + "]" * depth + "\n")


def test_remembered_tags_do_not_leak_between_quoted_and_plain_scalars() -> None:
    loaded = load_bytes("t.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                                  b"data: {a: '80', b: 80, c: yes, d: 'yes'}\n")
    assert loaded.objects[0].raw["data"] == {"a": "80", "b": 80, "c": True, "d": "yes"}


def repository_yaml() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.yaml", "*.yml"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    return [ROOT / name for name in listed]


def test_every_yaml_file_of_the_repository_reads_as_pyyaml_reads_it() -> None:
    files = repository_yaml()
    assert len(files) > 100  # manifests, examples, charts, golden inputs, CI
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert_same(text)
        assert_same(text, anchored=True)  # with aliases tracked even where there can be none


def test_manifests_are_built_by_the_fast_path_without_falling_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Equal data alone would not show the fast path gone: PyYAML's own constructor gives it too.
    def refuse(self: Any, node: Any) -> Any:
        raise AssertionError(f"fell back to PyYAML's constructor at line {node.start_mark.line + 1}")

    monkeypatch.setattr(FastSafeLoader, "construct_document", refuse)
    for path in sorted((ROOT / "manifests" / "examples" / "mageagent").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert read(text, fast=True, compact=True)[0] == "ok", path
        assert read(text, fast=True)[0] == "ok", path
