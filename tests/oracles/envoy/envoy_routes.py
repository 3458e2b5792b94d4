"""Envoy's route matching and path rewriting, as Istio configures it, written for the Istio oracle.

Independent of socketguard's Istio model. Regexes go through RE2 itself (PyPI `google-re2`), the
engine Envoy links; Python's `re` differs in syntax and in matching.

How Istio 1.30.3 (commit 56df41f63e513f834c9a3af33d8aed82d1d961f2) translates a VirtualService
`http[]` rule, from pilot/pkg/networking/core/route/route.go:
- `TranslateRouteMatch`: each `match[]` entry is one Envoy route, in order (a rule without
  `match` is one route `prefix: /`); `uri.exact` -> `path`, `uri.prefix` -> `prefix` (VirtualServices
  written by users; only Ingress/Gateway API translations use `path_separated_prefix`), `uri.regex`
  -> `safe_regex`; `case_sensitive = !ignoreUriCase`.
- `applyHTTPRouteDestination`: `rewrite.uriRegexRewrite` -> `regex_rewrite` (pattern, substitution),
  else `rewrite.uri` -> `prefix_rewrite`.
And from Envoy's route API (config.route.v3.RouteMatch / RouteAction):
- `path` must equal the path without the query; `prefix` is a string prefix; `case_sensitive`
  applies to both and compares ASCII letters only; `safe_regex` must match the whole path
  without the query, and ignores `case_sensitive`.
- `prefix_rewrite` replaces the matched prefix for prefix routes and the whole path for `path` and
  `safe_regex` routes; `regex_rewrite` rewrites every non-overlapping match in the path
  (RE2::GlobalReplace: `\\N` is group N, empty when it did not take part, an empty match right
  after the previous match is skipped).
- pkg/config/validation/validation.go: regexes must compile (Go's RE2 syntax); a prefix must not
  be empty; `uri` and `uriRegexRewrite` are exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2


@dataclass(frozen=True)
class UriMatch:
    kind: str  # exact | prefix | regex
    value: str
    ignore_case: bool = False


@dataclass(frozen=True)
class Rewrite:
    uri: str | None = None
    regex: str | None = None
    substitution: str | None = None


@dataclass(frozen=True)
class Rule:
    """One `http[]` rule: its match entries (none = any path) and rewrite."""

    matches: tuple[UriMatch | None, ...]
    rewrite: Rewrite | None = None


def _ascii_fold(text: str) -> bytes:
    return text.encode().lower()  # bytes.lower() folds ASCII letters only, as absl's *IgnoreCase


def route_matches(match: UriMatch | None, path: str) -> bool:
    if match is None:
        return True
    if match.kind == "regex":
        return re2.fullmatch(match.value, path) is not None
    left, right = (_ascii_fold(path), _ascii_fold(match.value)) if match.ignore_case else (path, match.value)
    if match.kind == "exact":
        return left == right
    return left.startswith(right)  # type: ignore[arg-type]


def rewrite_path(rewrite: Rewrite | None, match: UriMatch | None, path: str) -> str:
    if rewrite is None:
        return path
    if rewrite.regex is not None and rewrite.substitution is not None:
        return global_replace(rewrite.regex, rewrite.substitution, path)
    if rewrite.uri is None:
        return path
    if match is None:
        return rewrite.uri + path[1:]
    if match.kind == "prefix":
        return rewrite.uri + path[len(match.value):]
    return rewrite.uri


def route(rules: list[Rule], path: str) -> tuple[int, str] | None:
    """(index of the rule whose route Envoy picks, path sent upstream), or None when none matches."""
    for index, rule in enumerate(rules):
        for match in rule.matches or (None,):
            if route_matches(match, path):
                return index, rewrite_path(rule.rewrite, match, path)
    return None


def global_replace(pattern: str, substitution: str, text: str) -> str:
    """RE2::GlobalReplace(text, pattern, substitution) on ASCII text."""
    compiled = re2.compile(pattern)
    out: list[str] = []
    position, last_end, count = 0, -1, 0
    while position <= len(text):
        found = compiled.search(text, position)
        if found is None:
            break
        start, end = found.span()
        out.append(text[position:start])
        if start == end and start == last_end:
            out.append(text[position:position + 1])  # an empty match right after the last one: step on
            position += 1
            continue
        out.append(_expand(substitution, found))
        position = last_end = end
        count += 1
    if count == 0:
        return text
    out.append(text[position:])
    return "".join(out)


def _expand(substitution: str, found: Any) -> str:
    """RE2::Rewrite: `\\N` is group N (empty when unset), `\\\\` a backslash."""
    out: list[str] = []
    index = 0
    while index < len(substitution):
        char = substitution[index]
        if char == "\\" and index + 1 < len(substitution):
            following = substitution[index + 1]
            out.append(found.group(int(following)) or "" if following.isdigit() else following)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def valid_substitution(substitution: str, groups: int) -> bool:
    """RE2::CheckRewriteString: only `\\N` (N <= groups) and `\\\\` escapes."""
    index = 0
    while index < len(substitution):
        if substitution[index] == "\\":
            following = substitution[index + 1:index + 2]
            if not (following == "\\" or (following.isdigit() and int(following) <= groups)):
                return False
            index += 2
            continue
        index += 1
    return True


def compiles(pattern: str) -> int | None:
    """The number of groups when RE2 accepts the pattern, else None."""
    options = re2.Options()
    options.log_errors = False
    try:
        return int(re2.compile(pattern, options).groups)
    except re2.error:
        return None
