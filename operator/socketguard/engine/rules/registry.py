"""Discovers the rule modules of this package; codes are unique and stable."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from socketguard.engine.rules.base import Rule


@cache
def all_rules() -> tuple[Rule, ...]:
    import socketguard.engine.rules as package

    rules: dict[str, Rule] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        if not module_info.name.startswith("sg"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"{module.__name__} defines no RULE")
        if rule.code in rules:
            raise ValueError(f"rule code {rule.code} defined twice")
        rules[rule.code] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.code))


def get_rule(code: str) -> Rule:
    """The rule with this code (case-insensitive), or KeyError naming the known codes."""
    wanted = code.strip().upper()
    for rule in all_rules():
        if rule.code == wanted:
            return rule
    raise KeyError(f"unknown rule code {code!r}; `socketguard rules` lists them")
