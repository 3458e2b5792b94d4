"""Shared pieces of the typed views: strict, camelCase, extra fields ignored, null as absent.

Views are strict on purpose: the API server rejects `replicas: "3"`, so a manifest that says it
is reported (SG003 at that field) rather than silently coerced.

`null` in an optional field reads as if the field were absent, default included: Helm renders
`annotations:` with nothing after it whenever a values map is empty, and the API server stores
such an object as if the key were missing (built-in types decode null as the zero value, which
defaulting then fills; custom resources prune null before defaulting). A required field given
null is still refused at that field.

The view modules a lint loads write their annotations as objects, without `from __future__ import
annotations`: pydantic would compile each annotation string when the class is created, which is
start-up time of every lint (argo, loaded only when a Rollout is met, keeps its forward reference).
"""

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
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
    # Input keys (alias and Python name) of the fields that have a default, per class.
    _optional_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._optional_keys = frozenset(
            key
            for name, info in cls.model_fields.items()
            if not info.is_required()
            for key in (name, info.alias or name)
        )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict) or None not in data.values():
            return data
        optional = cls._optional_keys
        return {key: value for key, value in data.items() if value is not None or key not in optional}


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
