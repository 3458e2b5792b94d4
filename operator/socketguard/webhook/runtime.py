"""The webhook process: a standalone kopf watch feeding a read-only inventory, and the HTTPS server.

The watch handlers are the operator's own (`socketguard.cluster.feed.Feed`), registered in a
private kopf registry. Two choices keep the admission core's substitute-and-restore safe:
kopf runs synchronous handlers in a thread pool by default; `InlineExecutor` runs them on the
event loop instead, so a watch event can never interleave with a review. And kopf runs
standalone (no peering: every replica serves), posts no Events and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import Any

import kopf

from socketguard.cluster.feed import Feed, PassingMemories, feed_settings, inline_handlers
from socketguard.cluster.heap import release_free_memory_periodically
from socketguard.cluster.kube import Kube, load_configuration
from socketguard.cluster.resync import Resync
from socketguard.webhook.server import AdmissionServer, ServerConfig

log = logging.getLogger(__name__)


def quiet_settings(settings: kopf.OperatorSettings) -> None:
    """A watcher that writes nothing: no Events from logs, handlers on the loop thread."""
    settings.posting.enabled = False
    settings.peering.standalone = True
    feed_settings(settings)
    inline_handlers(settings)


def alongside(feed: Feed, config: ServerConfig) -> AdmissionServer:
    """For `socketguard operator --webhook`: an admission server reading the operator's own feed.

    The caller starts and stops it with the operator, and must call `inline_handlers(settings)`
    in its kopf startup handler (kopf otherwise runs the feed's handlers in threads).
    """
    return AdmissionServer(feed, lambda: feed.ready, config, lambda: feed.versions.text)


def _login(**kwargs: Any) -> Any:
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


def webhook_registry(feed: Feed) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(_login)
    feed.register(registry)
    return registry


async def run(config: ServerConfig, *, namespaces: Collection[str] = (), health_port: int | None = None,
              stop_flag: asyncio.Event | None = None) -> None:
    """Serve admission requests until `stop_flag` (or a signal) stops the watch."""
    feed = Feed()
    server = alongside(feed, config)
    health = _health_server(config.host, health_port, lambda: feed.ready)
    settings = kopf.OperatorSettings()
    quiet_settings(settings)
    await server.start()
    if health is not None:
        await health.start()
    # After a re-list (API server back, watch expired), objects deleted in the gap are forgotten.
    kube = Kube(load_configuration())
    resync = asyncio.create_task(Resync(feed, kube, list(namespaces)).run(), name="socketguard resync")
    trim = asyncio.create_task(release_free_memory_periodically(), name="socketguard heap trim")
    try:
        await kopf.operator(
            registry=webhook_registry(feed), settings=settings, standalone=True, memories=PassingMemories(),
            insights=feed.rescan.insights,
            clusterwide=not namespaces, namespaces=list(namespaces), stop_flag=stop_flag,
        )
    finally:
        for task in (resync, trim):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await kube.close()
        if health is not None:
            await health.stop()
        await server.stop()


def _health_server(host: str, port: int | None, is_ready: Callable[[], bool]) -> Any:
    if port is None:
        return None
    from socketguard.cluster.metrics import HealthServer

    return HealthServer(host, port, is_ready)
