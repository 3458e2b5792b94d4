"""Why a replica is not working: said in the log and by `/readyz`, never a silent wait.

Without `--standalone`, kopf keeps a replica paused until its peering object says that it leads:
with no peering CRD or no peering object it waits forever, and behind a replica of higher
priority it stands by. kopf says nothing about either, so this asks the cluster what kopf waits
for, logs it at start and every 30 s while it lasts (and at once when it changes), and gives
the same text to `/readyz`.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socketguard.cluster.kube import API_ERRORS, Kube, KubeError, collection_path

log = logging.getLogger(__name__)

PEERING_GROUP = "kopf.dev/v1"
PEERING_FILES = (Path(__file__).with_name("peering-crds.yaml"), Path(__file__).with_name("peering.yaml"))
CHECK_INTERVAL = 5.0
LOG_INTERVAL = 30.0
STANDBY = "standing by"


@dataclass(frozen=True)
class Peering:
    """This replica's peering: kopf's object `name` (cluster-wide, or one per watched namespace)."""

    name: str
    standalone: bool
    priority: int
    namespaces: Sequence[str] = ()

    @property
    def plural(self) -> str:
        return "kopfpeerings" if self.namespaces else "clusterkopfpeerings"

    @property
    def kind(self) -> str:
        return "KopfPeering" if self.namespaces else "ClusterKopfPeering"


def how_to_proceed(peering: Peering) -> str:
    files = " -f ".join(str(path) for path in PEERING_FILES)
    where = "" if not peering.namespaces else f" (a {peering.kind} named {peering.name!r} in each watched namespace)"
    return (f"either install peering, as the Helm chart does: kubectl apply -f {files}{where}; "
            f"or run a single local replica with --standalone")


def leaders(status: Any, priority: int, now: datetime.datetime) -> list[tuple[str, int]]:
    """Live peers that keep a replica of `priority` paused: higher ones, and equal ones when there
    are two or more of them (kopf then pauses every replica of that priority, this one included)."""
    live = []
    for identity, info in (status.items() if isinstance(status, Mapping) else ()):
        if not isinstance(info, Mapping) or not isinstance(info.get("priority"), int):
            continue
        if _expires(info) > now:
            live.append((str(identity), int(info["priority"])))
    higher = [peer for peer in live if peer[1] > priority]
    same = [peer for peer in live if peer[1] == priority]
    return sorted(higher + (same if len(same) > 1 else []), key=lambda peer: -peer[1])


def _expires(info: Mapping[str, Any]) -> datetime.datetime:
    try:
        seen = datetime.datetime.fromisoformat(str(info.get("lastseen")))
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=datetime.UTC)
    return seen + datetime.timedelta(seconds=float(info.get("lifetime") or 60))


class Waiting:
    """The current reason this replica does not work, or None; kept fresh by `run`."""

    def __init__(self, kube: Kube, peering: Peering, working: Callable[[], bool]) -> None:
        self.kube = kube
        self.peering = peering
        self.working = working
        self.reason: str | None = None

    async def run(self) -> None:
        logged, last_log = None, 0.0
        loop = asyncio.get_running_loop()
        while True:
            self.reason = await self.diagnose()
            if self.reason and (self.reason != logged or loop.time() - last_log >= LOG_INTERVAL):
                # Standing by behind a leader is the normal life of a second replica; waiting is not.
                log.log(logging.INFO if self.reason.startswith(STANDBY) else logging.WARNING, self.reason)
                logged, last_log = self.reason, loop.time()
            elif not self.reason and logged:
                log.info("peering lets this replica work now")
                logged = None
            await asyncio.sleep(CHECK_INTERVAL)

    async def diagnose(self) -> str | None:
        if self.peering.standalone:
            return None
        try:
            return await self._peering_problem()
        except API_ERRORS as error:
            if self.working():
                return None  # a passing API hiccup; the operator's own writes retry
            return f"waiting: cannot ask the API server about peering {self.peering.name!r}: {error}"

    async def _peering_problem(self) -> str | None:
        peering = self.peering
        if not await self._peering_served():
            return (f"waiting for peering: this replica runs with peering {peering.name!r} (no --standalone) but "
                    f"the cluster has no {peering.kind} CRD ({peering.plural}.kopf.dev), so kopf keeps it paused "
                    f"and it watches, evaluates and writes nothing; {how_to_proceed(peering)}")
        places: list[str | None] = [*peering.namespaces] or [None]
        for namespace in places:
            path = f"{collection_path(PEERING_GROUP, peering.plural, namespace)}/{peering.name}"
            try:
                body = await self.kube.get(path)
            except KubeError as error:
                if error.status != 404:
                    raise
                where = f" in namespace {namespace}" if namespace else ""
                return (f"waiting for peering: no {peering.kind} named {peering.name!r}{where}, so kopf keeps this "
                        f"replica paused and it watches, evaluates and writes nothing; {how_to_proceed(peering)}")
            ahead = leaders((body or {}).get("status"), peering.priority, datetime.datetime.now(datetime.UTC))
            if ahead:
                named = ", ".join(f"{identity} (priority {priority})" for identity, priority in ahead)
                return (f"{STANDBY}: peering {peering.name!r} lists {named}; kopf keeps this replica (priority "
                        f"{peering.priority}) paused until no other live replica has a higher or equal priority "
                        f"(give replicas different --priority values)")
        return None

    async def _peering_served(self) -> bool:
        try:
            group = await self.kube.get(f"/apis/{PEERING_GROUP}")
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return any(r.get("name") == self.peering.plural for r in (group or {}).get("resources") or [])
