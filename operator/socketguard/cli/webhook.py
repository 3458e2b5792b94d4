"""`socketguard webhook`: the admission server alone, with its own watch-fed inventory."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from socketguard.webhook.modes import Mode


@click.command()
@click.option("--cert-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="PEM serving certificate (the chart mounts it); reloaded when it changes.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="PEM private key of the serving certificate.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True,
              help="HTTPS port of POST /validate, POST /mutate, GET /healthz, GET /readyz.")
@click.option("--health-port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Plain HTTP port of /healthz, /readyz and /metrics (Prometheus).")
@click.option("--default-mode", type=click.Choice(Mode.choices()), default="warn", show_default=True,
              help="Mode of namespaces without a socketguard.io/enforce label.")
@click.option("--namespace", "namespaces", multiple=True, metavar="NAME",
              help="Watch only this namespace (repeatable); default: the whole cluster.")
@click.option("--reload-interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between checks of the certificate files.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def webhook(cert_file: Path, key_file: Path, host: str, port: int, health_port: int, default_mode: str,
            namespaces: tuple[str, ...], reload_interval: float, log_level: str) -> None:
    """Serve the validating and mutating admission webhook.

    \b
    Each replica watches the cluster read-only (kopf, standalone), is ready once its inventory is
    filled, and never writes. The kube credentials are the pod's ServiceAccount, or $KUBECONFIG.
    """
    from socketguard.webhook.runtime import run
    from socketguard.webhook.server import ServerConfig

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ServerConfig(host=host, port=port, cert_file=cert_file, key_file=key_file,
                          default_mode=Mode[default_mode.upper()], reload_interval=reload_interval)
    try:
        asyncio.run(run(config, namespaces=namespaces, health_port=health_port))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        raise click.ClickException(f"cannot serve on {host}:{port} or {health_port}: {error}") from error
