"""Admission modes and how an object's mode is decided.

The namespace label `socketguard.io/enforce` sets the mode (default: the server's `--default-mode`,
`warn` in the chart); the object's annotation of the same name can only lower it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from socketguard.engine.annotations import BY_KEY

MODE_KEY = BY_KEY["enforce"].name
HELD_ANNOTATION = BY_KEY["held"].name


class Mode(enum.IntEnum):
    """Ordered by strength: a lower value never acts more than a higher one."""

    OFF = 0
    AUDIT = 1
    WARN = 2
    HOLD = 3
    ENFORCE = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: object) -> Mode | None:
        """The mode named by `text`, or None for anything else (bad values are ignored, never fatal)."""
        if not isinstance(text, str):
            return None
        try:
            return cls[text.strip().upper()]
        except KeyError:
            return None

    @classmethod
    def choices(cls) -> list[str]:
        return [mode.label for mode in sorted(cls, reverse=True)]


def object_mode(
    obj: Mapping[str, Any] | None, namespace_labels: Mapping[str, str] | None, default: Mode
) -> Mode:
    """The namespace's mode (label, else `default`), lowered by the object's own annotation."""
    labelled = Mode.parse((namespace_labels or {}).get(MODE_KEY))
    mode = default if labelled is None else labelled  # not `or`: Mode.OFF is falsy
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    lowered = Mode.parse(annotations.get(MODE_KEY)) if isinstance(annotations, Mapping) else None
    return min(mode, lowered) if lowered is not None else mode
