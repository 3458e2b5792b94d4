"""Fuzzed manifests never make the engine raise: bad input becomes findings, not tracebacks.

The example manifests (plus fixtures with the kinds the example lacks: HPA, DestinationRule)
are mutated at random places: keys dropped, values swapped for values of other types, garbage
annotations, deep nesting, huge strings. `Inventory.add` may only refuse an object without
identity (`InvalidObjectError`); `analyze` must never raise, and every object the inventory
kept aside as unreadable is reported as SG003.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socketguard import ANNOTATION_PREFIX
from socketguard.engine.analysis import analyze
from socketguard.engine.contract import KNOWN_KEYS
from socketguard.engine.inventory import InvalidObjectError, Inventory
from socketguard.engine.rules.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    # every router's example (Istio, ingress-nginx, Gateway API); their objects share names, so
    # each lives in a namespace of its own below
    *sorted((ROOT / "manifests" / "examples").glob("mageagent*/broken/*.yaml")),
    ROOT / "tests" / "fixtures" / "rules" / "SG301" / "bad-hpa-allows-more.yaml",
    ROOT / "tests" / "fixtures" / "rules" / "SG303" / "bad-source-ip-behind-gateway.yaml",
    *sorted((ROOT / "tests" / "examples" / "realworld").glob("*.yaml")),  # null, removed versions, nginx regex
]


def _load() -> list[Any]:
    documents: list[Any] = []
    for path in SOURCES:
        example = path.parent.parent.name if path.parent.name == "broken" else ""
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                _move_to_namespace(document, example)
                documents.append(document)
    return documents


def _move_to_namespace(document: dict[str, Any], example: str) -> None:
    """Keeps the examples of different routers apart (mageagent -> mageagent-ingress-nginx, ...)."""
    if not example or example == "mageagent":
        return
    metadata = document["metadata"]
    if document["kind"] == "Namespace":
        metadata["name"] = example
    elif metadata.get("namespace") == "mageagent":
        metadata["namespace"] = example


SEED = _load()
# The exhaustive sweep below covers the Istio example and the HPA/DestinationRule kinds; the
# random mutations cover every router.
SWEPT = [d for d in SEED if d["metadata"].get("namespace") in ("mageagent", "web")]
Location = tuple[Any, Any]  # (container, key or index)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
)
other_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
garbage_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", ",", ",,,", "*", "true", "/", "//", "$", "$..*", "[?(@", "{taskId}", "-1",
                     "99999999999999999999", "https://", "ws://:0", "\x00", "\u202e", "é/ñ", "%s%s"]),
)


def locations(node: Any) -> Iterator[Location]:
    if isinstance(node, dict):
        for key in list(node):
            yield node, key
            yield from locations(node[key])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield node, index
            yield from locations(item)


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"spec": value}
    return value


def mutate(documents: list[Any], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(documents) - 1), label="document")
    document = documents[index]
    kind = data.draw(st.sampled_from(["drop", "retype", "annotation", "nest", "huge", "document"]), label="kind")
    if kind == "document":
        documents[index] = data.draw(other_values, label="whole document")
        return
    if kind == "annotation":
        _garble_annotation(document, data)
        return
    places = list(locations(document))
    if not places:
        return
    container, key = data.draw(st.sampled_from(places), label="where")
    if kind == "drop":
        del container[key]
    elif kind == "retype":
        container[key] = data.draw(other_values, label="value")
    elif kind == "nest":
        container[key] = nested(data.draw(st.integers(10, 400), label="depth"), container[key])
    else:
        size = data.draw(st.sampled_from([10_000, 200_000, 1_000_000]), label="size")
        container[key] = data.draw(st.sampled_from(["/", "a", "é", "socket.io/"]), label="unit") * size


def _garble_annotation(document: Any, data: st.DataObject) -> None:
    if not isinstance(document, dict):
        return
    metadata = document.get("metadata")
    spec = document.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    targets = [m for m in (metadata, template.get("metadata") if isinstance(template, dict) else None)
               if isinstance(m, dict)]
    if not targets:
        return
    target = data.draw(st.sampled_from(targets), label="annotated")
    annotations = target.setdefault("annotations", {})
    if not isinstance(annotations, dict):
        return
    key = data.draw(st.sampled_from(sorted(KNOWN_KEYS)) | st.text(max_size=20), label="key")
    annotations[ANNOTATION_PREFIX + key] = data.draw(garbage_text, label="annotation value")


def check(documents: list[Any]) -> None:
    inventory = Inventory()
    for document in documents:
        try:
            inventory.add(document)
        except InvalidObjectError as error:
            assert error.problems, "a refused object must say why"
    findings = analyze(inventory)
    if "SG003" in {rule.code for rule in all_rules()}:
        reported = {f.subject for f in findings if f.code == "SG003"}
        for entry in inventory.rejected():
            assert entry.ref in reported, f"{entry.ref} was kept aside without SG003: {entry.problems}"
    for finding in findings:
        assert finding.code and finding.message


FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_unmutated_example_is_accepted() -> None:
    inventory = Inventory()
    for document in copy.deepcopy(SEED):
        inventory.add(document)
    assert not list(inventory.rejected())
    analyze(inventory)


@FUZZ
@given(st.data())
def test_mutated_manifests_never_raise(data: st.DataObject) -> None:
    documents = copy.deepcopy(SEED)
    for _ in range(data.draw(st.integers(1, 5), label="mutations")):
        mutate(documents, data)
    check(documents)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(sorted(KNOWN_KEYS)), garbage_text), min_size=1, max_size=8))
def test_garbage_annotations_on_the_server_never_raise(notes: list[tuple[str, str]]) -> None:
    documents = copy.deepcopy(SEED)
    server = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "mageagent")
    server["metadata"]["annotations"].update({ANNOTATION_PREFIX + key: value for key, value in notes})
    check(documents)


def test_wrong_types_in_every_field_are_kept_aside_not_raised() -> None:
    """Each field of each object in turn gets a value of the opposite shape, or is dropped."""
    inventory = Inventory()
    for document in SWEPT:
        inventory.add(copy.deepcopy(document))
    for original in SWEPT:
        for position in range(len(list(locations(original)))):
            for replace in (True, False):
                mutated = copy.deepcopy(original)
                container, key = list(locations(mutated))[position]
                if not replace:
                    del container[key]
                else:
                    container[key] = "text" if isinstance(container[key], dict | list) else {"x": [1]}
                _check_one(inventory, mutated, original)


def _check_one(inventory: Inventory, mutated: Any, original: dict[str, Any]) -> None:
    """Swaps one object for its mutant, checks the whole inventory, and puts the original back."""
    try:
        ref = inventory.add(mutated)
    except InvalidObjectError:
        return
    try:
        findings = analyze(inventory)
        entry = inventory.entry(ref)
        if entry is not None and entry.problems and "SG003" in {rule.code for rule in all_rules()}:
            assert any(f.code == "SG003" and f.subject == ref for f in findings), entry.problems
    finally:
        inventory.remove(ref)
        inventory.add(copy.deepcopy(original))
