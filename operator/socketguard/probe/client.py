"""The prober: a real Engine.IO v4 / Socket.IO v5 session through the real route, step by step.

Steps, each timed and each with its own verdict:
  polling-handshake     GET P/?EIO=4&transport=polling -> `0{"sid":...}`
  cors                  Access-Control-Allow-Origin of that answer against the Origin sent
  namespace-connect     POST `40` (or `40/ns,`) then GET until `40{...}` (joined) or `44{...}` (refused)
  poll-k                K more requests carrying the sid; each may meet another replica
  websocket-upgrade     WebSocket with the sid: `2probe` -> `3probe` -> `5`
  websocket-handshake   WebSocket without sid -> `0{...}`
  websocket-namespace   `40` over that WebSocket -> `40{...}` / `44{...}`

The "polls" are POSTs of a heartbeat (`3`, pong) rather than GETs: a GET long-poll is held by the
server until it has something to send (up to pingInterval, 25 s by default), while a POST is
answered at once, and both are routed by the sid alike. Servers take an unasked pong as a sign of
life and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import SimpleNamespace, TracebackType
from urllib.parse import urlencode, urlsplit

import aiohttp

from socketguard import __version__
from socketguard.probe import diagnose
from socketguard.probe.model import (
    Cause,
    Diagnosis,
    HttpAnswer,
    Outcome,
    ProbeOptions,
    ProbeReport,
    ProbeUsageError,
    StepResult,
)
from socketguard.probe.packets import (
    PROBE,
    EioPacket,
    EioType,
    OpenInfo,
    PacketError,
    SioType,
    decode_eio_packet,
    decode_eio_payload,
    decode_sio_packet,
    encode_sio_connect,
    error_message,
    parse_open,
)

USER_AGENT = f"socketguard-probe/{__version__}"
_BODY_LIMIT = 64 * 1024
_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError)
_CORS_REQUEST = "(headers of the handshake answer)"


async def run_probe(options: ProbeOptions) -> ProbeReport:
    """Probe `options.endpoint` and return every step's result with its diagnosis. Never raises for
    anything the target does; raises ProbeUsageError only for a CA file that cannot be loaded."""
    ssl_setting = _ssl_setting(options)
    started = time.perf_counter()
    async with _Prober(options, ssl_setting) as prober:
        await prober.run()
    return ProbeReport(
        options=options,
        steps=tuple(prober.steps),
        handshake=prober.open_info,
        total_ms=(time.perf_counter() - started) * 1000,
    )


def run_probe_blocking(options: ProbeOptions) -> ProbeReport:
    """`run_probe` for callers without an event loop (the CLI)."""
    return asyncio.run(run_probe(options))


class _StepError(Exception):
    def __init__(self, diagnosis: Diagnosis, status: int | None = None, detail: str = "") -> None:
        super().__init__(diagnosis.summary)
        self.diagnosis = diagnosis
        self.status = status
        self.detail = detail or diagnosis.summary


@dataclass(frozen=True, slots=True)
class _Done:
    detail: str
    status: int | None = None


class _Prober:
    def __init__(self, options: ProbeOptions, ssl_setting: ssl.SSLContext | bool) -> None:
        self.options = options
        self.steps: list[StepResult] = []
        self.open_info: OpenInfo | None = None
        self._ssl = ssl_setting
        target = urlsplit(options.base_url)
        self._host = target.hostname or ""
        self._port = target.port or (443 if target.scheme == "https" else 80)
        self._handshake_answer: HttpAnswer | None = None
        self._upgrade_refusal: HttpAnswer | None = None
        self._upgraded: aiohttp.ClientWebSocketResponse | None = None
        self._websocket: aiohttp.ClientWebSocketResponse | None = None
        self._cache_buster = itertools.count(1)
        self._http: aiohttp.ClientSession | None = None
        self._silence: Diagnosis | None = None

    async def __aenter__(self) -> _Prober:
        tracing = aiohttp.TraceConfig()
        tracing.on_request_end.append(self._keep_upgrade_refusal)
        headers = {"User-Agent": USER_AGENT}
        if self.options.origin is not None:
            headers["Origin"] = self.options.origin
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl, limit=4),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
            trace_configs=[tracing],
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            await self._say_goodbye()
        finally:
            await self.session.close()

    @property
    def _limit(self) -> str:
        return f"{self.options.timeout_s:g} s"

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("the prober is used outside its `async with` block")
        return self._http

    async def run(self) -> None:
        if self.options.uses_polling:
            await self._polling_steps()
        if self.options.uses_websocket:
            await self._websocket_steps()

    # -- polling ---------------------------------------------------------------------------------

    async def _polling_steps(self) -> None:
        handshake = await self._step(
            "polling-handshake", "polling handshake", self._request_line("GET", "polling"), self._handshake
        )
        sid = self.open_info.sid if self.open_info is not None else None
        if self.options.origin is not None:
            await self._cors_step(handshake)
        if sid is None:
            self._skip_session_steps("the polling handshake failed, so there is no session", connect=True)
            return
        joined = await self._step(
            "namespace-connect",
            f"join namespace {self.options.namespace}",
            self._request_line("POST", "polling", sid),
            lambda: self._namespace_over_polling(sid),
        )
        if not _session_survives(joined):
            # Giving up on a pending long poll makes engine.io close the session, so any further
            # request would report "Session ID unknown" and pass for missing stickiness.
            self._skip_session_steps("joining the namespace failed in a way that ends the session", connect=False)
            return
        for number in range(1, self.options.polls + 1):
            await self._step(
                f"poll-{number}",
                self._poll_title(number),
                self._request_line("POST", "polling", sid),
                lambda: self._heartbeat(sid),
            )
        if self.options.transport == "both":
            await self._step(
                "websocket-upgrade",
                "websocket upgrade",
                self._request_line("GET", "websocket", sid),
                lambda: self._upgrade(sid),
            )

    def _poll_title(self, number: int) -> str:
        return f"poll {number}/{self.options.polls} on the same sid"

    def _skip_session_steps(self, reason: str, *, connect: bool) -> None:
        names = [("namespace-connect", f"join namespace {self.options.namespace}")] if connect else []
        names += [(f"poll-{n}", self._poll_title(n)) for n in range(1, self.options.polls + 1)]
        if self.options.transport == "both":
            names.append(("websocket-upgrade", "websocket upgrade"))
        for name, title in names:
            self.steps.append(StepResult(name, title, Outcome.SKIPPED, detail=reason))

    async def _handshake(self) -> _Done:
        answer = await self._get_or_post("GET", self._url("polling"))
        self._handshake_answer = answer
        if answer.status != 200:
            raise self._refused(answer, websocket=False, sid=None)
        try:
            info = parse_open(decode_eio_payload(answer.body)[0])
        except PacketError as error:
            raise _StepError(
                diagnose.not_engineio(answer, path=self.options.path, problem=str(error)), answer.status
            ) from None
        self.open_info = info
        return _Done(
            f"open: sid {info.sid}, upgrades {list(info.upgrades)}, pingInterval {info.ping_interval_ms} ms, "
            f"pingTimeout {info.ping_timeout_ms} ms",
            answer.status,
        )

    async def _cors_step(self, handshake: StepResult) -> None:
        """A browser's verdict on the handshake answer; no request of its own, so not timed."""
        origin = self.options.origin
        if origin is None:
            return
        title = f"CORS for {origin}"
        answer = self._handshake_answer
        if answer is None or handshake.outcome is not Outcome.OK:
            self.steps.append(StepResult("cors", title, Outcome.SKIPPED, detail="the polling handshake failed"))
            return
        seen = _cors_headers(answer)
        if _same_origin(origin, self.options.base_url):
            seen = f"same origin, so browsers apply no CORS ({seen})"
            self.steps.append(StepResult("cors", title, Outcome.OK, _CORS_REQUEST, detail=seen))
            return
        problem = diagnose.cors_check(origin, answer)
        if problem is not None:
            self.steps.append(
                StepResult("cors", title, Outcome.FAILED, _CORS_REQUEST, detail=seen, diagnosis=problem)
            )
            return
        if answer.headers.get("access-control-allow-origin") == "*":
            seen += "; any origin is allowed, which browsers refuse for clients with withCredentials"
        self.steps.append(StepResult("cors", title, Outcome.OK, _CORS_REQUEST, detail=seen))

    async def _namespace_over_polling(self, sid: str) -> _Done:
        await self._post(sid, encode_sio_connect(self.options.namespace))
        self._expect(diagnose.connect_unanswered(self.options.namespace, self.options.timeout_s))
        while True:
            answer = await self._get_or_post("GET", self._url("polling", sid))
            if answer.status != 200:
                raise self._refused(answer, websocket=False, sid=sid)
            packets = self._payload(answer, "namespace CONNECT answer")
            for packet in packets:
                if packet.type is EioType.PING:
                    await self._post(sid, EioPacket(EioType.PONG).encode())
                outcome = self._connect_reply(packet)
                if outcome is not None:
                    return _Done(outcome, answer.status)

    async def _heartbeat(self, sid: str) -> _Done:
        answer = await self._post(sid, EioPacket(EioType.PONG).encode())
        return _Done("the session is known here", answer.status)

    async def _post(self, sid: str, body: str) -> HttpAnswer:
        answer = await self._get_or_post("POST", self._url("polling", sid), body)
        if answer.status != 200:
            raise self._refused(answer, websocket=False, sid=sid)
        if answer.body.strip().lower() != "ok":
            raise _StepError(
                diagnose.not_engineio(answer, path=self.options.path, problem="a POST must be answered 'ok'"),
                answer.status,
            )
        return answer

    def _payload(self, answer: HttpAnswer, what: str) -> list[EioPacket]:
        try:
            return decode_eio_payload(answer.body)
        except PacketError as error:
            raise _StepError(diagnose.protocol_error(what, str(error)), answer.status) from None

    def _connect_reply(self, packet: EioPacket) -> str | None:
        """Detail text when `packet` answers our CONNECT; raises when it refuses; None otherwise."""
        if packet.type is EioType.CLOSE:
            raise _StepError(diagnose.protocol_error("namespace CONNECT", "the server closed the session"))
        if packet.type is not EioType.MESSAGE:
            return None
        try:
            reply = decode_sio_packet(packet.data)
        except PacketError as error:
            raise _StepError(diagnose.protocol_error("namespace CONNECT", str(error))) from None
        if reply.namespace != self.options.namespace:
            return None
        if reply.type is SioType.CONNECT_ERROR:
            raise _StepError(diagnose.namespace_refused(self.options.namespace, error_message(reply.data)))
        if reply.type is SioType.CONNECT:
            socket_id = reply.data.get("sid") if isinstance(reply.data, dict) else None
            return f"joined {self.options.namespace} as socket {socket_id}"
        return None

    # -- websocket -------------------------------------------------------------------------------

    async def _upgrade(self, sid: str) -> _Done:
        info = self.open_info
        if info is not None and "websocket" not in info.upgrades:
            raise _StepError(diagnose.upgrade_not_offered(info.upgrades))
        socket = await self._open_websocket(sid)
        self._upgraded = socket
        self._expect(diagnose.upgrade_hung_up(f"the server did not answer 2{PROBE} within {self._limit}"))
        await socket.send_str(EioPacket(EioType.PING, PROBE).encode())
        answer = await self._receive(socket, f"did not answer 2{PROBE}")
        if answer != EioPacket(EioType.PONG, PROBE):
            raise _StepError(diagnose.protocol_error("websocket upgrade", f"2{PROBE} was answered {answer}"))
        await socket.send_str(EioPacket(EioType.UPGRADE).encode())
        return _Done(f"2{PROBE} -> 3{PROBE}, upgrade sent (5)", 101)

    async def _websocket_steps(self) -> None:
        opened = await self._step(
            "websocket-handshake",
            "websocket-only handshake",
            self._request_line("GET", "websocket"),
            self._websocket_handshake,
        )
        title = f"join namespace {self.options.namespace} over websocket"
        if opened.outcome is not Outcome.OK or self._websocket is None:
            self.steps.append(StepResult("websocket-namespace", title, Outcome.SKIPPED,
                                         detail="the websocket-only handshake failed"))
            return
        socket = self._websocket
        await self._step("websocket-namespace", title, "send " + encode_sio_connect(self.options.namespace),
                         lambda: self._namespace_over_websocket(socket))

    async def _websocket_handshake(self) -> _Done:
        socket = await self._open_websocket(None)
        self._websocket = socket
        self._expect(diagnose.upgrade_hung_up(f"the server sent no open packet within {self._limit}"))
        packet = await self._receive(socket, "sent no open packet")
        try:
            info = parse_open(packet)
        except PacketError as error:
            raise _StepError(diagnose.protocol_error("websocket-only handshake", str(error))) from None
        return _Done(f"open: sid {info.sid}, pingInterval {info.ping_interval_ms} ms", 101)

    async def _namespace_over_websocket(self, socket: aiohttp.ClientWebSocketResponse) -> _Done:
        await socket.send_str(encode_sio_connect(self.options.namespace))
        self._expect(diagnose.connect_unanswered(self.options.namespace, self.options.timeout_s))
        while True:
            packet = await self._receive(socket, "did not answer the namespace CONNECT")
            if packet.type is EioType.PING:
                await socket.send_str(EioPacket(EioType.PONG).encode())
            outcome = self._connect_reply(packet)
            if outcome is not None:
                return _Done(outcome)

    async def _open_websocket(self, sid: str | None) -> aiohttp.ClientWebSocketResponse:
        self._upgrade_refusal = None
        try:
            return await self.session.ws_connect(
                self._url("websocket", sid),
                origin=self.options.origin,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self.options.timeout_s),
                max_msg_size=1024 * 1024,
            )
        except aiohttp.WSServerHandshakeError as error:
            answer = self._upgrade_refusal or HttpAnswer(
                error.status, error.message, {k.lower(): v for k, v in (error.headers or {}).items()}, ""
            )
            raise _StepError(
                diagnose.upgrade_not_switched(
                    answer, path=self.options.path, sid=sid, origin=self.options.origin
                ),
                answer.status,
            ) from None

    async def _receive(self, socket: aiohttp.ClientWebSocketResponse, silence: str) -> EioPacket:
        message = await socket.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                return decode_eio_packet(str(message.data))
            except PacketError as error:
                raise _StepError(diagnose.protocol_error("websocket", str(error))) from None
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            code = socket.close_code
            raise _StepError(diagnose.upgrade_hung_up(f"was closed (code {code}): the server {silence}"))
        if message.type is aiohttp.WSMsgType.ERROR:
            raise _StepError(diagnose.upgrade_hung_up(f"failed ({message.data}): the server {silence}"))
        raise _StepError(diagnose.protocol_error("websocket", f"unexpected {message.type.name} frame"))

    async def _keep_upgrade_refusal(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        # ws_connect raises on a refused upgrade without the body, which carries the server's reason.
        if "Upgrade" in params.headers and params.response.status != 101:
            body = await _read_limited(params.response)
            self._upgrade_refusal = _answer(params.response, body)

    # -- plumbing --------------------------------------------------------------------------------

    async def _step(
        self, name: str, title: str, request: str, action: Callable[[], Awaitable[_Done]]
    ) -> StepResult:
        started = time.perf_counter()
        self._silence = None
        try:
            async with asyncio.timeout(self.options.timeout_s):
                done = await action()
        except TimeoutError as error:
            diagnosis = self._silence or self._network_diagnosis(error, name)
            result = StepResult(name, title, Outcome.FAILED, request, _since(started), None,
                                diagnosis.summary, diagnosis)
        except _StepError as failure:
            result = StepResult(name, title, Outcome.FAILED, request, _since(started), failure.status,
                                failure.detail, failure.diagnosis)
        except _NETWORK_ERRORS as error:
            diagnosis = self._network_diagnosis(error, name)
            result = StepResult(name, title, Outcome.FAILED, request, _since(started), None,
                                diagnosis.summary, diagnosis)
        else:
            result = StepResult(name, title, Outcome.OK, request, _since(started), done.status, done.detail)
        self.steps.append(result)
        return result

    def _expect(self, silence: Diagnosis) -> None:
        """What running out of time means from here on in the current step."""
        self._silence = silence

    def _network_diagnosis(self, error: BaseException, step: str) -> Diagnosis:
        return diagnose.from_exception(
            error, host=self._host, port=self._port, timeout_s=self.options.timeout_s,
            websocket=step.startswith("websocket"),
        )

    async def _get_or_post(self, method: str, url: str, body: str | None = None) -> HttpAnswer:
        headers = {"Content-Type": "text/plain;charset=UTF-8"} if body is not None else None
        async with self.session.request(
            method, url, data=body, headers=headers, allow_redirects=False
        ) as response:
            return _answer(response, await _read_limited(response))

    def _refused(self, answer: HttpAnswer, *, websocket: bool, sid: str | None) -> _StepError:
        return _StepError(
            diagnose.from_answer(answer, path=self.options.path, websocket=websocket, sid=sid), answer.status
        )

    def _url(self, transport: str, sid: str | None = None) -> str:
        query = {"EIO": "4", "transport": transport, "t": f"sg{next(self._cache_buster)}"}
        if sid is not None:
            query["sid"] = sid
        base = self.options.endpoint
        if transport == "websocket":
            base = "ws" + base.removeprefix("http")
        return f"{base}?{urlencode(query)}"

    def _request_line(self, method: str, transport: str, sid: str | None = None) -> str:
        query = f"EIO=4&transport={transport}" + (f"&sid={sid}" if sid else "")
        return f"{method} {self.options.path}/?{query}"

    async def _say_goodbye(self) -> None:
        """Close what the probe opened so the servers free the sessions now, not after pingTimeout."""
        close = EioPacket(EioType.CLOSE).encode()
        for socket in (self._upgraded, self._websocket):
            if socket is not None and not socket.closed:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await asyncio.wait_for(_close_websocket(socket, close), self.options.timeout_s)
        if self.open_info is not None and self._upgraded is None:
            with contextlib.suppress(*_NETWORK_ERRORS):
                await asyncio.wait_for(
                    self._get_or_post("POST", self._url("polling", self.open_info.sid), close),
                    self.options.timeout_s,
                )


async def _close_websocket(socket: aiohttp.ClientWebSocketResponse, close_packet: str) -> None:
    await socket.send_str(close_packet)
    await socket.close()


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < _BODY_LIMIT:
        chunk = await response.content.read(_BODY_LIMIT - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _answer(response: aiohttp.ClientResponse, body: bytes) -> HttpAnswer:
    return HttpAnswer(
        status=response.status,
        reason=response.reason or "",
        headers={key.lower(): value for key, value in response.headers.items()},
        body=body.decode("utf-8", errors="replace"),
    )


def _session_survives(step: StepResult) -> bool:
    """Whether the polling session is still open on the server that made it after `step`."""
    if step.outcome is Outcome.OK or step.diagnosis is None:
        return True
    return step.diagnosis.cause in (Cause.NO_STICKY_SESSIONS, Cause.NAMESPACE_REFUSED)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _cors_headers(answer: HttpAnswer) -> str:
    allowed = answer.headers.get("access-control-allow-origin", "absent")
    credentials = answer.headers.get("access-control-allow-credentials", "absent")
    return f"Access-Control-Allow-Origin: {allowed}, Access-Control-Allow-Credentials: {credentials}"


def _same_origin(origin: str, base_url: str) -> bool:
    def key(url: str) -> tuple[str, str, int]:
        parts = urlsplit(url)
        default_port = 443 if parts.scheme == "https" else 80
        return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port

    return key(origin) == key(base_url)


def _ssl_setting(options: ProbeOptions) -> ssl.SSLContext | bool:
    if not options.verify_tls:
        return False
    if options.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=options.ca_file)
    except (ssl.SSLError, OSError) as error:
        raise ProbeUsageError(f"CA file {options.ca_file!r} could not be loaded: {error}") from None
