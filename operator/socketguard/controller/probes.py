"""Opt-in live probes: servers annotated `socketguard.io/probe: "true"` get a real handshake.

Each probed server is reached through the in-cluster Service that selects it
(`http://<service>.<ns>.svc.<cluster domain>:<port><path>`), never through an address taken
from an annotation, and only when `is_allowed_target` accepts the URL: no SSRF. A failed
probe becomes an SG601 finding that the reconciler merges into the workload's verdict, so the
condition, the Warning Event and the report show it; a probe that passes clears it.

Cost is bounded: one probe per target per `interval`, at most `rate` probe starts per second
across all targets, `CONCURRENCY` probes at a time, each with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from socketguard.cluster.feed import Feed
from socketguard.controller.reconciler import Reconciler
from socketguard.engine.contract import ServerSpec, read_contracts
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.services import Service, ServicePort
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing.backends import ServiceResolver
from socketguard.engine.rules.sg601_probe_handshake_failed import probe_finding
from socketguard.probe import ProbeOptions, ProbeReport, ProbeUsageError, run_probe, target_refusal
from socketguard.probe.render import summary_line

log = logging.getLogger(__name__)

CONCURRENCY = 4
PROBE_TIMEOUT_S = 10.0
# A probe has several steps, each bounded by PROBE_TIMEOUT_S; this bounds the whole.
PROBE_DEADLINE_S = 60.0
TICK_S = 1.0


@dataclass(frozen=True)
class ProbeSettings:
    enabled: bool = False
    interval: float = 300.0
    rate: float = 1.0
    allow_hosts: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    # Test seam only: host -> "127.0.0.1:PORT", applied AFTER the allow-list check, because a
    # test machine has no cluster DNS for Service names. Never set by the chart.
    test_addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeTarget:
    workload: ObjectRef
    url: str  # scheme://host:port of the Service
    path: str
    namespace: str = "/"
    transport: str = "both"

    @property
    def endpoint(self) -> str:
        return self.url + self.path


@dataclass(frozen=True)
class Skipped:
    workload: ObjectRef
    reason: str


def probe_targets(inventory: Inventory, settings: ProbeSettings) -> tuple[list[ProbeTarget], list[Skipped]]:
    """Annotated servers that asked to be probed, each with the URL of the Service that selects it."""
    targets: list[ProbeTarget] = []
    skipped: list[Skipped] = []
    resolver = ServiceResolver(inventory)
    for ref, spec in sorted(read_contracts(inventory).servers.items()):
        if spec.inferred or not spec.probe:
            continue
        url = service_url(inventory, resolver, spec, settings.cluster_domain)
        if url is None:
            skipped.append(Skipped(ref, "no Service selects it on the server's port"))
            continue
        refusal = target_refusal(url, settings.allow_hosts, settings.cluster_domain)
        if refusal is not None:
            skipped.append(Skipped(ref, refusal))
            continue
        targets.append(ProbeTarget(ref, url, spec.path, spec.namespaces[0] if spec.namespaces else "/",
                                   _transport(spec)))
    return targets, skipped


def _transport(spec: ServerSpec) -> str:
    if spec.transports == {"websocket"}:
        return "websocket"
    if spec.transports == {"polling"}:
        return "polling"
    return "both"


def service_url(inventory: Inventory, resolver: ServiceResolver, spec: ServerSpec, cluster_domain: str) -> str | None:
    """The first Service (by name) selecting the workload with a port that reaches the server."""
    workload = inventory.workload(spec.workload.kind, spec.workload.namespace, spec.workload.name)
    if workload is None:
        return None
    declared = [p for c in workload.containers for p in c.ports]
    for service in sorted(inventory.services(spec.workload.namespace), key=lambda s: s.metadata.name):
        if spec.workload not in resolver.selected_workloads(spec.workload.namespace, service.spec.selector):
            continue
        port = _port_to_server(service, declared, spec.port)
        if port is not None:
            domain = cluster_domain.strip(".")
            return f"http://{service.metadata.name}.{spec.workload.namespace}.svc.{domain}:{port.port}"
    return None


def _port_to_server(service: Service, declared: list[Any], server_port: int | str | None) -> ServicePort | None:
    """The Service port whose targetPort is the server's container port (the only port if unknown)."""
    def container_number(value: int | str | None) -> int | None:
        for port in declared:
            if port.container_port == value or (isinstance(value, str) and port.name == value):
                return int(port.container_port)
        return value if isinstance(value, int) else None

    if server_port is None:
        wanted = container_number(declared[0].container_port) if len(declared) == 1 else None
        if wanted is None:
            return service.spec.ports[0] if len(service.spec.ports) == 1 else None
    else:
        wanted = container_number(server_port)
    return next((p for p in service.spec.ports
                 if wanted is not None and container_number(p.effective_target_port) == wanted), None)


def finding_for(target: ProbeTarget, report: ProbeReport) -> Finding | None:
    """SG601 for a failed probe, None for one that passed."""
    if report.ok:
        return None
    entries = report.diagnoses
    hint = entries[0].diagnosis.hint if entries else ""
    return probe_finding(target.workload, summary_line(report), endpoint=target.endpoint, hint=hint)


class RateLimiter:
    """At most `rate` acquisitions per second, spaced evenly (no bursts after a quiet period)."""

    def __init__(self, rate: float) -> None:
        self.spacing = 1.0 / rate if rate > 0 else 0.0
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if self.next_start > now:
                await asyncio.sleep(self.next_start - now)
            self.next_start = max(now, self.next_start) + self.spacing


ProbeFunction = Callable[[ProbeOptions], Any]


class Prober:
    """Probes due targets; `findings` holds the current SG601 per workload for the reconciler."""

    def __init__(self, inventory: Inventory, settings: ProbeSettings,
                 on_change: Callable[[set[ObjectRef]], None], probe: ProbeFunction = run_probe) -> None:
        self.inventory = inventory
        self.settings = settings
        self.on_change = on_change
        self.probe = probe
        self.findings: dict[ObjectRef, list[Finding]] = {}
        self.last_probed: dict[ProbeTarget, float] = {}
        self.stale = True
        self.targets: list[ProbeTarget] = []
        self.limiter = RateLimiter(settings.rate)
        self.slots = asyncio.Semaphore(CONCURRENCY)
        self.running: set[ProbeTarget] = set()

    def inventory_changed(self, *_: Any) -> None:
        self.stale = True

    def refresh_targets(self) -> None:
        self.targets, skipped = probe_targets(self.inventory, self.settings)
        for entry in skipped:
            log.info("not probing %s: %s", entry.workload, entry.reason)
        current = set(self.targets)
        self.last_probed = {t: when for t, when in self.last_probed.items() if t in current}
        gone = set(self.findings) - {t.workload for t in self.targets}
        for ref in gone:
            del self.findings[ref]
        if gone:
            self.on_change(gone)
        self.stale = False

    def due(self, now: float) -> list[ProbeTarget]:
        return [t for t in self.targets if t not in self.running
                and now - self.last_probed.get(t, -self.settings.interval) >= self.settings.interval]

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                if self.stale:
                    self.refresh_targets()
                for target in self.due(time.monotonic()):
                    self.running.add(target)
                    task = asyncio.create_task(self.probe_one(target), name=f"probe {target.workload}")
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(TICK_S)
        finally:
            for task in tasks:
                task.cancel()
            for task in list(tasks):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def probe_one(self, target: ProbeTarget) -> None:
        try:
            await self.limiter.acquire()
            async with self.slots:
                self.last_probed[target] = time.monotonic()
                report = await self._probe(target)
            if report is not None and target in self.targets:
                self.record(target, finding_for(target, report))
        except Exception:  # one bad probe must not stop the prober
            log.exception("probe of %s failed to run", target.endpoint)
        finally:
            self.running.discard(target)

    async def _probe(self, target: ProbeTarget) -> ProbeReport | None:
        # Checked again here, right before connecting, whatever produced the target.
        refusal = target_refusal(target.url, self.settings.allow_hosts, self.settings.cluster_domain)
        if refusal is not None:
            log.warning("not probing %s: %s", target.workload, refusal)
            return None
        try:
            options = ProbeOptions.create(self._address(target.url), path=target.path, namespace=target.namespace,
                                          transport=target.transport, timeout_s=PROBE_TIMEOUT_S)
        except ProbeUsageError as error:
            log.warning("not probing %s: %s", target.workload, error)
            return None
        report: ProbeReport = await asyncio.wait_for(self.probe(options), PROBE_DEADLINE_S)
        log.info("probed %s: %s", target.endpoint, summary_line(report))
        return report

    def _address(self, url: str) -> str:
        parts = urlsplit(url)
        mapped = self.settings.test_addresses.get(parts.hostname or "")
        return url if mapped is None else urlunsplit(parts._replace(netloc=mapped))

    def record(self, target: ProbeTarget, finding: Finding | None) -> None:
        before = self.findings.get(target.workload, [])
        after = [finding] if finding is not None else []
        if [f.message for f in before] == [f.message for f in after]:
            return
        if after:
            self.findings[target.workload] = after
        else:
            self.findings.pop(target.workload, None)
        self.on_change({target.workload})


def parse_test_addresses(entries: Iterable[str]) -> dict[str, str]:
    """`host=127.0.0.1:PORT` pairs (the test seam); raises ValueError naming a bad entry."""
    out: dict[str, str] = {}
    for entry in entries:
        host, sep, address = entry.partition("=")
        if not sep or not host.strip() or not address.strip():
            raise ValueError(f"{entry!r} is not HOST=ADDRESS:PORT")
        out[host.strip().lower()] = address.strip()
    return out


def start_prober(feed: Feed, reconciler: Reconciler, settings: ProbeSettings) -> asyncio.Task[None] | None:
    """The prober's task when probes are enabled; its findings flow into `reconciler`'s verdicts."""
    if not settings.enabled:
        return None
    prober = Prober(feed.inventory, settings, reconciler.refresh)
    reconciler.evaluator.extra_findings = prober.findings
    feed.listeners.append(prober.inventory_changed)
    log.info("live probes on: every %.0f s per server, at most %.2f per second", settings.interval, settings.rate)
    return asyncio.create_task(_after_first_evaluation(reconciler, prober), name="socketguard prober")


async def _after_first_evaluation(reconciler: Reconciler, prober: Prober) -> None:
    # A standby replica (paused by peering) never gets there: it lists nothing and probes nothing.
    await reconciler.first_done.wait()
    await prober.run()


async def stop_prober(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
