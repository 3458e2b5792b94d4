"""`value_type`: the engine's value classes (requests, hops, backends, traces, contracts).

They are dataclasses compared and hashed by value, that no code changes once built: mypy --strict
rejects any assignment to a field of one (`dataclass_transform` declares them frozen). They are not
`frozen=True` at run time as well, because a frozen dataclass guards each field as `__init__` sets
it, which makes building one about three times as slow; routing a request builds a dozen of them,
and a cluster's analysis routes one for every socket route and client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value_type(cls: type[T]) -> type[T]:
    """A dataclass with slots, equality and a hash over its fields; frozen to the type checker."""
    return dataclass(unsafe_hash=True, slots=True)(cls)
