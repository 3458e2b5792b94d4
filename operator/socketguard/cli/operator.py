"""`socketguard operator`: the kopf operator (and `--cleanup`, the chart's pre-delete hook)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from socketguard.controller.probes import ProbeSettings


@click.command("operator")
@click.option("--namespace", "-n", "namespaces", multiple=True, metavar="NS",
              help="Watch only this namespace (repeatable); all namespaces by default.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), envvar="KUBECONFIG",
              help="Kubeconfig to use outside a cluster (default: in-cluster, then $KUBECONFIG).")
@click.option("--health-host", default="0.0.0.0", show_default=True,
              help="Address of the /healthz, /readyz and /metrics endpoints.")
@click.option("--health-port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--peering", default="socketguard", show_default=True,
              help="kopf peering name: replicas with the same name run one at a time.")
@click.option("--standalone", is_flag=True, help="No peering (a single replica).")
@click.option("--priority", type=int, default=None, help="Peering priority (default: random).")
@click.option("--debounce", default=0.3, show_default=True, type=click.FloatRange(0.0, 60.0),
              help="Seconds of quiet before a batch of changes is evaluated.")
@click.option("--cleanup", is_flag=True, help="Remove all SocketRouteReady conditions and reports, then exit.")
@click.option("--webhook", "with_webhook", is_flag=True,
              help="Also serve the admission webhook from this process (single-replica installs).")
@click.option("--webhook-cert-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --webhook: the serving certificate (PEM).")
@click.option("--webhook-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --webhook: its private key (PEM).")
@click.option("--webhook-port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--default-mode", type=click.Choice(["enforce", "hold", "warn", "audit", "off"]), default="warn",
              show_default=True, help="With --webhook: the mode of namespaces without a socketguard.io/enforce label.")
@click.option("--log-format", type=click.Choice(["json", "plain"]), default="json", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
@click.option("--probes", is_flag=True,
              help='Run live handshakes against servers annotated socketguard.io/probe: "true" (SG601).')
@click.option("--probe-interval", default=300.0, show_default=True, type=click.FloatRange(1.0, 86400.0),
              help="Seconds between two probes of one server.")
@click.option("--probe-rate", default=1.0, show_default=True, type=click.FloatRange(0.01, 100.0),
              help="At most this many probes per second, all servers together.")
@click.option("--probe-allow-host", "probe_allow_hosts", multiple=True, metavar="HOST",
              help="Also probe this host (or *.domain); in-cluster Service names are always allowed (repeatable).")
@click.option("--cluster-domain", default="cluster.local", show_default=True,
              help="DNS domain of in-cluster Service names.")
@click.option("--probe-test-address", "probe_test_addresses", multiple=True, hidden=True, metavar="HOST=ADDR:PORT",
              help="Tests only: connect to ADDR:PORT for HOST (no cluster DNS on a test machine).")
def operator(namespaces: tuple[str, ...], kubeconfig: str | None, health_host: str, health_port: int,
             peering: str, standalone: bool, priority: int | None, debounce: float, cleanup: bool,
             with_webhook: bool, webhook_cert_file: Path | None, webhook_key_file: Path | None, webhook_port: int,
             default_mode: str, log_format: str, verbose: bool, probes: bool, probe_interval: float,
             probe_rate: float, probe_allow_hosts: tuple[str, ...], cluster_domain: str,
             probe_test_addresses: tuple[str, ...]) -> None:
    """Keep a SocketRouteReady condition, Events and a PolicyReport on every Socket.IO server and route.

    \b
    Writes nothing else: no finalizers or annotations on watched objects, nothing when unchanged.
    """
    try:
        from socketguard.controller import app
    except ImportError as error:  # kopf and kubernetes are the `operator` extra
        raise click.ClickException(f"{error}: install socketguard[operator]") from None
    import kopf

    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not verbose:  # kopf logs every handler call at INFO: one line per watch event
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    webhook = _webhook_config(with_webhook, webhook_cert_file, webhook_key_file, webhook_port, default_mode)
    options = app.Options(namespaces=namespaces, kubeconfig=kubeconfig, health_host=health_host,
                          health_port=health_port, peering=peering, standalone=standalone, priority=priority,
                          debounce=debounce, sidecar=_admission_sidecar(webhook))
    options.probes = _probe_settings(probes, probe_interval, probe_rate, probe_allow_hosts, cluster_domain,
                                     probe_test_addresses)
    try:
        if cleanup:
            conditions, reports = asyncio.run(app.cleanup(options))
            click.echo(f"removed {conditions} conditions and {reports} reports")
            return
        asyncio.run(app.run(options))
    except app.ConfigError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass


def _admission_sidecar(config: Any) -> Any:
    """With --webhook: builds the admission server on the operator's feed (composed here, so the
    operator and the webhook never import each other)."""
    if config is None:
        return None
    from functools import partial

    from socketguard.webhook.runtime import alongside

    return partial(alongside, config=config)


def _webhook_config(enabled: bool, cert_file: Path | None, key_file: Path | None, port: int,
                    default_mode: str) -> Any:
    if not enabled:
        return None
    if cert_file is None or key_file is None:
        raise click.UsageError("--webhook needs --webhook-cert-file and --webhook-key-file")
    from socketguard.webhook.modes import Mode
    from socketguard.webhook.server import ServerConfig

    return ServerConfig(port=port, cert_file=cert_file, key_file=key_file, default_mode=Mode[default_mode.upper()])


def _probe_settings(enabled: bool, interval: float, rate: float, allow_hosts: tuple[str, ...], cluster_domain: str,
                    test_addresses: tuple[str, ...]) -> ProbeSettings:
    from socketguard.controller.probes import ProbeSettings, parse_test_addresses

    try:
        addresses = parse_test_addresses(test_addresses)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--probe-test-address") from None
    return ProbeSettings(enabled=enabled, interval=interval, rate=rate, allow_hosts=allow_hosts,
                         cluster_domain=cluster_domain, test_addresses=addresses)
