"""Asks kopf to read a CRD group's resources again a few seconds after the group's CRDs change.

kopf learns which resources the API serves by reading discovery (`/apis/<group>/...`) once per CRD
event of that group. The API server updates discovery asynchronously; on a loaded server the last
event of a batch of CRDs (installing Istio creates nine at once) can be handled before discovery
lists the last kind, and kopf never watches that kind until it restarts: VirtualServices created
afterwards are never seen. Reading the group again later (kopf's own re-scan, which is idempotent)
closes that gap. kopf has no public call for it, so this module is the one place that uses
`kopf._core.reactor.observation`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

import kopf
from kopf._cogs.structs.references import Insights
from kopf._core.reactor.observation import process_discovered_resource_event

log = logging.getLogger(__name__)

DELAYS_S = (3.0, 10.0, 30.0)  # discovery normally follows within a second; under load, seconds


class CrdRescan:
    """One per process: pass `insights` to `kopf.operator(insights=...)` and register it."""

    def __init__(self, groups: Collection[str]) -> None:
        self.groups = frozenset(groups)
        self.insights = Insights()
        self._registry: kopf.OperatorRegistry | None = None
        self._settings: kopf.OperatorSettings | None = None
        self._pending: dict[str, asyncio.Task[None]] = {}

    def register(self, registry: kopf.OperatorRegistry) -> None:
        self._registry = registry
        kopf.on.startup(id="socketguard-crd-rescan", registry=registry)(self._remember_settings)

    async def _remember_settings(self, settings: kopf.OperatorSettings, **_: object) -> None:
        self._settings = settings

    def changed(self, group: str) -> None:
        """A CRD of `group` appeared or changed: read the group again later (once per burst)."""
        if group not in self.groups or group in self._pending:
            return
        self._pending[group] = asyncio.get_running_loop().create_task(self._rescan(group),
                                                                      name=f"socketguard rescan {group}")

    async def _rescan(self, group: str) -> None:
        try:
            for delay in DELAYS_S:
                await asyncio.sleep(delay)
                if self._registry is None or self._settings is None:
                    continue
                event = {"type": "MODIFIED", "object": {"spec": {"group": group}}}
                await process_discovered_resource_event(raw_event=event,  # type: ignore[arg-type]
                                                        settings=self._settings, registry=self._registry,
                                                        insights=self.insights)
        except Exception:  # a failed re-scan leaves kopf as it was; the next event retries
            log.warning("re-reading the resources of %s failed", group, exc_info=True)
        finally:
            self._pending.pop(group, None)
