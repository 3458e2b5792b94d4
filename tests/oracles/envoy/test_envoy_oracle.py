"""The Istio model's path matching and rewriting against Envoy's semantics with RE2 itself.

Property test, seeded and derandomized: VirtualServices of 1-3 `http[]` rules (exact, prefix and
RE2 regex matches, `ignoreUriCase`, `rewrite.uri`, `uriRegexRewrite`) and request paths; the rule
the model picks and the path it sends upstream must be Envoy's (envoy_routes.py). Generation keeps
to VirtualServices Istio's validation accepts; the limits are listed in docs/oracles.md. A longer
run: `SOCKETGUARD_ENVOY_ORACLE_EXAMPLES=20000 python -m pytest --timeout=0 tests/oracles/envoy`.
"""

from __future__ import annotations

import os
from typing import Any

from envoy_routes import Rewrite, Rule, UriMatch, compiles, route, valid_substitution
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.istio import IstioRouter

SEGMENTS = ("a", "A", "b", "socket.io", "Socket.IO", "ws", "1", "x-y", "EIO")
PREFIXES = ("/", "/a", "/A", "/a/", "/soc", "/socket.io", "/socket.io/", "/SOCKET.IO/", "/ws", "/a/b")
REGEX_PARTS = ("/", "a", "A", "[a-z]+", "[[:alpha:]]+", r"\pL+", r"\d", "[0-9]", ".*", ".+", "(a|b)", "(?i)a",
               r"socket\.io", "socket.io", r"\Qsocket.io\E", "a{,2}", "(/.*)?", "[^/]+", r"\w+",
               r"(?i:socket\.io)", "x*", r"\b", "(/|$)", "(.*)", "/?")
SUBSTITUTIONS = ("/", r"/\1", r"\1", r"/x/\2", r"/\0", "-", r"\\")
REWRITE_URIS = ("/", "/x", "/x/", "/socket.io/")
HOST = "app.test"
EXAMPLES = int(os.environ.get("SOCKETGUARD_ENVOY_ORACLE_EXAMPLES", "2000"))

paths = st.builds(lambda segments, slash: "/" + "/".join(segments) + ("/" if slash and segments else ""),
                  st.lists(st.sampled_from(SEGMENTS), max_size=3), st.booleans())
regexes = st.lists(st.sampled_from(REGEX_PARTS), min_size=1, max_size=4).map("".join)


@st.composite
def uri_matches(draw: st.DrawFn) -> UriMatch | None:
    kind = draw(st.sampled_from(("exact", "prefix", "regex", "none")))
    if kind == "none":
        return None
    value = draw(regexes if kind == "regex" else st.one_of(st.sampled_from(PREFIXES), paths))
    assume(kind != "regex" or compiles(value) is not None)
    return UriMatch(kind, value, draw(st.booleans()))


@st.composite
def rewrites(draw: st.DrawFn) -> Rewrite | None:
    kind = draw(st.sampled_from(("none", "uri", "regex")))
    if kind == "uri":
        return Rewrite(uri=draw(st.sampled_from(REWRITE_URIS)))
    if kind == "regex":
        pattern, substitution = draw(regexes), draw(st.sampled_from(SUBSTITUTIONS))
        groups = compiles(pattern)
        assume(groups is not None and valid_substitution(substitution, groups))
        return Rewrite(regex=pattern, substitution=substitution)
    return None


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    matches = draw(st.lists(uri_matches(), max_size=2))
    # A match entry without `uri` is `prefix: /` to Envoy; alone it is the same as no match at all.
    return Rule(tuple(matches), draw(rewrites()))


def virtual_service(vs_rules: list[Rule]) -> dict[str, Any]:
    http = []
    for index, rule in enumerate(vs_rules):
        entry: dict[str, Any] = {"route": [{"destination": {"host": f"rule-{index}"}}]}
        if rule.matches:
            entry["match"] = [{} if m is None else {"uri": {m.kind: m.value}, "ignoreUriCase": m.ignore_case}
                              for m in rule.matches]
        if rule.rewrite is not None:
            regex_rewrite = {"match": rule.rewrite.regex, "rewrite": rule.rewrite.substitution}
            entry["rewrite"] = ({"uri": rule.rewrite.uri} if rule.rewrite.uri is not None
                                else {"uriRegexRewrite": regex_rewrite})
        http.append(entry)
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "app", "namespace": "default"},
            "spec": {"hosts": [HOST], "gateways": ["gw"], "http": http}}


GATEWAY = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
           "metadata": {"name": "gw", "namespace": "default"},
           "spec": {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}


def model_routes(vs_rules: list[Rule], paths: list[str]) -> list[tuple[int, str] | None]:
    inventory = Inventory()
    inventory.add(GATEWAY)
    inventory.add(virtual_service(vs_rules))
    router = IstioRouter(inventory)
    hops = [router.route(Request(host=HOST, path=path, scheme="http", port=80)).winner for path in paths]
    return [None if hop is None else (int(hop.rule_path[2]), hop.upstream_path) for hop in hops]


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(st.lists(rules(), min_size=1, max_size=3), st.lists(paths, min_size=1, max_size=6))
def test_istio_model_picks_envoys_route_and_rewrites_as_envoy(vs_rules: list[Rule], requests: list[str]) -> None:
    assert model_routes(vs_rules, requests) == [route(vs_rules, path) for path in requests]
