"""Istio regexes are RE2's, as Envoy runs them (cases the Envoy oracle, tests/oracles/envoy, found)."""

from __future__ import annotations

import pytest

from socketguard.engine.models.istio import StringMatch
from socketguard.engine.routing.istio import string_matches
from socketguard.engine.routing.matching import re2_replace_all


@pytest.mark.parametrize(("regex", "path", "matches"), [
    ("/[[:alpha:]]+", "/socket", True),  # a POSIX class (Python reads a set of `[:alph` and a `]`)
    (r"/\pL+", "/socket", True),  # a Unicode class (Python refuses it)
    (r"/\Qsocket.io\E/", "/socket.io/", True),  # quoted literal text
    (r"/\Qsocket.io\E/", "/socketxio/", False),
    ("/a{,2}", "/a", False),  # RE2 reads `{,2}` literally, Python as {0,2}
    ("/a{,2}", "/a{,2}", True),
    ("/(?i)socket.io/", "/SOCKET.IO/", True),  # a flag in mid-pattern (Python 3.11 refuses it)
    ("/(?!x).*", "/socket.io/", False),  # a lookahead: RE2 refuses it, Istio rejects the route
])
def test_regex_matches_are_re2_full_matches(regex: str, path: str, matches: bool) -> None:
    assert string_matches(StringMatch(regex=regex), path) is matches


@pytest.mark.parametrize(("pattern", "substitution", "path", "upstream"), [
    (".*", "/", "/socket.io/", "/"),  # no second, empty match right where the first one ended
    ("x*", "-", "/ab", "-/-a-b-"),
    ("^/app(/|$)(.*)", r"/\2", "/app/socket.io/", "/socket.io/"),
    ("(a)|b", r"[\1]", "/ab", "/[a][]"),  # a group that did not take part is empty
    ("/(a)", r"\\\1", "/a", "\\a"),  # `\\` is one backslash
    ("/(a)", r"/\2", "/a", "/a"),  # a group the pattern lacks: RE2 rewrites nothing
])
def test_uri_regex_rewrite_is_re2_global_replace(pattern: str, substitution: str, path: str, upstream: str) -> None:
    assert re2_replace_all(pattern, substitution, path) == upstream
