"""Lint settings from `[tool.socketguard]` in pyproject.toml or from `.socketguard.yaml`.

The nearest file wins, searching from the working directory upwards; in one directory
`.socketguard.yaml` comes before `pyproject.toml`, and a pyproject.toml without the table is
passed over. Command-line flags win over the file, except `ignore` and `exclude`, which add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

YAML_NAMES = (".socketguard.yaml", ".socketguard.yml")
FAIL_ON_CHOICES = ("error", "warning", "info", "never")
SHOW_CHOICES = ("error", "warning", "info")
_KEYS = ("ignore", "fail-on", "show", "baseline", "exclude")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class LintConfig:
    """The lint settings of the settings file (.socketguard.yaml or [tool.socketguard])."""

    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str | None = None
    show: str | None = None
    baseline: Path | None = None
    source: Path | None = None


def find_config(start: Path) -> Path | None:
    for directory in (start.resolve(), *start.resolve().parents):
        for name in YAML_NAMES:
            if (directory / name).is_file():
                return directory / name
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def _has_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "socketguard" not in text:  # the usual pyproject.toml: no need to load a TOML parser
        return False
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    tool = data.get("tool")
    return isinstance(tool, dict) and "socketguard" in tool


def load_config(path: Path | None, start: Path) -> LintConfig:
    """The settings of `path`, or of the nearest config file; empty settings when there is none."""
    found = path if path is not None else find_config(start)
    if found is None:
        return LintConfig()
    return read_config(found)


def read_config(path: Path) -> LintConfig:
    table = _read_table(path)
    unknown = sorted(set(table) - set(_KEYS) - {key.replace("-", "_") for key in _KEYS})
    if unknown:
        raise ConfigError(f"{path}: unknown setting {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    baseline = _get(table, "baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise ConfigError(f"{path}: `baseline` must be a file path")
    return LintConfig(
        ignore=parse_codes(_strings(path, "ignore", _get(table, "ignore"))),
        exclude=tuple(_strings(path, "exclude", _get(table, "exclude"))),
        fail_on=_choice(path, table, "fail-on", FAIL_ON_CHOICES),
        show=_choice(path, table, "show", SHOW_CHOICES),
        baseline=(path.parent / baseline) if baseline else None,
        source=path,
    )


def _read_table(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the config file: {error}") from None
    if path.name.endswith(".toml"):
        import tomllib

        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        table = tool.get("socketguard", {}) if isinstance(tool, dict) else {}
    else:
        try:
            table = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: invalid YAML: {error}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: the settings must be a mapping of {', '.join(_KEYS)}")
    return table


def _get(table: dict[str, Any], key: str) -> Any:
    return table.get(key, table.get(key.replace("-", "_")))


def _strings(path: Path, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ConfigError(f"{path}: `{key}` must be a list of strings (or one string)")


def _choice(path: Path, table: dict[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = _get(table, key)
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise ConfigError(f"{path}: `{key}` must be one of {', '.join(choices)}, not {value!r}")
    return value.strip().lower()


def parse_codes(values: Iterable[str]) -> tuple[str, ...]:
    """`["SG102,sg301", "SG004"]` -> `("SG102", "SG301", "SG004")`, order kept, duplicates dropped."""
    codes = (code.strip().upper() for value in values for code in value.split(","))
    return tuple(dict.fromkeys(code for code in codes if code))
