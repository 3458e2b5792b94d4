"""The CORS model per stack and per router (Envoy and Gateway API echo; ingress-nginx writes `*`)."""

from __future__ import annotations

import pytest

from socketguard.engine.contract import ALL_TRANSPORTS, ClientSpec, ServerSpec
from socketguard.engine.cors import (
    describe_proxy,
    is_cross_origin,
    normalize_origin,
    proxy_allow_origin,
    proxy_field,
    proxy_fix,
    refusal,
)
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import CorsAtProxy, RouteHop

APP = "https://app.example.com"
SERVER = ServerSpec(workload=ObjectRef("apps/v1", "Deployment", "web", "chat"), inferred=False)
ROUTE = ObjectRef("networking.k8s.io/v1", "Ingress", "web", "chat")


def _client(origin: str = APP, *, url: str | None = "https://chat.example.com", credentials: bool = False,
            transports: frozenset[str] = ALL_TRANSPORTS) -> ClientSpec:
    return ClientSpec(workload=ObjectRef("apps/v1", "Deployment", "web", "app"), url=url, origin=origin,
                      credentials=credentials, transports=transports)


def _hop(router: str, origins: tuple[tuple[str, str], ...], credentials: bool | None = True) -> RouteHop:
    cors = CorsAtProxy(origins, credentials, ("spec", "rules", 0))
    return RouteHop(router=router, route=ROUTE, rule_path=("spec", "rules", 0), match_path=None,
                    match_text="prefix /", upstream_path="/socket.io/", cors=cors)


@pytest.mark.parametrize(("url", "expected"), [
    ("wss://Chat.Example.com:443/x", "https://chat.example.com"),
    ("ws://chat:8080", "http://chat:8080"),
    ("ftp://chat", None),
    ("https://chat:99999", None),
])
def test_normalize_origin(url: str, expected: str | None) -> None:
    assert normalize_origin(url) == expected


def test_io_without_url_is_same_origin() -> None:
    assert not is_cross_origin(_client(url=None))
    assert not is_cross_origin(_client(url="/"))
    assert is_cross_origin(_client())


def test_envoy_and_gateway_api_echo_a_wildcard_nginx_writes_it() -> None:
    for router in ("istio", "gateway-api"):
        assert proxy_allow_origin(_hop(router, (("exact", "*"),)), APP) == APP
    assert proxy_allow_origin(_hop("ingress-nginx", (("exact", "*"),)), APP) == "*"
    assert proxy_allow_origin(_hop("ingress-nginx", (("exact", APP),)), APP) == APP
    assert proxy_allow_origin(_hop("gateway-api", (("exact", "https://*.example.com"),)), APP) == APP
    assert proxy_allow_origin(_hop("istio", (("exact", "https://admin.example.com"),)), APP) is None


def test_nginx_wildcard_with_credentials_refuses_credentialed_pages_even_for_python() -> None:
    python = ServerSpec(workload=SERVER.workload, inferred=False, stack="python", cors_origins=("*",))
    refused = refusal(_client(credentials=True), python, _hop("ingress-nginx", (("exact", "*"),)))
    assert refused is not None and (refused.what, refused.by) == ("wildcard", "proxy")
    assert refusal(_client(credentials=True), python, _hop("istio", (("exact", "*"),))) is None


def test_proxy_without_credentials_in_front_of_node() -> None:
    refused = refusal(_client(credentials=True), SERVER, _hop("istio", (("exact", APP),), credentials=False))
    assert refused is not None and (refused.what, refused.by) == ("credentials", "proxy")


def test_fields_and_fixes_speak_each_routers_language() -> None:
    nginx = _hop("ingress-nginx", (("exact", APP),))
    assert proxy_field(nginx, "origins") == ("metadata", "annotations", "nginx.ingress.kubernetes.io/cors-allow-origin")
    assert "cors-allow-origin: https://app.example.com" in proxy_fix(nginx, APP, True)
    assert "ingress-nginx CORS" in describe_proxy(nginx)
    gateway = _hop("gateway-api", (("exact", APP),))
    assert proxy_field(gateway, "credentials") == ("spec", "rules", 0, "allowCredentials")
    assert "type: CORS" in proxy_fix(gateway, APP, False)
    assert "corsPolicy" in proxy_fix(_hop("istio", ()), APP, False)
