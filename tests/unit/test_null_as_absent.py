"""`null` in any optional field of any typed view reads as absent; in a required field it is SG003.

The fields are enumerated from the models themselves (every view reachable from `MODELS`), so a
field added later is covered without touching this file.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from socketguard.engine.inventory import Inventory
from socketguard.engine.models import MODELS
from socketguard.engine.models.base import KubeObject, View, validate_view

Path = tuple[str | int, ...]


def _views_in(annotation: Any) -> list[tuple[type[View], Path]]:
    """Views a field can hold, with the steps from the field into one (`[0]` into a list)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, View):
        return [(annotation, ())]
    if origin is list:
        return [(view, (0, *steps)) for view, steps in _views_in(typing.get_args(annotation)[0])]
    if origin is dict:
        return [(view, ("key", *steps)) for view, steps in _views_in(typing.get_args(annotation)[1])]
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return [found for arg in typing.get_args(annotation) for found in _views_in(arg)]
    return []


def _key(name: str, info: FieldInfo) -> str:
    return info.alias or name


def _fields(model: type[View], path: Path, seen: set[type[View]]) -> Iterator[tuple[Path, bool]]:
    """(path, required) of every field under `model`, each view class visited once."""
    seen.add(model)
    for name, info in model.model_fields.items():
        field_path = (*path, _key(name, info))
        yield field_path, info.is_required()
        for view, steps in _views_in(info.annotation):
            if view not in seen:
                yield from _fields(view, (*field_path, *steps), seen)


def _minimal(annotation: Any) -> Any:
    """The smallest value of a type that strict validation accepts."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {_key(name, info): _minimal(info.annotation)
                for name, info in annotation.model_fields.items() if info.is_required()}
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if origin is list:
        return []
    if origin is dict:
        return {}
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return _minimal(typing.get_args(annotation)[0])
    return {str: "x", int: 1, bool: False, float: 1.0}[annotation]


def _inner(annotation: Any, step: str | int) -> Any:
    """The type one step below `annotation` (an item for `0` or `key`, else a field)."""
    annotation = _unwrap(annotation)
    if isinstance(step, int) or step == "key":
        return typing.get_args(annotation)[-1]
    (found,) = (info.annotation for name, info in annotation.model_fields.items() if _key(name, info) == step)
    return found


def _unwrap(annotation: Any) -> Any:
    """The view or container inside `X | None`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (inner,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
        return inner
    return annotation


def _empty(annotation: Any) -> Any:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (list, dict):
        return typing.get_origin(annotation)()
    return _minimal(annotation)


def _object_with(model: type[KubeObject], path: Path, value: Any) -> dict[str, Any]:
    """A minimal valid object of `model` in which the field at `path` holds `value`."""
    raw: dict[str, Any] = _minimal(model)
    raw.update(apiVersion="example/v1", kind="Example", metadata={"name": "n", "namespace": "ns"})
    container: Any = raw
    annotation: Any = model
    for step in path[:-1]:
        annotation = _inner(annotation, step)
        if isinstance(container, list):
            if not container:
                container.append(_empty(annotation))
        elif step not in container:
            container[step] = _empty(annotation)
        container = container[step]
    container[path[-1]] = value
    return raw


IDENTITY = {("apiVersion",), ("kind",), ("metadata",)}  # checked before any view (identity_problems)


def _cases(required: bool) -> list[Any]:
    return [
        pytest.param(model, path, id=f"{model.__name__}.{'.'.join(map(str, path))}")
        for model in dict.fromkeys(MODELS.values())
        for path, is_required in _fields(model, (), set())
        if is_required == required and path not in IDENTITY
    ]


OPTIONAL = _cases(required=False)
REQUIRED = _cases(required=True)


def test_the_enumeration_reaches_nested_views() -> None:
    ids = {param.id for param in OPTIONAL}
    assert {"Workload.metadata.annotations", "Workload.spec.template.spec.containers.0.env",
            "Ingress.spec.rules.0.http.paths.0.pathType", "HTTPRoute.spec.rules.0.matches.0.path",
            "DestinationRule.spec.trafficPolicy.portLevelSettings.0.loadBalancer",
            "VirtualService.spec.http.0.match.0.uri.exact"} <= ids
    assert len(OPTIONAL) > 100 and len(REQUIRED) > 15


@pytest.mark.parametrize(("model", "path"), OPTIONAL)
def test_null_in_an_optional_field_is_the_field_left_out(model: type[KubeObject], path: Path) -> None:
    with_null = _object_with(model, path, None)
    without = _object_with(model, path, None)
    container: Any = without
    for step in path[:-1]:
        container = container[step]
    del container[path[-1]]
    assert with_null != without
    assert validate_view(model, with_null) == validate_view(model, without)


@pytest.mark.parametrize(("model", "path"), REQUIRED)
def test_null_in_a_required_field_is_refused_at_that_field(model: type[KubeObject], path: Path) -> None:
    group, kind = next(group_kind for group_kind, cls in MODELS.items() if cls is model)
    raw = _object_with(model, path, None)
    raw.update(apiVersion=f"{group}/v1" if group else "v1", kind=kind)
    inventory = Inventory()
    entry = inventory.entry(inventory.add(raw))
    assert entry is not None and entry.view is None
    assert [problem.path for problem in entry.problems] == [path]
    assert "found None" in entry.problems[0].message
