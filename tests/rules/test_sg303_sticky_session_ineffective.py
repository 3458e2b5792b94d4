"""SG303: affinity that cannot hold a polling session on one pod."""

from __future__ import annotations

import json

import pytest
import yaml
from topology import GATEWAY, ROUTE, SERVER, destination_rule, lint, only, page, route, server, service

from socketguard.engine.context import Context
from socketguard.engine.findings import Severity
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Affinity
from socketguard.engine.rules.sg303_sticky_session_ineffective import hash_key

DR = ObjectRef("networking.istio.io/v1", "DestinationRule", "web", "chat")
HASH_PATH = "spec.trafficPolicy.loadBalancer.consistentHash"
ROUTED = (service(), GATEWAY, route())
COOKIE = "{httpCookie: {name: io-affinity, path: /, ttl: 0s}}"


def test_source_ip_behind_the_ingress_gateway() -> None:
    findings = lint(server(replicas=3), destination_rule("{useSourceIp: true}"), *ROUTED)
    [finding] = only(findings, "SG303")
    assert finding.severity is Severity.WARNING
    assert (finding.subject, finding.field_path) == (DR, HASH_PATH)
    assert "Gateway web/public" in finding.message
    assert any("externalTrafficPolicy" in text for text in finding.assumptions)
    assert not only(findings, "SG301")


def test_source_ip_in_the_mesh_keeps_pod_addresses() -> None:
    docs = (server(replicas=3), destination_rule("{useSourceIp: true}"), service(), route(gateway=False))
    assert not only(lint(*docs), "SG303")


def test_source_ip_with_one_replica_is_not_reported() -> None:
    assert not only(lint(server(replicas=1), destination_rule("{useSourceIp: true}"), *ROUTED), "SG303")


def test_service_client_ip_behind_istio() -> None:
    [finding] = only(lint(server(replicas=2), service(affinity=True), GATEWAY, route()), "SG303")
    assert finding.subject == ObjectRef("v1", "Service", "web", "chat")
    assert finding.field_path == "spec.sessionAffinity"
    assert "kube-proxy" in finding.message


def test_weighted_split_with_affinity_on_one_destination() -> None:
    destinations = """
- destination: {host: chat, port: {number: 80}}
  weight: 90
- destination: {host: canary, port: {number: 80}}
  weight: 10
"""
    docs = (server(replicas=2), server(name="canary"), service(), service("canary"), GATEWAY,
            route(destinations=destinations), destination_rule(COOKIE))
    [finding] = only(lint(*docs), "SG303")
    assert (finding.subject, finding.field_path) == (ROUTE, "spec.http[0].route")
    assert "chat (90%)" in finding.message and "canary (10%)" in finding.message
    assert "affinity on chat only" in finding.message
    assert SERVER in finding.related


def test_weight_zero_destination_is_not_a_split() -> None:
    destinations = """
- destination: {host: chat, port: {number: 80}}
  weight: 100
- destination: {host: canary, port: {number: 80}}
  weight: 0
"""
    docs = (server(replicas=2), server(name="canary"), service(), service("canary"), GATEWAY,
            route(destinations=destinations), destination_rule(COOKIE))
    assert not only(lint(*docs), "SG303")


def test_cookie_never_sent_by_a_cross_origin_page_without_credentials() -> None:
    docs = (page("https://app.example.com"), server({"cors-origins": "https://app.example.com"}, replicas=3),
            destination_rule(COOKIE), *ROUTED)
    [finding] = only(lint(*docs), "SG303")
    assert (finding.subject, finding.field_path) == (DR, HASH_PATH)
    assert "io-affinity" in finding.message and "withCredentials" in finding.message
    with_credentials = (page("https://app.example.com", client_credentials="true"),
                        server({"cors-origins": "https://app.example.com", "cors-credentials": "true"}, replicas=3),
                        destination_rule(COOKIE), *ROUTED)
    assert not only(lint(*with_credentials), "SG303")


def test_header_and_query_hashes() -> None:
    [custom] = only(lint(server(replicas=3), destination_rule("{httpHeaderName: x-user}"), *ROUTED), "SG303")
    assert "x-user" in custom.message and custom.assumptions
    assert not only(lint(server(replicas=3), destination_rule("{httpHeaderName: User-Agent}"), *ROUTED), "SG303")
    [sid] = only(lint(server(replicas=3), destination_rule("{httpQueryParameterName: sid}"), *ROUTED), "SG303")
    assert "handshake has no sid" in sid.message


def test_cookie_hash_same_origin_is_fine() -> None:
    docs = (page("https://chat.example.com"), server(replicas=3), destination_rule(COOKIE), *ROUTED)
    assert not only(lint(*docs), "SG303")


def _ingress(annotations: dict[str, str]) -> str:
    notes = json.dumps({f"nginx.ingress.kubernetes.io/{k}": v for k, v in annotations.items()})
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: chat, namespace: web, annotations: {notes}}}
spec:
  rules:
    - host: chat.example.com
      http:
        paths:
          - {{path: /socket.io, pathType: Prefix, backend: {{service: {{name: chat, port: {{number: 80}}}}}}}}
"""


@pytest.mark.parametrize(("annotations", "expected"), [
    ({"affinity": "cookie"}, ("cookie", "INGRESSCOOKIE")),
    ({"affinity": "cookie", "session-cookie-name": "route"}, ("cookie", "route")),
    ({"upstream-hash-by": "$http_x_user_id"}, ("header", "x-user-id")),
    ({"upstream-hash-by": "$arg_sid"}, ("query", "sid")),
    ({"upstream-hash-by": "$request_uri"}, ("query", "$request_uri")),
])
def test_ingress_nginx_hash_keys(annotations: dict[str, str], expected: tuple[str, str]) -> None:
    inventory = Inventory()
    ref = inventory.add(yaml.safe_load(_ingress(annotations)))
    key = "affinity" if "affinity" in annotations else "upstream-hash-by"
    affinity = Affinity("cookie", ref, ("metadata", "annotations", f"nginx.ingress.kubernetes.io/{key}"))
    assert hash_key(Context(inventory), affinity) == expected


def test_gateway_api_header_persistence_is_a_header() -> None:
    inventory = Inventory()
    ref = inventory.add(yaml.safe_load("""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: web}
spec:
  rules:
    - sessionPersistence: {sessionName: x-session, type: Header}
      backendRefs: [{name: chat, port: 80}]
"""))
    affinity = Affinity("session-persistence", ref, ("spec", "rules", 0, "sessionPersistence"))
    assert hash_key(Context(inventory), affinity) == ("header", "x-session")
