"""After kopf re-lists, forget what was deleted while the watches were down.

kopf restarts a watch with a fresh listing when a paused replica resumes, when a watch expired
(`410 Gone`) or when the API server came back; the listing passes every existing object to the
feed again, but an object deleted in the gap is simply not in it, and no `DELETED` event ever
comes. The feed notices a re-list (an object delivered again at the resourceVersion it already
has); once the listings have settled, this lists every watched kind itself (names only) and
sweeps from the feed what the cluster no longer has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from socketguard.cluster.feed import INPUT_KINDS, Feed, WatchedKind
from socketguard.cluster.kube import API_ERRORS, Kube, collection_path
from socketguard.cluster.retry import until_done
from socketguard.engine.objects import ObjectRef

log = logging.getLogger(__name__)

SETTLE = 2.0  # seconds without another re-delivered object: kopf's listings are done


class Resync:
    def __init__(self, feed: Feed, kube: Kube, namespaces: Sequence[str] = ()) -> None:
        self.feed = feed
        self.kube = kube
        self.namespaces: list[str | None] = [*namespaces] or [None]
        self.sweeps = 0
        self._due = asyncio.Event()
        self._last_relist = 0.0
        feed.on_relist.append(self._relisted)

    def _relisted(self) -> None:
        self._last_relist = asyncio.get_running_loop().time()
        self._due.set()

    async def run(self) -> None:
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

    async def sweep(self) -> list[ObjectRef]:
        """Lists every watched kind and forgets the objects the cluster no longer has."""
        self.sweeps += 1
        since = self.feed.sequence
        gone: list[ObjectRef] = []
        for kind in INPUT_KINDS:
            existing = await self._existing(kind)
            if existing is not None:
                gone += self.feed.sweep(kind, existing, since)
        return gone

    async def _existing(self, kind: WatchedKind) -> set[tuple[str, str]] | None:
        """(namespace, name) of every object of `kind`; None when the kind is not served."""
        api_version = await self.kube.served_version(kind.group, kind.version)
        if api_version is None:
            return None
        existing: set[tuple[str, str]] = set()
        for namespace in [None] if kind.cluster_scoped else self.namespaces:
            items = await self.kube.list_all(collection_path(api_version, kind.plural, namespace), metadata_only=True)
            for item in items:
                meta = item.get("metadata") or {}
                existing.add((str(meta.get("namespace") or ""), str(meta.get("name"))))
        return existing
