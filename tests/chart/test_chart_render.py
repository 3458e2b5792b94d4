"""The chart lints, renders with default values and with every option on, and refuses bad values."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from chart_render import (
    CHART_DIR,
    CONFIGURATION_NAME,
    EVERYTHING_ON,
    NAMESPACE,
    OPERATOR_SA,
    WEBHOOK_SA,
    WEBHOOK_SERVICE,
    HelmError,
    Manifest,
    named,
    of_kind,
    permissions,
    render,
    run_helm,
    service_account_rules,
)
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


@pytest.fixture(scope="module")
def default_docs() -> list[Manifest]:
    return render()


@pytest.fixture(scope="module")
def everything_docs() -> list[Manifest]:
    return render(EVERYTHING_ON)


def test_lint_strict_is_clean() -> None:
    result = run_helm("lint", "--strict", str(CHART_DIR))
    assert "0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


def test_lint_strict_is_clean_with_every_option(tmp_path: Any) -> None:
    from chart_render import values_file

    result = run_helm("lint", "--strict", str(CHART_DIR), "--values", str(values_file(EVERYTHING_ON, tmp_path)))
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


def test_default_render_has_every_component(default_docs: list[Manifest]) -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in default_docs}
    assert {
        ("Deployment", "socketguard-operator"),
        ("Deployment", "socketguard-webhook"),
        ("PodDisruptionBudget", "socketguard-operator"),
        ("PodDisruptionBudget", "socketguard-webhook"),
        ("Service", "socketguard-webhook"),
        ("Service", "socketguard-operator-metrics"),
        ("ServiceAccount", OPERATOR_SA),
        ("ServiceAccount", WEBHOOK_SA),
        ("ValidatingWebhookConfiguration", CONFIGURATION_NAME),
        ("Secret", "socketguard-webhook-tls"),
        ("ClusterKopfPeering", "socketguard"),
        ("Job", "socketguard-cleanup"),
    } <= kinds
    # hold is off by default: no mutating webhook, no write on Deployments.
    assert not of_kind(default_docs, "MutatingWebhookConfiguration")
    assert not of_kind(default_docs, "ServiceMonitor")


def test_release_name_prefixes_names() -> None:
    docs = render(release="edge")
    assert named(docs, "Deployment", "edge-socketguard-operator")
    assert named(docs, "ValidatingWebhookConfiguration", "edge-socketguard")


def test_operator_is_highly_available(default_docs: list[Manifest]) -> None:
    deployment = named(default_docs, "Deployment", "socketguard-operator")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    term = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    args = pod["containers"][0]["args"]
    assert args[0] == "operator"
    peering = named(default_docs, "ClusterKopfPeering", "socketguard")
    assert f"--peering={peering['metadata']['name']}" in args
    pdb = named(default_docs, "PodDisruptionBudget", "socketguard-operator")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] == 1


def test_webhook_service_reaches_the_https_port(default_docs: list[Manifest]) -> None:
    deployment = named(default_docs, "Deployment", "socketguard-webhook")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert f"--port={ports['https']}" in container["args"]
    assert f"--health-port={ports['health']}" in container["args"]
    assert "--default-mode=warn" in container["args"]
    service = named(default_docs, "Service", WEBHOOK_SERVICE)
    https = next(port for port in service["spec"]["ports"] if port["port"] == 443)
    assert https["targetPort"] == "https"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_generated_tls_is_a_certificate_for_the_service(default_docs: list[Manifest]) -> None:
    secret = named(default_docs, "Secret", "socketguard-webhook-tls")
    assert secret["type"] == "kubernetes.io/tls"
    ca_pem = base64.b64decode(secret["data"]["ca.crt"])
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(ca_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert f"{WEBHOOK_SERVICE}.{NAMESPACE}.svc" in names
    _assert_signed_by(cert, ca)
    configuration = named(default_docs, "ValidatingWebhookConfiguration", CONFIGURATION_NAME)
    assert base64.b64decode(configuration["webhooks"][0]["clientConfig"]["caBundle"]) == ca_pem
    volumes = named(default_docs, "Deployment", "socketguard-webhook")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "socketguard-webhook-tls", "defaultMode": 0o440}} in volumes


def _assert_signed_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
    key = ca.public_key()
    assert cert.issuer == ca.subject
    assert cert.signature_hash_algorithm is not None
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def test_cert_manager_tls_renders_no_key_material() -> None:
    docs = render({"webhook": {"tls": {"mode": "certManager"}}})
    assert not of_kind(docs, "Secret")
    certificate = named(docs, "Certificate", WEBHOOK_SERVICE)
    assert certificate["spec"]["secretName"] == "socketguard-webhook-tls"
    assert f"{WEBHOOK_SERVICE}.{NAMESPACE}.svc" in certificate["spec"]["dnsNames"]
    # Without an issuerRef the chart brings its own CA issuer.
    assert certificate["spec"]["issuerRef"] == {"name": "socketguard-webhook-ca", "kind": "Issuer"}
    assert named(docs, "Issuer", "socketguard-webhook-ca")["spec"]["ca"]["secretName"] == "socketguard-webhook-ca"
    configuration = named(docs, "ValidatingWebhookConfiguration", CONFIGURATION_NAME)
    annotations = configuration["metadata"]["annotations"]
    assert annotations["cert-manager.io/inject-ca-from"] == f"{NAMESPACE}/{WEBHOOK_SERVICE}"
    assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]


def test_cert_manager_with_an_issuer_of_the_admin(everything_docs: list[Manifest]) -> None:
    certificate = named(everything_docs, "Certificate", WEBHOOK_SERVICE)
    assert certificate["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer"}
    assert not of_kind(everything_docs, "Issuer")


def test_existing_secret_tls() -> None:
    ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    docs = render({"webhook": {"tls": {"mode": "secret", "secretName": "my-tls", "caBundle": ca_pem}}})
    assert not of_kind(docs, "Secret")
    configuration = named(docs, "ValidatingWebhookConfiguration", CONFIGURATION_NAME)
    assert base64.b64decode(configuration["webhooks"][0]["clientConfig"]["caBundle"]).decode() == ca_pem
    volumes = named(docs, "Deployment", "socketguard-webhook")["spec"]["template"]["spec"]["volumes"]
    assert any(volume.get("secret", {}).get("secretName") == "my-tls" for volume in volumes)


def test_every_option_on_renders(everything_docs: list[Manifest]) -> None:
    operator = named(everything_docs, "Deployment", "socketguard-operator")
    pod = operator["spec"]["template"]["spec"]
    assert operator["spec"]["replicas"] == 3
    assert "requiredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    assert pod["containers"][0]["image"] == "ghcr.io/socketguard/socketguard@sha256:" + "a" * 64
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    args = pod["containers"][0]["args"]
    assert {"--namespace=shop", "--namespace=chat", "--log-format=plain", "--verbose"} <= set(args)
    webhook_args = named(everything_docs, "Deployment", "socketguard-webhook")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert {"--default-mode=enforce", "--log-level=debug", "--namespace=shop", "--namespace=chat"} <= set(webhook_args)
    assert len(of_kind(everything_docs, "ServiceMonitor")) == 2
    assert {doc["metadata"]["namespace"] for doc in of_kind(everything_docs, "KopfPeering")} == {"shop", "chat"}
    assert not of_kind(everything_docs, "ClusterKopfPeering")
    mutating = named(everything_docs, "MutatingWebhookConfiguration", CONFIGURATION_NAME)
    assert mutating["webhooks"][0]["clientConfig"]["service"]["path"] == "/mutate"


def test_watch_namespaces_grants_namespaced_rights_only_there(everything_docs: list[Manifest]) -> None:
    bindings = of_kind(everything_docs, "RoleBinding")
    assert {(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in bindings} == {
        ("shop", "socketguard-operator"),
        ("chat", "socketguard-operator"),
        ("shop", "socketguard-webhook"),
        ("chat", "socketguard-webhook"),
    }
    cluster_bound = {b["roleRef"]["name"] for b in of_kind(everything_docs, "ClusterRoleBinding")}
    assert cluster_bound == {"socketguard-operator-cluster", "socketguard-webhook-cluster"}
    cluster_rules = permissions(named(everything_docs, "ClusterRole", "socketguard-operator-cluster")["rules"])
    assert {resource for _, resource, _ in cluster_rules} == {"namespaces", "customresourcedefinitions"}
    selector = named(everything_docs, "ValidatingWebhookConfiguration", CONFIGURATION_NAME)["webhooks"][0][
        "namespaceSelector"
    ]
    assert {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["shop", "chat"]} in selector[
        "matchExpressions"
    ]


def test_hold_mode_follows_the_default_mode() -> None:
    docs = render({"defaultMode": "hold"})
    assert named(docs, "MutatingWebhookConfiguration", CONFIGURATION_NAME)
    assert ("apps", "deployments", "patch") in permissions(service_account_rules(docs, OPERATOR_SA))


def test_components_can_be_left_out() -> None:
    docs = render({"webhook": {"enabled": False}, "cleanup": {"enabled": False}})
    assert not of_kind(docs, "ValidatingWebhookConfiguration")
    assert not of_kind(docs, "Job")
    assert {doc["metadata"]["name"] for doc in of_kind(docs, "Deployment")} == {"socketguard-operator"}
    docs = render({"operator": {"enabled": False}, "cleanup": {"enabled": False}})
    assert {doc["metadata"]["name"] for doc in of_kind(docs, "Deployment")} == {"socketguard-webhook"}
    assert not of_kind(docs, "ClusterKopfPeering")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"defaultMode": "block"}, "at '/defaultMode': value must be one of 'enforce', 'hold', 'warn', 'audit', 'off'"),
        ({"webhook": {"timeoutSeconds": 40}}, "at '/webhook/timeoutSeconds': maximum: got 40, want 30"),
        ({"webhook": {"failurePolicy": "Deny"}}, "at '/webhook/failurePolicy'"),
        ({"operator": {"replicas": 3}}, "at '/operator': additional properties 'replicas' not allowed"),
        ({"webhook": {"tls": {"mode": "vault"}}}, "at '/webhook/tls/mode'"),
        ({"logFormat": "xml"}, "at '/logFormat'"),
        ({"watchNamespaces": ["Bad_Name"]}, "at '/watchNamespaces/0'"),
        ({"containerSecurityContext": {"allowPrivilegeEscalation": True}},
         "at '/containerSecurityContext/allowPrivilegeEscalation': value must be false"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "at '/podSecurityContext/runAsNonRoot'"),
        ({"containerSecurityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
         "at '/containerSecurityContext/capabilities/drop'"),
        ({"webhook": {"port": 443}}, "at '/webhook/port': minimum: got 443"),
        ({"operator": {"replicaCount": 0}}, "at '/operator/replicaCount'"),
        ({"operator": {"probes": {"intervalSeconds": 0}}}, "at '/operator/probes/intervalSeconds'"),
        ({"operator": {"probes": {"allowHosts": ["http://x/"]}}}, "at '/operator/probes/allowHosts/0'"),
    ],
)
def test_schema_refuses_a_bad_value(values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError) as refused:
        render(values)
    assert "values don't meet the specifications of the schema" in refused.value.stderr
    assert message in refused.value.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"webhook": {"healthPort": 8443}}, "webhook.port and webhook.healthPort are both 8443"),
        ({"webhook": {"tls": {"mode": "secret"}}}, "webhook.tls.secretName is required when webhook.tls.mode is"),
        ({"webhook": {"tls": {"mode": "secret", "secretName": "x"}}}, "webhook.tls.caBundle"),
    ],
)
def test_template_refuses_inconsistent_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError) as refused:
        render(values)
    assert message in refused.value.stderr
