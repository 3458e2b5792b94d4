"""Prometheus metrics and the health endpoints (liveness, readiness, /metrics) on one port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

EVALUATIONS = Counter("socketguard_evaluations_total", "Evaluations of a part of the cluster")
EVALUATED_OBJECTS = Counter("socketguard_evaluated_objects_total", "Objects covered by evaluations")
EVALUATION_SECONDS = Histogram(
    "socketguard_evaluation_seconds", "Time of one evaluation (engine and verdicts, no API calls)",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
FINDINGS = Gauge("socketguard_findings", "Current findings", ["code", "severity"])
API_WRITES = Counter("socketguard_api_writes_total", "Mutating API calls made by the operator", ["verb", "kind"])
WRITES = Counter("socketguard_writes_total", "Writes by purpose", ["what"])
WRITE_ERRORS = Counter("socketguard_write_errors_total", "Writes that failed", ["what"])
INVENTORY_OBJECTS = Gauge("socketguard_inventory_objects", "Objects in the in-memory inventory")
READY = Gauge("socketguard_ready", "1 when the inventory is filled and the first evaluation is done")


def api_writes_total() -> float:
    """All mutating API calls so far (tests and benchmarks read it in-process)."""
    total = 0.0
    for metric in API_WRITES.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                total += sample.value
    return total


class HealthServer:
    """`/healthz` (the loop runs), `/readyz` (inventory filled, first verdicts written), `/metrics`.

    `waiting` gives what the process waits for (a peering object, say): `/readyz` then answers 503
    with that text, whatever `is_ready` says.
    """

    def __init__(self, host: str, port: int, is_ready: Callable[[], bool],
                 waiting: Callable[[], str | None] = lambda: None) -> None:
        self.host, self.port, self.is_ready, self.waiting = host, port, is_ready, waiting
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0)
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        reason = self.waiting()
        if reason is None and self.is_ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"{reason or 'inventory not filled yet'}\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
