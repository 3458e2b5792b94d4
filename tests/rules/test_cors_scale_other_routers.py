"""The CORS and scale rules behind ingress-nginx and Gateway API, whose semantics differ from Istio's."""

from __future__ import annotations

from topology import (
    K8S_GATEWAY,
    SERVER,
    http_route,
    ingress,
    lint,
    only,
    page,
    server,
    service,
)

from socketguard.engine.findings import Severity
from socketguard.engine.objects import ObjectRef

APP = "https://app.example.com"
INGRESS = ObjectRef("networking.k8s.io/v1", "Ingress", "web", "chat")
HTTP_ROUTE = ObjectRef("gateway.networking.k8s.io/v1", "HTTPRoute", "web", "chat")


def test_nginx_default_cors_is_a_literal_wildcard_with_credentials() -> None:
    docs = (page(APP, client_credentials="true"), server(), service(), ingress({"enable-cors": "true"}))
    findings = lint(*docs)
    [wildcard] = only(findings, "SG202")
    assert wildcard.severity is Severity.ERROR
    assert wildcard.subject == INGRESS
    assert wildcard.field_path == "metadata.annotations['nginx.ingress.kubernetes.io/cors-allow-origin']"
    assert any("cors-allow-origin: https://app.example.com" in fix for fix in wildcard.fixes)
    assert not only(findings, "SG201")


def test_nginx_listed_origin_answers_for_a_node_server() -> None:
    cors = {"enable-cors": "true", "cors-allow-origin": APP}
    findings = lint(page(APP, client_credentials="true"), server(), service(), ingress(cors))
    assert not only(findings, "SG201") and not only(findings, "SG202")


def test_nginx_without_cors_names_its_annotations_in_the_fix() -> None:
    [finding] = only(lint(page(APP), server(), service(), ingress()), "SG201")
    assert finding.subject == SERVER
    assert any("nginx.ingress.kubernetes.io/enable-cors" in fix for fix in finding.fixes)


def test_nginx_needs_its_own_affinity() -> None:
    [finding] = only(lint(server(replicas=3), service(), ingress()), "SG301")
    assert any("nginx.ingress.kubernetes.io/affinity: cookie" in fix for fix in finding.fixes)
    assert not only(lint(server(replicas=3), service(), ingress({"affinity": "cookie"})), "SG301")


def test_nginx_ignores_service_client_ip() -> None:
    findings = lint(server(replicas=3), service(affinity=True), ingress())
    assert only(findings, "SG301")
    [finding] = only(findings, "SG303")
    assert finding.subject == ObjectRef("v1", "Service", "web", "chat")
    assert "ingress-nginx proxies" in finding.message


def test_nginx_hash_on_request_uri_changes_every_poll() -> None:
    [finding] = only(lint(server(replicas=3), service(), ingress({"upstream-hash-by": "$request_uri"})), "SG303")
    assert finding.subject == INGRESS
    assert "cache-buster" in finding.message


def test_nginx_source_ip_hash_sees_the_load_balancer() -> None:
    [finding] = only(lint(server(replicas=3), service(), ingress({"upstream-hash-by": "$remote_addr"})), "SG303")
    assert "source IP" in finding.message and finding.assumptions


def test_gateway_api_session_persistence_is_affinity() -> None:
    findings = lint(server(replicas=3), service(), K8S_GATEWAY, http_route())
    [finding] = only(findings, "SG301")
    assert any("sessionPersistence" in fix for fix in finding.fixes)
    sticky = http_route("sessionPersistence: {sessionName: io-affinity, type: Cookie}")
    assert not only(lint(server(replicas=3), service(), K8S_GATEWAY, sticky), "SG301")


def test_gateway_api_cors_filter_echoes_a_wildcard() -> None:
    cors = "filters: [{type: CORS, cors: {allowOrigins: ['*'], allowCredentials: true}}]"
    findings = lint(page(APP, client_credentials="true"), server(), service(), K8S_GATEWAY, http_route(cors))
    assert not only(findings, "SG201")
    [wildcard] = only(findings, "SG202")
    assert wildcard.severity is Severity.WARNING and wildcard.subject == HTTP_ROUTE
    assert wildcard.field_path == "spec.rules[0].filters[0].cors.allowOrigins"
