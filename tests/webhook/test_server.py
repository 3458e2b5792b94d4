"""The HTTPS server, over real TLS on 127.0.0.1: clean answers to anything, certificate reload."""

from __future__ import annotations

import asyncio
import io
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from socketguard.testing.certs import CertificateAuthority
from socketguard.webhook.modes import Mode
from socketguard.webhook.server import AdmissionServer, CertificateReloader, ServerConfig

from .support import documents, find, review, working_state

BROKEN_VS = find(documents("broken"), "VirtualService", "adverant")
FIXED_VS = find(documents("fixed-by-rewrite"), "VirtualService", "adverant")


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def post(self, path: str, body: bytes | dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        # A stream, not raw bytes: aiohttp warns that a large raw body blocks the event loop.
        async with self.session.post(self.base + path, data=io.BytesIO(data),
                                     headers={"Content-Type": "application/json"}) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> int:
        async with self.session.get(self.base + path) as response:
            return response.status


def serve(tmp_path: Path, scenario: Callable[[Client, AdmissionServer], Awaitable[None]], *,
          ready: bool = True, ca: CertificateAuthority | None = None) -> None:
    ca = ca or CertificateAuthority("test-ca")
    cert_file, key_file = ca.issue_server("webhook", ["127.0.0.1"]).write(tmp_path, "serving")
    config = ServerConfig(host="127.0.0.1", port=0, cert_file=cert_file, key_file=key_file,
                          default_mode=Mode.WARN, reload_interval=0.1)
    server = AdmissionServer(working_state("enforce"), lambda: ready, config)
    trust = ssl.create_default_context(cadata=ca.cert_pem.decode())

    async def main() -> None:
        await server.start()
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as session:
                await scenario(Client(session, f"https://127.0.0.1:{server.port}"), server)
        finally:
            await server.stop()

    asyncio.run(main())


def test_validate_denies_over_https(tmp_path: Path) -> None:
    async def scenario(client: Client, _: AdmissionServer) -> None:
        status, body = await client.post("/validate", review("UPDATE", BROKEN_VS, FIXED_VS, uid="abc"))
        assert status == 200 and body["kind"] == "AdmissionReview"
        assert body["response"]["uid"] == "abc" and body["response"]["allowed"] is False
        assert "SG102" in body["response"]["status"]["message"]
        status, body = await client.post("/mutate", review("UPDATE", BROKEN_VS, FIXED_VS))
        assert body["response"]["allowed"] is True and "patch" not in body["response"]
        assert await client.get("/healthz") == 200 and await client.get("/readyz") == 200

    serve(tmp_path, scenario)


def test_malformed_bodies_get_a_clean_denial(tmp_path: Path) -> None:
    async def scenario(client: Client, _: AdmissionServer) -> None:
        for body in (b"{not json", b"\xff\xfe", b"[]", b"null", {"kind": "AdmissionReview"},
                     {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 7}},
                     {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "u", "operation": "PATCH"}}):
            status, answer = await client.post("/validate", body)
            assert status == 200, body
            response = answer["response"]
            assert response["allowed"] is False and response["status"]["code"] == 400
            assert response["status"]["message"].startswith("SocketGuard: malformed AdmissionReview: ")

    serve(tmp_path, scenario)


def test_an_unknown_path_denies_and_names_the_known_ones(tmp_path: Path) -> None:
    async def scenario(client: Client, _: AdmissionServer) -> None:
        status, body = await client.post("/validate-v2", review("UPDATE", FIXED_VS, FIXED_VS, uid="x"))
        assert status == 200 and body["response"]["allowed"] is False and body["response"]["uid"] == "x"
        assert "POST /validate, POST /mutate" in body["response"]["status"]["message"]

    serve(tmp_path, scenario)


def test_a_huge_object_gets_an_answer(tmp_path: Path) -> None:
    huge = json.loads(json.dumps(BROKEN_VS))
    huge["metadata"]["annotations"] = {"blob": "x" * 3_000_000}
    huge["spec"]["http"] = [*huge["spec"]["http"], *[
        {"match": [{"uri": {"prefix": f"/p{i}/"}}], "route": [{"destination": {"host": "dashboard"}}]}
        for i in range(2000)]]

    async def scenario(client: Client, _: AdmissionServer) -> None:
        status, body = await client.post("/validate", review("UPDATE", huge, FIXED_VS))
        assert status == 200 and body["response"]["allowed"] is False
        assert "SG102" in body["response"]["status"]["message"]

    serve(tmp_path, scenario)


def test_not_ready_admits_with_a_warning_and_reports_unready(tmp_path: Path) -> None:
    async def scenario(client: Client, _: AdmissionServer) -> None:
        _, body = await client.post("/validate", review("UPDATE", BROKEN_VS, FIXED_VS))
        assert body["response"]["allowed"] is True
        assert "not filled" in body["response"]["warnings"][0]
        assert await client.get("/readyz") == 503

    serve(tmp_path, scenario, ready=False)


def test_a_new_certificate_is_served_after_the_files_change(tmp_path: Path) -> None:
    first, second = CertificateAuthority("first-ca"), CertificateAuthority("second-ca")

    async def scenario(client: Client, server: AdmissionServer) -> None:
        assert server.reloader is not None
        replacement = second.issue_server("webhook", ["127.0.0.1"])
        cert, key = replacement.write(tmp_path / "next", "serving")
        server.reloader.key_file.write_bytes(key.read_bytes())
        server.reloader.cert_file.write_bytes(cert.read_bytes())
        trust_second = ssl.create_default_context(cadata=second.cert_pem.decode())
        for _ in range(100):
            try:
                async with (aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust_second)) as session,
                            session.get(f"https://127.0.0.1:{server.port}/healthz") as response):
                    assert response.status == 200
                    return
            except aiohttp.ClientConnectorCertificateError:
                await asyncio.sleep(0.1)
        raise AssertionError("the new certificate was never served")

    serve(tmp_path, scenario, ca=first)


def test_a_broken_certificate_file_keeps_the_current_one(tmp_path: Path) -> None:
    ca = CertificateAuthority("ca")
    cert_file, key_file = ca.issue_server("webhook", ["127.0.0.1"]).write(tmp_path, "serving")
    reloader = CertificateReloader(cert_file, key_file)
    cert_file.write_text("-----BEGIN CERTIFICATE-----\ntruncated")
    assert reloader.check() is False

