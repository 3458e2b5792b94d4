"""The HTTPS admission server: fixed paths, clean answers to anything, certificates reloaded in place.

Paths (the webhook configurations name them; see docs/webhook.md):
  POST /validate   ValidatingWebhookConfiguration: allow, warn or deny
  POST /mutate     MutatingWebhookConfiguration: `hold` mode pauses Deployment updates
  GET  /healthz    the event loop answers
  GET  /readyz     503 until the watched inventory is filled
Any other path gets a denying AdmissionReview (HTTP 404) that names the known paths, so a wrong
path in a configuration is loud, never a silent allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from socketguard.cluster.versions import AUDIT_KEY
from socketguard.webhook import metrics
from socketguard.webhook.admission import ClusterState, Outcome, VerdictCache, Webhook, admit
from socketguard.webhook.modes import Mode
from socketguard.webhook.review import (
    AdmissionRequest,
    Answer,
    MalformedReviewError,
    build_response,
    malformed_response,
    parse_review,
)

log = logging.getLogger(__name__)

PATHS: dict[str, Webhook] = {"/validate": "validate", "/mutate": "mutate"}
# Far above what a real API server sends (etcd keeps objects under 1.5 MiB).
MAX_BODY = 16 * 1024 * 1024


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"  # a pod serves its Service on every interface
    port: int = 8443
    cert_file: Path | None = None
    key_file: Path | None = None
    default_mode: Mode = Mode.WARN
    reload_interval: float = 10.0


class CertificateReloader:
    """One SSLContext whose certificate chain is reloaded in place when the files change.

    New connections get the new certificate; open ones keep theirs. Mounted Secrets change by a
    symlink swap without file events, so the files' content is compared on a timer.
    """

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert_file, key_file)
        self._digest = self._read_digest()

    def _read_digest(self) -> str:
        return hashlib.sha256(self.cert_file.read_bytes() + b"\0" + self.key_file.read_bytes()).hexdigest()

    def check(self) -> bool:
        """Reload when the files changed; True when a new certificate is in use."""
        try:
            digest = self._read_digest()
            if digest == self._digest:
                return False
            self.context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:  # half-written files: keep serving the old pair
            log.warning("certificate reload failed, keeping the current one: %s", error)
            return False
        self._digest = digest
        log.info("serving certificate reloaded from %s", self.cert_file)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.check()


class AdmissionServer:
    """`inventory_version` names the cluster state `state` holds (`KindVersions.text`): each
    decision carries it, to be audited and replayed against that state."""

    def __init__(self, state: ClusterState, is_ready: Callable[[], bool], config: ServerConfig,
                 inventory_version: Callable[[], str] = lambda: "") -> None:
        self.state, self.is_ready, self.config = state, is_ready, config
        self.inventory_version = inventory_version
        self.reloader: CertificateReloader | None = None
        self.cache = VerdictCache()
        self._runner: web.AppRunner | None = None
        self._watch: asyncio.Task[None] | None = None
        self.port = config.port

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_route("*", "/{tail:.*}", self._admission)
        return app

    async def start(self) -> None:
        context = None
        if self.config.cert_file and self.config.key_file:
            self.reloader = CertificateReloader(self.config.cert_file, self.config.key_file)
            context = self.reloader.context
            self._watch = asyncio.create_task(self.reloader.watch(self.config.reload_interval))
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, ssl_context=context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the bound port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("admission server listening on %s:%s (%s)", self.config.host, self.port,
                 "https" if context else "http, no certificate given")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.is_ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="inventory not filled yet\n")

    async def _admission(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        webhook = PATHS.get(request.path)
        label = webhook or "unknown"
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = MalformedReviewError(f"the body is over {MAX_BODY} bytes")
            return self._reply(label, "", started, malformed_response(error), "malformed")
        response, kind, decision = self.answer(webhook, request.method, request.path, body)
        return self._reply(label, kind, started, response, decision)

    def answer(self, webhook: Webhook | None, method: str, path: str, body: bytes) -> tuple[dict[str, Any], str, str]:
        """(AdmissionReview response, kind, decision) for one request body; never raises.

        Bad requests get a *denying* review with HTTP 200: an HTTP error would count as a webhook
        failure, which `failurePolicy: Ignore` turns into a silent allow.
        """
        try:
            review = parse_review(json.loads(body))
        except MalformedReviewError as error:
            return malformed_response(error), "", "malformed"
        except ValueError as error:  # JSON syntax or encoding
            return malformed_response(MalformedReviewError(f"the body is not JSON ({error})")), "", "malformed"
        if webhook is None or method != "POST":
            known = ", ".join(f"POST {p}" for p in PATHS)
            answer = Answer(allowed=False, code=404,
                            message=f"SocketGuard: no webhook at {method} {path}; the known paths are {known}")
            return build_response(review.uid, answer, review.review_api_version), review.kind, "unknown-path"
        if not self.is_ready():
            answer = Answer(allowed=True, warnings=(
                "SocketGuard webhook is starting (its inventory is not filled yet): this change was not reviewed",))
            return build_response(review.uid, answer, review.review_api_version), review.kind, "not-ready"
        outcome = self._admit(review, webhook)
        self._count(outcome)
        version = self.inventory_version()  # the review ran synchronously: no event came between
        _log_decision(review, webhook, outcome, version)
        audit = {AUDIT_KEY: version} if version else None
        response = build_response(review.uid, outcome.answer, review.review_api_version, audit)
        return response, review.kind, outcome.decision

    def _admit(self, review: AdmissionRequest, webhook: Webhook) -> Outcome:
        try:
            return admit(review, self.state, webhook=webhook, default_mode=self.config.default_mode,
                         cache=self.cache)
        except Exception:  # an engine bug must fail open, like the configurations' failurePolicy
            log.exception("review of %s failed; admitted unreviewed", review.described)
            return Outcome(Answer(allowed=True, warnings=(
                "SocketGuard could not review this change (internal error, logged); admitted",)), skipped="error")

    @staticmethod
    def _count(outcome: Outcome) -> None:
        mode = outcome.mode.label if outcome.mode is not None else "none"
        acting = {f.key for f in outcome.acting}
        for finding in outcome.introduced:
            metrics.FINDINGS.labels(finding.code, mode, str(finding.key in acting).lower()).inc()

    @staticmethod
    def _reply(webhook: str, kind: str, started: float, response: dict[str, Any], decision: str) -> web.Response:
        metrics.REQUESTS.labels(webhook, kind or "none", decision).inc()
        metrics.SECONDS.labels(webhook).observe(time.perf_counter() - started)
        return web.json_response(response)


def _log_decision(review: AdmissionRequest, webhook: Webhook, outcome: Outcome, version: str) -> None:
    """One logfmt line per decision: INFO when it found something, DEBUG for plain allows and skips."""
    level = logging.DEBUG if outcome.decision in ("allowed", "skipped") else logging.INFO
    if not log.isEnabledFor(level):
        return
    codes = ",".join(dict.fromkeys(f.code for f in outcome.introduced)) or "-"
    mode = outcome.mode.label if outcome.mode is not None else "none"
    fields = {"uid": review.uid, "webhook": webhook, "request": review.described, "decision": outcome.decision,
              "mode": mode, "codes": codes, "inventory_version": version}
    log.log(level, "decision uid=%s webhook=%s request=%s decision=%s mode=%s codes=%s inventory-version=%s",
            review.uid, webhook, json.dumps(review.described), outcome.decision, mode, codes, version or "-",
            extra={"decision_fields": fields})
