"""FieldPath -> line:column on composed YAML nodes, nearest ancestor when the field is absent."""

from __future__ import annotations

import yaml

from socketguard.engine.objects import ObjectRef
from socketguard.inputs.locate import Locator, Origin, json_path, node_position

TEXT = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: api
  annotations:
    team: web
spec:
  http:
  - match:
    - uri: {prefix: /socket.io}
    route:
    - destination: {host: api}
"""
NODE = yaml.compose(TEXT, Loader=yaml.CSafeLoader)
REF = ObjectRef("networking.istio.io/v1", "VirtualService", "web", "api")


def at(*path: str | int) -> tuple[int, int]:
    line, column = node_position(NODE, path)
    return line + 1, column + 1


def test_fields_list_items_and_flow_mappings() -> None:
    assert at() == (1, 1)
    assert at("spec", "http") == (8, 3)
    assert at("spec", "http", 0) == (9, 5)
    assert at("spec", "http", 0, "match", 0, "uri", "prefix") == (10, 13)
    assert at("spec", "http", 0, "route", 0, "destination", "host") == (12, 21)


def test_missing_fields_point_at_the_nearest_ancestor() -> None:
    assert at("metadata", "annotations", "socketguard.io/path") == (5, 3)
    assert at("metadata", "labels", "app") == (3, 1)
    assert at("spec", "http", 5, "rewrite") == (8, 3)
    assert at("spec", "http", "not-an-index") == (8, 3)
    assert at("kind", "deeper") == (2, 1)


def test_locator_matches_any_served_version() -> None:
    locator = Locator({REF: Origin.of_node("vs.yaml", NODE)})
    other_version = ObjectRef("networking.istio.io/v1beta1", "VirtualService", "web", "api")
    where = locator.locate(other_version, ("spec", "http", 0))
    assert (str(where), where.json_path) == ("vs.yaml:9:5", "$.spec.http[0]")
    unknown = locator.locate(ObjectRef("v1", "Service", "web", "api"), ("spec",))
    assert (unknown.file, str(unknown)) == (None, "$.spec")


def test_a_later_definition_is_located_even_after_the_first_was() -> None:
    locator = Locator()
    assert locator.add(REF, Origin.of_node("first.yaml", NODE)) is None
    assert str(locator.locate(REF, ("spec", "http", 0))) == "first.yaml:9:5"
    replaced = locator.add(REF, Origin.of_node("second.yaml", yaml.compose("\n\n" + TEXT, Loader=yaml.CSafeLoader)))
    assert replaced is not None and replaced.file == "first.yaml"
    assert str(locator.locate(REF, ("spec", "http", 0))) == "second.yaml:11:5"


def test_json_paths() -> None:
    assert json_path(()) == "$"
    annotation = ("metadata", "annotations", "socketguard.io/path")
    assert json_path(annotation) == "$.metadata.annotations['socketguard.io/path']"
