"""Wires the operator together: kopf registry and settings, the reconciler, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import kopf
from kubernetes.config import ConfigException

from socketguard.cluster.feed import INPUT_KINDS, Feed, PassingMemories, feed_settings, inline_handlers, observe
from socketguard.cluster.heap import release_free_memory_periodically
from socketguard.cluster.kube import Kube, KubeError, bearer_header, collection_path, load_configuration
from socketguard.cluster.metrics import HealthServer
from socketguard.cluster.resync import Resync
from socketguard.controller.probes import ProbeSettings, start_prober, stop_prober
from socketguard.controller.reconciler import WRITERS, Reconciler, run_bounded
from socketguard.controller.settings import Settings
from socketguard.controller.waiting import Peering, Waiting
from socketguard.controller.writers import MANAGED_SELECTOR, REPORT_KINDS, Writers
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

PEERING_NAME = "socketguard"


class Sidecar(Protocol):
    """A server that lives and dies with the operator (the admission server of `--webhook`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ConfigError(RuntimeError):
    """No usable cluster credentials."""


def connect(options: Options) -> Kube:
    try:
        return Kube(load_configuration(options.kubeconfig))
    except (ConfigException, OSError, TypeError) as error:
        raise ConfigError(f"no cluster credentials (in-cluster or kubeconfig): {error}") from None


@dataclass
class Options:
    namespaces: Sequence[str] = ()
    kubeconfig: str | None = None
    health_host: str = "0.0.0.0"
    health_port: int = 8080
    peering: str = PEERING_NAME
    standalone: bool = False
    priority: int | None = None
    debounce: float = 0.3
    max_delay: float = 2.0
    # `operator --webhook`: a server built on this process's feed (the CLI composes the admission
    # server here, so the operator never imports the webhook).
    sidecar: Callable[[Feed], Sidecar] | None = None
    instance: str = field(default_factory=lambda: os.environ.get("POD_NAME") or socket.gethostname())
    probes: ProbeSettings = field(default_factory=ProbeSettings)


def connection_info(conf: Any) -> kopf.ConnectionInfo:
    """kopf's credentials from the same loader the writers use (one identity for both)."""
    scheme, token = None, None
    header = bearer_header(conf)
    if header:
        scheme, _, token = header.partition(" ")
    return kopf.ConnectionInfo(
        server=conf.host, ca_path=conf.ssl_ca_cert, insecure=not conf.verify_ssl, scheme=scheme or None,
        token=token or None, certificate_path=conf.cert_file or None, private_key_path=conf.key_file or None,
    )


def build_registry(feed: Feed, options: Options) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    feed.register(registry)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # kopf's own Events would be writes into watched objects; ours are the only ones.
        settings.posting.enabled = False
        feed_settings(settings)
        settings.peering.name = options.peering
        # Peering on (no --standalone) means: stay paused until peering says this replica leads,
        # so a standby never lists, evaluates or writes; it then needs the peering CRDs.
        settings.peering.mandatory = not options.standalone
        settings.peering.stealth = True
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        if options.sidecar is not None:
            # Admission reviews substitute objects in the shared inventory; no handler may run
            # in a thread meanwhile.
            inline_handlers(settings)

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(load_configuration(options.kubeconfig))

    return registry


async def run(options: Options, stop: asyncio.Event | None = None) -> None:
    """Runs until `stop` is set (or the process is signalled)."""
    feed = Feed(inventory=Inventory(compact=True, views=_reads_views(options)))
    registry = build_registry(feed, options)
    kube = connect(options)
    settings = Settings(debounce=options.debounce, max_delay=options.max_delay,
                        namespaces=frozenset(options.namespaces))
    reconciler = Reconciler(feed, kube, Writers(kube, options.instance), settings)
    priority = options.priority if options.priority is not None else random.randint(1, 1_000_000)
    waiting = Waiting(kube, Peering(options.peering, options.standalone, priority, options.namespaces),
                      lambda: reconciler.ready)
    health = HealthServer(options.health_host, options.health_port, lambda: reconciler.ready, lambda: waiting.reason)
    await health.start()
    background = [asyncio.create_task(waiting.run(), name="socketguard waiting"),
                  asyncio.create_task(Resync(feed, kube, options.namespaces).run(), name="socketguard resync"),
                  asyncio.create_task(release_free_memory_periodically(), name="socketguard heap trim")]
    admission = _admission_server(feed, options)
    if admission is not None:
        await admission.start()
    loop_task = asyncio.create_task(reconciler.run(), name="socketguard reconciler")
    probe_task = start_prober(feed, reconciler, options.probes)
    try:
        await kopf.operator(
            registry=registry,
            clusterwide=not options.namespaces,
            namespaces=list(options.namespaces),
            standalone=options.standalone,
            priority=priority,
            peering_name=options.peering,
            memories=PassingMemories(),
            insights=feed.rescan.insights,
            stop_flag=stop,
        )
    finally:
        for task in (loop_task, *background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if admission is not None:
            await admission.stop()
        await stop_prober(probe_task)
        await health.stop()
        await kube.close()


def _reads_views(options: Options) -> bool:
    """Whether anything reads the feed's views: the admission server and the prober analyse its
    inventory itself; the reconciler builds one per evaluation, so alone it needs only the objects
    (the views are about 40 % of what the operator keeps per object)."""
    return options.sidecar is not None or options.probes.enabled


def _admission_server(feed: Feed, options: Options) -> Sidecar | None:
    """`socketguard operator --webhook`: a server reading the operator's own inventory."""
    return None if options.sidecar is None else options.sidecar(feed)


# -- cleanup (`socketguard operator --cleanup`, the chart's pre-delete hook) -----------------------
async def cleanup(options: Options) -> tuple[int, int]:
    """Removes every SocketRouteReady condition and every report we wrote; (conditions, reports)."""
    kube = connect(options)
    writers = Writers(kube, options.instance)
    namespaces: list[str | None] = list(options.namespaces) or [None]
    conditions = reports = 0
    try:
        for watched in INPUT_KINDS:
            api_version = await kube.served_version(watched.group, watched.version)
            if api_version is None:
                continue
            for namespace in namespaces:
                removals = []
                for body in await kube.list_all(collection_path(api_version, watched.plural, namespace)):
                    observed = observe(body)
                    if observed.index is not None:
                        ref = ObjectRef(api_version, watched.kind, body["metadata"]["namespace"],
                                        body["metadata"]["name"])
                        removals.append(writers.remove_condition(ref, observed))
                failed = await run_bounded(removals, WRITERS)  # bounded, as the reconciler's writes
                if failed:
                    raise failed[0]
                conditions += len(removals)
        for _, _, api_version, plural in REPORT_KINDS:
            for namespace in namespaces:
                try:
                    found = await kube.list_all(collection_path(api_version, plural, namespace),
                                                {"labelSelector": MANAGED_SELECTOR})
                except KubeError as error:
                    if error.status == 404:
                        break
                    raise
                for report in found:
                    meta = report["metadata"]
                    await kube.delete(f"{collection_path(api_version, plural, meta['namespace'])}/{meta['name']}")
                    reports += 1
    finally:
        await kube.close()
    return conditions, reports
