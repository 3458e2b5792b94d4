"""Pure pieces of socketguard.testing: webhook rewriting, the test PKI, build inputs, cache lookup."""

from __future__ import annotations

import base64
import copy
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from socketguard.testing import WebhookConfigError, find_toolset, local_webhook_configuration, versions
from socketguard.testing.binaries import (
    BIN_DIR_ENV,
    ProvisionError,
    _install,
    _is_current,
    _run,
    _staging_modules,
    _wrapper_go_mod,
    cache_dir,
    missing_artifacts,
    without_dns_providers,
)
from socketguard.testing.certs import CertificateAuthority

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _configuration(*client_configs: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "socketguard"},
        "webhooks": [{"name": f"hook{i}.socketguard.io", "clientConfig": cc} for i, cc in enumerate(client_configs)],
    }


def test_service_reference_becomes_loopback_url_with_ca_bundle() -> None:
    original = _configuration({"service": {"name": "sg", "namespace": "sg", "path": "/validate", "port": 443}})
    before = copy.deepcopy(original)

    rewritten = local_webhook_configuration(original, 9443, CA_PEM)

    assert rewritten["webhooks"][0]["clientConfig"] == {
        "url": "https://127.0.0.1:9443/validate",
        "caBundle": base64.b64encode(CA_PEM).decode(),
    }
    assert original == before


def test_ports_can_differ_per_service_and_missing_path_means_root() -> None:
    original = _configuration(
        {"service": {"name": "a", "namespace": "sg"}},
        {"service": {"name": "b", "namespace": "sg", "path": "mutate"}},
    )

    rewritten = local_webhook_configuration(original, {"a": 1001, "b": 1002}, CA_PEM)

    urls = [hook["clientConfig"]["url"] for hook in rewritten["webhooks"]]
    assert urls == ["https://127.0.0.1:1001/", "https://127.0.0.1:1002/mutate"]


def test_unknown_service_error_names_the_webhook_and_known_services() -> None:
    original = _configuration({"service": {"name": "other", "namespace": "sg"}})

    with pytest.raises(WebhookConfigError, match=r"webhooks\[0\] \(hook0.socketguard.io\).*'other'.*given: a"):
        local_webhook_configuration(original, {"a": 1}, CA_PEM)


@pytest.mark.parametrize(
    ("configuration", "message"),
    [
        ({"kind": "Deployment"}, "kind 'Deployment'"),
        ({"kind": "MutatingWebhookConfiguration", "metadata": {"name": "m"}}, "webhooks is missing"),
        (_configuration({}), "neither service nor url"),
    ],
)
def test_unusable_configurations_are_rejected_with_location(configuration: dict[str, Any], message: str) -> None:
    with pytest.raises(WebhookConfigError, match=message):
        local_webhook_configuration(configuration, 1, CA_PEM)


def test_client_certificate_carries_user_and_groups_signed_by_the_ca() -> None:
    ca = CertificateAuthority("test-ca")

    pair = ca.issue_client("alice", ["devs", "ops"])

    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "devs",
        "ops",
    ]
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]


def test_serving_certificate_names_ip_and_dns_hosts() -> None:
    pair = CertificateAuthority("test-ca").issue_server("api", ["127.0.0.1", "localhost"])

    names = (
        x509.load_pem_x509_certificate(pair.cert_pem)
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )

    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_staging_modules_are_read_from_the_replace_block(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text(
        "module k8s.io/kubernetes\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n\nreplace (\n"
        "\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n)\n"
    )

    assert _staging_modules(go_mod) == ["k8s.io/api", "k8s.io/client-go"]


def test_wrapper_go_mod_pins_each_replaced_module() -> None:
    text = _wrapper_go_mod("example.local/build", "k8s.io/kubernetes v1.35.4", [("k8s.io/api", "v0.35.4")])

    assert "require k8s.io/kubernetes v1.35.4\n" in text
    assert "\tk8s.io/api => k8s.io/api v0.35.4\n" in text
    assert "0." + versions.KUBERNETES.split(".", 1)[1] == versions.KUBERNETES_STAGING


def test_cached_artifact_counts_only_with_the_current_pin(tmp_path: Path) -> None:
    target = tmp_path / "etcd"
    _install(b"#!/bin/sh\n", target, executable=True)
    assert _is_current(target)
    assert os.access(target, os.X_OK)

    (tmp_path / "etcd.pin").write_text("etcd 0.0.1\n")

    assert not _is_current(target)


def test_cache_dir_follows_the_override_and_reports_missing_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    assert cache_dir() == tmp_path
    assert find_toolset() is None
    assert "kube-apiserver" in missing_artifacts()
    assert "crds/policyreport.yaml" in missing_artifacts()
    assert {"traefik", "crds/traefik.yaml"} <= set(missing_artifacts())


def test_lego_provider_list_without_the_providers_the_proxy_lacks() -> None:
    source = (
        'import (\n\t"github.com/go-acme/lego/v5/providers/dns/baiducloud"\n'
        '\t"github.com/go-acme/lego/v5/providers/dns/ucloud"\n)\n\n'
        'func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {\n\tswitch name {\n'
        '\tcase "baiducloud":\n\t\treturn baiducloud.NewDNSProvider()\n'
        '\tcase "ucloud":\n\t\treturn ucloud.NewDNSProvider()\n\t}\n}\n'
    )
    edited = without_dns_providers(source, ["ucloud"])
    assert "ucloud" not in edited.replace("baiducloud", "")
    assert 'case "baiducloud":\n\t\treturn baiducloud.NewDNSProvider()' in edited


def test_failed_step_names_the_step_and_the_output() -> None:
    with pytest.raises(ProvisionError) as failure:
        _run("compile things", ["sh", "-c", "echo broken dependency >&2; exit 3"], lambda _: None)

    assert failure.value.step == "compile things"
    assert "exited with 3" in str(failure.value)
    assert "broken dependency" in str(failure.value)


def test_missing_tool_is_reported_before_running() -> None:
    with pytest.raises(ProvisionError, match="'no-such-tool-xyz' is not installed"):
        _run("fetch", ["no-such-tool-xyz"], lambda _: None)
