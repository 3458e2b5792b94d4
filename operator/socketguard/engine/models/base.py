"""Shared pieces of the typed views: strict, camelCase, extra fields ignored, null as absent.

Views are strict on purpose: the API server rejects `replicas: "3"`, so a manifest that says it
is reported (SG003 at that field) rather than silently coerced.

`null` in an optional field reads as if the field were absent, default included: Helm renders
`annotations:` with nothing after it whenever a values map is empty, and the API server stores
such an object as if the key were missing (built-in types decode null as the zero value, which
defaulting then fills; custom resources prune null before defaulting). A required field given
null is still refused at that field. Views are built with `validate_view`, which does this.

The view modules a lint loads write their annotations as objects, without `from __future__ import
annotations`: pydantic would compile each annotation string when the class is created, which is
start-up time of every lint (argo, loaded only when a Rollout is met, keeps its forward reference).
"""

import functools
import re
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


class View(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        # Validators are built on first use: a lint of a few files touches a few kinds, not all.
        defer_build=True,
    )


ViewT = TypeVar("ViewT", bound=View)


def validate_view(model: type[ViewT], data: dict[str, Any]) -> ViewT:
    """The view of one object, null read as absent (see the module docstring).

    Almost no object holds a null, and reading null as absent inside validation would be a
    Python call per model instance (70,000 in a lint of 10,000 objects): the object is validated
    as given, and only when that fails again with its nulls left out. The first answer, when there
    is one, is the second's: a null that strict validation accepts is in a field that accepts None,
    and every such optional field defaults to None (tests/unit/test_null_as_absent.py holds every
    view field to both).
    """
    try:
        return model.model_validate(data)
    except ValidationError:
        return model.model_validate(without_nulls(model, data))


def without_nulls(model: type[View], data: Any) -> Any:
    """`data` with each null left out where it stands for an optional field of `model` or of a
    view nested in it; a null in a required field stays, to be refused at that field."""
    if type(data) is not dict:
        return data
    optional, nested = _null_reading(model)
    return {key: _inner_without_nulls(nested[key], value) if key in nested else value
            for key, value in data.items() if value is not None or key not in optional}


def _inner_without_nulls(annotation: Any, value: Any) -> Any:
    """`value`, read as `annotation` (a view, a list or map of views, or `X | None`), nulls left out."""
    if isinstance(annotation, type) and issubclass(annotation, View):
        return without_nulls(annotation, value)
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is list and type(value) is list:
        return [_inner_without_nulls(arguments[0], item) for item in value]
    if origin is dict and type(value) is dict:
        return {key: _inner_without_nulls(arguments[1], item) for key, item in value.items()}
    if origin is Annotated:
        return _inner_without_nulls(arguments[0], value)
    if origin in (Union, UnionType):  # `X | None`: no view field is a union of two views
        return next((_inner_without_nulls(argument, value) for argument in arguments if _holds_views(argument)), value)
    return value


@functools.cache
def _null_reading(model: type[View]) -> tuple[frozenset[str], dict[str, Any]]:
    """Input keys (alias and Python name) of the fields with a default, and the annotation of each
    key whose field holds views, for `without_nulls`."""
    fields = [(key, info) for name, info in model.model_fields.items() for key in {name, info.alias or name}]
    optional = frozenset(key for key, info in fields if not info.is_required())
    return optional, {key: info.annotation for key, info in fields if _holds_views(info.annotation)}


def _holds_views(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, View)
    return any(_holds_views(argument) for argument in get_args(annotation))


def empty_list() -> list[Any]:
    """`default_factory` of a list field. A Python function rather than `list`: building a view,
    pydantic reads the factory's signature, and a builtin's is parsed from its text signature
    by the tokenizer (a large regex compiled, then tens of microseconds a field), which every
    lint would pay at start-up."""
    return []


def empty_dict() -> dict[Any, Any]:
    """`default_factory` of a mapping field (see `empty_list`)."""
    return {}


class ObjectMeta(View):
    # YAML turns an unquoted timestamp into a datetime; both spellings are the same field.
    creation_timestamp: str | datetime | None = None
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=empty_dict)
    annotations: dict[str, str] = Field(default_factory=empty_dict)
    generation: int | None = None


class KubeObject(View):
    api_version: str
    kind: str
    metadata: ObjectMeta


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def duration_ms(text: str) -> float:
    """Go/protobuf duration text (`30s`, `1m30s`, `500ms`, `1.5s`) in milliseconds."""
    stripped = text.strip()
    if stripped == "0":
        return 0.0
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(stripped):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        position = match.end()
    if position != len(stripped) or not stripped:
        raise ValueError(f"{text!r} is not a duration such as 30s, 1m30s or 500ms")
    return total


def _check_duration(text: str) -> str:
    duration_ms(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]
