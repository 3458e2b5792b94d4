"""Listings of our own, beside kopf's watches: when the inventory is complete, and what was deleted
while the watches were down.

`fill`: kopf delivers listed objects one by one, and says nothing when the last one has arrived.
Once it delivers, every watched kind is listed here (names only, page by page) and the feed waits
for each listed object (`Feed.expect`). An object deleted between this listing and kopf's never
arrives, so when the wait stops making progress the listing is taken again.

`run` then sweeps: kopf restarts a watch with a fresh listing when a paused replica resumes, when
a watch expired (`410 Gone`) or when the API server came back; the listing passes every existing
object to the feed again, but an object deleted in the gap is simply not in it, and no `DELETED`
event ever comes. The feed notices a re-list (a listed object once it is ready); once the
listings have settled, this lists every watched kind itself and sweeps from the feed what the
cluster no longer has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from socketguard.cluster.feed import CRDS, INPUT_KINDS, NAMESPACES, Feed, ListedKey, WatchedKind
from socketguard.cluster.kube import API_ERRORS, Kube, collection_path
from socketguard.cluster.retry import until_done
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

SETTLE = 2.0  # seconds without another re-delivered object: kopf's listings are done
STALLED = 15.0  # seconds without an awaited object arriving: list again (one was deleted meanwhile)
POLL = 0.5


class Resync:
    def __init__(self, feed: Feed, kube: Kube, namespaces: Sequence[str] = ()) -> None:
        self.feed = feed
        self.kube = kube
        self.namespaces: list[str | None] = [*namespaces] or [None]
        self.sweeps = 0
        self.fills = 0
        self._due = asyncio.Event()
        self._last_relist = 0.0
        feed.on_relist.append(self._relisted)

    def _relisted(self) -> None:
        self._last_relist = asyncio.get_running_loop().time()
        self._due.set()

    async def run(self) -> None:
        await self.fill()
        loop = asyncio.get_running_loop()
        while True:
            await self._due.wait()
            while (quiet := loop.time() - self._last_relist) < SETTLE:
                await asyncio.sleep(SETTLE - quiet)
            self._due.clear()
            gone = await until_done(self.sweep, API_ERRORS, "listing after a re-list")
            if gone:
                log.info("forgot %d objects deleted while the watches were down: %s", len(gone),
                         ", ".join(f"{ref.kind} {ref.namespace}/{ref.name}" for ref in gone[:20]))

    # -- completeness --------------------------------------------------------------------------
    async def fill(self) -> None:
        """Returns once the feed holds every object a listing begun after kopf's first event showed."""
        await self.feed.delivering.wait()
        while not self.feed.ready:
            self.fills += 1
            listed = await until_done(self._everything, API_ERRORS, "listing to learn when the inventory is filled")
            awaited = self.feed.expect(listed)
            del listed
            log.info("waiting for %d listed objects to arrive", awaited)
            await self._arrivals_stall()

    async def _everything(self) -> set[ListedKey]:
        listed: set[ListedKey] = set()
        for kind in (NAMESPACES, CRDS, *INPUT_KINDS):
            api_version = await self.kube.served_version(kind.group, kind.version)
            if api_version is not None:
                async for namespace, name in self._names(kind, api_version):
                    listed.add((kind.group_kind, namespace, name))
        return listed

    async def _arrivals_stall(self) -> None:
        """Waits until the feed is ready, or no awaited object arrived for `STALLED` seconds."""
        loop = asyncio.get_running_loop()
        last, progressed = self.feed.awaited, loop.time()
        while not self.feed.ready and loop.time() - progressed < STALLED:
            await asyncio.sleep(POLL)
            if self.feed.awaited != last:
                last, progressed = self.feed.awaited, loop.time()

    # -- the sweep after a re-list -------------------------------------------------------------
    async def sweep(self) -> list[ObjectRef]:
        """Lists every watched kind and forgets the objects the cluster no longer has."""
        self.sweeps += 1
        since = self.feed.sequence
        gone: list[ObjectRef] = []
        for kind in INPUT_KINDS:
            api_version = await self.kube.served_version(kind.group, kind.version)
            if api_version is None:
                continue
            existing = {pair async for pair in self._names(kind, api_version)}
            gone += self.feed.sweep(kind, existing, since)
        return gone

    async def _names(self, kind: WatchedKind, api_version: str) -> AsyncIterator[tuple[str, str]]:
        """(namespace, name) of every object of `kind`, read page by page."""
        for namespace in [None] if kind.cluster_scoped else self.namespaces:
            path = collection_path(api_version, kind.plural, namespace)
            async for page in self.kube.pages(path, metadata_only=True):
                for item in page:
                    meta = item.get("metadata") or {}
                    yield str(meta.get("namespace") or ""), str(meta.get("name"))
