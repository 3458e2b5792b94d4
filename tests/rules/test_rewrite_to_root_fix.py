"""SG102's fix for a route that rewrites the handshake to `/`: the route, never a server on `/`.

The general case over every router: Istio `rewrite.uri`, Gateway API `URLRewrite` and
ingress-nginx `rewrite-target` (the latter in test_nginx_regex_mode.py, with its examples).
"""

from __future__ import annotations

import pytest
from topology import GATEWAY, K8S_GATEWAY, http_route, lint, only, route, server, service

from socketguard.engine.findings import Finding

ROUTES = {
    "istio": [GATEWAY, route("rewrite: {uri: /}")],
    "gateway-api-prefix": [K8S_GATEWAY, http_route(
        "filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]")],
    "gateway-api-full-path": [K8S_GATEWAY, http_route(
        "filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /}}}]")],
}


def mismatch(documents: list[str], annotated: bool) -> Finding:
    (finding,) = only(lint(server(annotated=annotated), service(), *documents), "SG102")
    return finding


@pytest.mark.parametrize("annotated", [True, False], ids=["annotated", "zero-config"])
@pytest.mark.parametrize("name", ROUTES)
def test_a_rewrite_to_the_root_is_fixed_at_the_route(name: str, annotated: bool) -> None:
    finding = mismatch(ROUTES[name], annotated)
    assert " as /," in finding.message
    assert finding.fixes[0].startswith("rewrite the socket route to the server's path, not to /")
    assert not any("server path to /:" in fix for fix in finding.fixes)


def test_a_rewrite_to_another_usable_path_still_offers_the_server_path_first() -> None:
    finding = mismatch([GATEWAY, route("rewrite: {uri: /ws/}")], annotated=True)
    assert finding.fixes[0].startswith("set the server path to /ws:")
