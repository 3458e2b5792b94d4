"""The loader: documents, Lists, JSON, and every kind of bad input as a located SG003."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from lintkit import configmap, deployment, service, write

from socketguard.inputs.loader import STDIN_NAME, Loaded, display_name, load_bytes, load_inputs
from socketguard.inputs.locate import Locator

MULTI = service("a") + "---\n" + deployment("b") + "---\n\n---\nnull\n---\n" + configmap("c")


def names(loaded: Loaded) -> list[str]:
    return [o.raw["metadata"]["name"] for o in loaded.objects]


def problems(loaded: Loaded) -> list[tuple[str, str]]:
    return [(str(p.location), p.finding.message) for p in loaded.problems]


def test_multi_document_positions_and_empty_documents_skipped() -> None:
    loaded = load_bytes("m.yaml", MULTI.encode())
    assert names(loaded) == ["a", "b", "c"]
    assert [(o.origin.line, o.origin.column) for o in loaded.objects if o.origin] == [(1, 1), (12, 1), (32, 1)]
    assert loaded.problems == []


def test_field_paths_map_to_lines_in_later_documents() -> None:
    loaded = load_bytes("m.yaml", MULTI.encode())
    locator = Locator({_ref(o.raw): o.origin for o in loaded.objects if o.origin})
    deploy = _ref(loaded.objects[1].raw)
    assert str(locator.locate(deploy, ("spec", "template", "spec", "containers", 0, "image"))) == "m.yaml:26:9"
    # a missing annotation points at the nearest existing ancestor, `metadata:`
    assert str(locator.locate(deploy, ("metadata", "annotations", "socketguard.io/path"))) == "m.yaml:14:1"


def _ref(raw: dict[str, object]) -> object:
    from socketguard.engine.objects import ObjectRef

    return ObjectRef.of(raw)


def test_list_items_are_expanded_and_located() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + doc.replace("\n", "\n  ").rstrip() + "\n" for doc in (service("a"), configmap("b"))
    )
    loaded = load_bytes("list.yaml", text.encode())
    assert names(loaded) == ["a", "b"]
    assert [(o.origin.line, o.origin.column) for o in loaded.objects if o.origin] == [(4, 3), (14, 3)]


def test_typed_lists_from_the_api_are_expanded() -> None:
    text = "apiVersion: apps/v1\nkind: DeploymentList\nmetadata: {}\nitems:\n- " + deployment("x").replace(
        "\n", "\n  "
    )
    assert names(load_bytes("d.yaml", text.encode())) == ["x"]


def test_json_list_as_kubectl_prints_it() -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in ("a", "b")]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4)
    loaded = load_bytes("l.json", text.encode())
    assert names(loaded) == ["a", "b"]
    assert [o.origin.line for o in loaded.objects if o.origin] == [5, 12]


def test_json_that_libyaml_refuses_still_loads() -> None:
    text = '{\n\t"apiVersion":\t"v1", "kind": "ConfigMap", "metadata": {"name": "tabbed"}}'
    loaded = load_bytes("t.json", text.encode())
    assert names(loaded) == ["tabbed"]
    assert loaded.problems == []


def test_unknown_kinds_are_kept() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    assert names(load_bytes("w.yaml", text.encode())) == ["w"]


def test_documents_that_are_not_objects() -> None:
    text = "- kind: Service\n---\njust a string\n---\n42\n---\napiVersion: v1\nkind: Service\n---\nkind: 3\n"
    loaded = load_bytes("bad.yaml", text.encode())
    assert loaded.objects == []
    found = problems(loaded)
    assert found[0] == ("bad.yaml:1:1", "not a Kubernetes object: expected a Kubernetes object (a mapping), got a list")
    assert found[1][0] == "bad.yaml:3:1" and "got a string" in found[1][1]
    assert found[2][0] == "bad.yaml:5:1" and "got a number" in found[2][1]
    assert found[3][0] == "bad.yaml:7:1" and "`metadata` must be a mapping" in found[3][1]
    assert ("bad.yaml:10:1", "not a Kubernetes object: `kind` must be a non-empty string") in found[4:]
    assert {p.finding.code for p in loaded.problems} == {"SG003"}
    assert loaded.problems[0].finding.subject.name == "bad.yaml#1"


def test_list_item_without_identity_is_located_at_the_item() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: ok}\n"
    loaded = load_bytes("l.yaml", text.encode())
    assert problems(loaded) == [("l.yaml:4:3", "not a Kubernetes object: `apiVersion` must be a non-empty string")]
    assert loaded.problems[0].finding.subject.name == "l.yaml#1.items[0]"


def test_syntax_error_keeps_earlier_documents_and_reports_the_position() -> None:
    text = configmap("before") + "---\nmetadata: {name: [broken\n"
    loaded = load_bytes("s.yaml", text.encode())
    assert names(loaded) == ["before"]
    ((where, message),) = problems(loaded)
    assert where == "s.yaml:10:1"
    assert message.startswith("invalid YAML:") and "rest of the file was not read" in message


def test_unsafe_tag_is_refused_and_later_documents_still_read() -> None:
    text = "!!python/object/apply:os.system ['true']\n---\n" + configmap("after")
    loaded = load_bytes("t.yaml", text.encode())
    assert names(loaded) == ["after"]
    ((where, message),) = problems(loaded)
    assert where.startswith("t.yaml:1:") and "invalid YAML" in message


def test_binary_non_utf8_utf16_and_control_characters() -> None:
    assert problems(load_bytes("b.yaml", b"\x89PNG\r\n\x1a\n\x00\x00")) == [
        ("b.yaml", "the file is binary (it contains NUL bytes), not YAML or JSON")
    ]
    ((where, message),) = problems(load_bytes("l.yaml", "a: 1\nb: caf\xe9\n".encode("latin-1")))
    assert where == "l.yaml:2:7" and "not UTF-8" in message
    ((where, message),) = problems(load_bytes("u.yaml", "a: 1\n".encode("utf-16")))
    assert where == "u.yaml:1:1" and "UTF-16" in message
    ((where, message),) = problems(load_bytes("c.yaml", b"a: 1\nb: \x07\n"))
    assert where == "c.yaml:2:4" and "0x07" in message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    loaded = load_bytes("deep.yaml", b"[" * 100_000)
    assert loaded.objects == [] and [p.finding.code for p in loaded.problems] == ["SG003"]


def test_utf8_bom_is_accepted() -> None:
    assert names(load_bytes("bom.yaml", b"\xef\xbb\xbf" + configmap("bom").encode())) == ["bom"]


def test_five_megabyte_object_loads_and_is_located() -> None:
    big = "x" * 1000
    data = "\n".join(f"  k{i}: {big}" for i in range(5000))
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n{data}\n"
    assert len(text) > 5_000_000
    loaded = load_bytes("big.yaml", text.encode())
    assert names(loaded) == ["big"]
    broken = load_bytes("big.yaml", (text + "bad: [\n").encode())
    ((where, _),) = problems(broken)
    assert where == f"big.yaml:{text.count(chr(10)) + 2}:1"


def test_directories_are_searched_recursively_skipping_hidden(tmp_path: Path) -> None:
    write(tmp_path / "a" / "one.yaml", configmap("one"))
    write(tmp_path / "a" / "b" / "two.yml", configmap("two"))
    write(tmp_path / "three.json", json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "3"}}))
    write(tmp_path / "notes.txt", "not a manifest")
    write(tmp_path / ".git" / "hidden.yaml", configmap("hidden"))
    write(tmp_path / ".gitlab-ci.yml", "stages: [test]\n")
    loaded = load_inputs([str(tmp_path)], cwd=tmp_path)
    assert sorted(names(loaded)) == ["3", "one", "two"]
    assert loaded.files == ["a/b/two.yml", "a/one.yaml", "three.json"]


def test_directory_without_manifests_and_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    loaded = load_inputs([str(tmp_path / "empty"), str(tmp_path / "dangling.yaml")], cwd=tmp_path)
    assert problems(loaded) == [
        ("empty", "no Kubernetes manifests (*.yaml, *.yml, *.json), Helm charts or Kustomize directories here"),
        ("dangling.yaml", "cannot read the file: No such file or directory"),
    ]


def test_stdin_is_named(tmp_path: Path) -> None:
    import io

    loaded = load_inputs(["-"], io.BytesIO(b"not an object\n"), cwd=tmp_path)
    assert [str(p.location) for p in loaded.problems] == [f"{STDIN_NAME}:1:1"]


@given(st.lists(st.sampled_from(["a", "b.yaml", ".", "..", "", ".hidden", "x..y", "k8s"]), max_size=6),
       st.sampled_from(["/", "/repo", "/repo/k8s", "/other/"]))
def test_display_names_are_those_of_the_absolute_normalised_path(parts: list[str], cwd: str) -> None:
    # The shortcut for paths already absolute and normal must agree with abspath on every spelling.
    path = Path("/" + "/".join(parts))
    absolute = os.path.abspath(path)  # noqa: PTH100
    prefix = cwd.rstrip("/") + "/"
    expected = absolute[len(prefix):] if absolute.startswith(prefix) else absolute
    assert display_name(path, Path(cwd)) == ("." if absolute + "/" == prefix else expected)
