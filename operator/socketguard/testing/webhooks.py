"""Point a chart's Service-based webhook configuration at a webhook server on the test machine.

The harness runs no kube-proxy, DNS or kubelet, so ``clientConfig.service`` cannot be reached; the
API server calls ``clientConfig.url`` (``https://127.0.0.1:PORT/path``) instead, trusting ``caBundle``.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any

_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


class WebhookConfigError(ValueError):
    """The configuration cannot be rewritten; the message names the webhook and the field."""


def local_webhook_configuration(
    configuration: Mapping[str, Any],
    port: int | Mapping[str, int],
    ca_bundle: bytes,
    *,
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """A copy of ``configuration`` whose webhooks call ``https://host:PORT<service path>``.

    ``port`` is one port for every webhook, or a mapping from Service name to port when the
    configuration targets several Services. ``ca_bundle`` is the PEM CA that signed the local
    server's certificate. The input is left unchanged.
    """
    kind = configuration.get("kind")
    if kind not in _KINDS:
        raise WebhookConfigError(f"kind {kind!r} is not one of {', '.join(_KINDS)}")
    rewritten = copy.deepcopy(dict(configuration))
    webhooks = rewritten.get("webhooks")
    if not isinstance(webhooks, list) or not webhooks:
        raise WebhookConfigError(f"{_label(configuration)}: .webhooks is missing or empty")
    encoded_ca = base64.b64encode(ca_bundle).decode("ascii")
    for index, webhook in enumerate(webhooks):
        where = f"{_label(configuration)}: .webhooks[{index}] ({_webhook_name(webhook)})"
        webhook["clientConfig"] = _local_client_config(where, webhook, port, host, encoded_ca)
    return rewritten


def _local_client_config(
    where: str, webhook: Any, port: int | Mapping[str, int], host: str, encoded_ca: str
) -> dict[str, Any]:
    client_config = webhook.get("clientConfig") if isinstance(webhook, dict) else None
    if not isinstance(client_config, dict):
        raise WebhookConfigError(f"{where}: .clientConfig is missing")
    service = client_config.get("service")
    if isinstance(service, dict):
        path = str(service.get("path") or "/")
        service_port = _port_for(where, port, str(service.get("name", "")))
    elif "url" in client_config:
        return {"url": client_config["url"], "caBundle": encoded_ca}
    else:
        raise WebhookConfigError(f"{where}: .clientConfig has neither service nor url")
    if not path.startswith("/"):
        path = "/" + path
    return {"url": f"https://{host}:{service_port}{path}", "caBundle": encoded_ca}


def _port_for(where: str, port: int | Mapping[str, int], service_name: str) -> int:
    if isinstance(port, int):
        return port
    if service_name not in port:
        known = ", ".join(sorted(port)) or "none"
        raise WebhookConfigError(f"{where}: no port given for Service {service_name!r} (given: {known})")
    return port[service_name]


def _label(configuration: Mapping[str, Any]) -> str:
    metadata = configuration.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return f"{configuration.get('kind')}/{name or '<unnamed>'}"


def _webhook_name(webhook: Any) -> str:
    return str(webhook.get("name", "<unnamed>")) if isinstance(webhook, dict) else "<not a mapping>"
