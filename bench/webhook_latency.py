"""Admission latency and memory under a fixed request rate: real HTTPS AdmissionReview POSTs, large inventories.

The server (a child process) holds an inventory of copies of the mageagent example (fixed by
rewrite), one namespace and host per copy, fed one object at a time through the watch feed the
webhook uses (`socketguard.cluster.feed.Feed`: the same trimming, the same compact inventory), and
serves `socketguard.webhook.server.AdmissionServer` over TLS. The client (this process) fires
POST /validate at a fixed rate, open loop (a slow answer does not delay the next request), mixing
route, server, Service and scale changes that are allowed, denied and warned. The server times
each request from the first byte of the body to the response (parsing, both verdicts, JSON) and
prints the percentiles; the client prints the rate it sustained, and the server's resident memory
(from /proc) once the inventory is loaded, after the requests, and at its peak.
Each inventory size runs in its own server, one after the other; the p99 of every size is
compared with the first (smallest) one's, measured in the same run.

    python bench/webhook_latency.py                         # 10,000 and 30,000 objects, 200/s for 30 s
    python bench/webhook_latency.py --objects 2000 --rate 100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "operator"))

from procmem import memory_mib  # noqa: E402

EXAMPLE = ROOT / "manifests" / "examples" / "mageagent"


def copies(objects: int) -> tuple[list[dict[str, Any]], int]:
    docs = list(stream(objects))
    return docs, int(docs[-1]["metadata"]["namespace"].removeprefix("sg-")) + 1


def stream(objects: int) -> Iterator[dict[str, Any]]:
    """`objects` objects, copy after copy of the example, each built when asked for (as a watch delivers)."""
    import yaml

    files = [EXAMPLE / "broken" / n for n in ("mageagent.yaml", "dashboard.yaml", "gateway.yaml")]
    files.append(EXAMPLE / "fixed-by-rewrite" / "virtualservice.yaml")
    template = json.dumps([d for p in files for d in yaml.safe_load_all(p.read_text()) if d])
    count = 0
    for copy in itertools.count():
        text = template.replace('"namespace": "mageagent"', f'"namespace": "sg-{copy}"')
        for doc in json.loads(text.replace("adverant.ai", f"t{copy}.adverant.ai")):
            if count == objects:
                return
            count += 1
            yield doc


# -- server (child process) ---------------------------------------------------------------------------------
def serve(objects: int, cert: str, key: str) -> None:
    from aiohttp import web

    from socketguard.cluster.feed import Feed
    from socketguard.cluster.heap import release_free_memory_periodically
    from socketguard.webhook.modes import MODE_KEY, Mode
    from socketguard.webhook.server import AdmissionServer, ServerConfig

    feed = Feed()
    for doc in stream(objects):
        feed.apply(doc)
    inventory = feed.inventory
    namespaces = len(inventory.namespaces())
    feed.namespace_labels = {f"sg-{i}": {MODE_KEY: "enforce" if i % 2 else "warn"} for i in range(namespaces)}
    gc.collect()
    samples: list[float] = []

    class TimedServer(AdmissionServer):
        async def _admission(self, request: web.Request) -> web.Response:
            started = time.perf_counter()
            response = await super()._admission(request)
            samples.append(time.perf_counter() - started)
            return response

    config = ServerConfig(host="127.0.0.1", port=0, cert_file=Path(cert), key_file=Path(key), default_mode=Mode.WARN)

    async def main() -> None:
        server = TimedServer(feed, lambda: True, config)
        trim = asyncio.create_task(release_free_memory_periodically())  # as the webhook does
        await server.start()
        print(json.dumps({"port": server.port, "objects": len(inventory), "namespaces": namespaces}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the client is done
        await server.stop()
        trim.cancel()
        print(json.dumps({"samples": samples}), flush=True)

    asyncio.run(main())


# -- client (this process) ------------------------------------------------------------------------------------
def reviews(namespaces: int, count: int) -> list[bytes]:
    """UPDATE reviews spread over every namespace: the first copy's objects, moved into each."""
    template = {(d["kind"], d["metadata"]["name"]): d for d in copies(6)[0]}
    rng = random.Random(7)
    bodies = []
    for index in range(count):
        spread = rng.randrange(namespaces)
        choice = index % 4
        if choice == 0:  # the broken route: denied in enforce namespaces, warned in warn ones
            obj = json.loads(json.dumps(template["VirtualService", "adverant"]))
            obj["spec"]["http"][0].pop("rewrite", None)
        elif choice == 1:  # a harmless server change
            obj = json.loads(json.dumps(template["Deployment", "mageagent"]))
            obj["metadata"]["labels"]["rev"] = str(index)
        elif choice == 2:  # a Service relabel
            obj = json.loads(json.dumps(template["Service", "dashboard"]))
            obj["metadata"]["labels"]["rev"] = str(index)
        else:  # the fixed route itself, unchanged
            obj = json.loads(json.dumps(template["VirtualService", "adverant"]))
        text = json.dumps(obj).replace('"sg-0"', f'"sg-{spread}"').replace("t0.adverant.ai", f"t{spread}.adverant.ai")
        obj = json.loads(text)
        group, _, version = obj["apiVersion"].rpartition("/")
        plural = {"VirtualService": "virtualservices", "Deployment": "deployments", "Service": "services"}[obj["kind"]]
        bodies.append(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": f"u{index}", "operation": "UPDATE",
            "kind": {"group": group, "version": version, "kind": obj["kind"]},
            "resource": {"group": group, "version": version, "resource": plural}, "namespace": f"sg-{spread}",
            "name": obj["metadata"]["name"], "object": obj, "oldObject": obj,
            "userInfo": {"username": "bench"}}}).encode())
    return bodies


async def fire(port: int, ca: bytes, bodies: list[bytes], rate: float) -> tuple[list[float], float, dict[str, int]]:
    import aiohttp

    context = ssl.create_default_context(cadata=ca.decode())
    latencies: list[float] = []
    decisions: dict[str, int] = {}
    connector = aiohttp.TCPConnector(ssl=context, limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"https://127.0.0.1:{port}/validate"
        async with session.post(url, data=bodies[0]) as warm:  # TLS session and caches warm
            await warm.read()

        async def one(body: bytes) -> None:
            sent = time.perf_counter()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                answer = json.loads(await response.read())["response"]
            latencies.append(time.perf_counter() - sent)
            kind = "denied" if not answer["allowed"] else "warned" if answer.get("warnings") else "allowed"
            decisions[kind] = decisions.get(kind, 0) + 1

        start = time.perf_counter()
        tasks = []
        for index, body in enumerate(bodies):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return latencies, elapsed, decisions


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return (f"p50 {cut[49] * 1000:.2f} ms, p95 {cut[94] * 1000:.2f} ms, p99 {cut[98] * 1000:.2f} ms, "
            f"max {ordered[-1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[10_000, 30_000])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--serve", nargs=3, metavar=("OBJECTS", "CERT", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return

    from socketguard.testing.certs import CertificateAuthority

    ca = CertificateAuthority("bench-ca")
    directory = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    cert, key = ca.issue_server("webhook", ["127.0.0.1"]).write(directory, "serving")
    p99s = [measure(objects, args, ca.cert_pem, cert, key) for objects in args.objects]
    for objects, p99 in zip(args.objects[1:], p99s[1:], strict=True):
        print(f"server-side p99 at {objects} objects / at {args.objects[0]}: {p99 / p99s[0]:.2f} (goal <= 1.20)")


def measure(objects: int, args: argparse.Namespace, ca_pem: bytes, cert: Path, key: Path) -> float:
    """One server holding `objects` objects under the request stream; prints its figures, returns its p99."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(objects), str(cert), str(key)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        started = json.loads(server.stdout.readline())
        loaded_rss, _ = memory_mib(server.pid)
        count = int(args.rate * args.seconds)
        bodies = reviews(started["namespaces"], count)
        latencies, elapsed, decisions = asyncio.run(fire(started["port"], ca_pem, bodies, args.rate))
        after_rss, peak_rss = memory_mib(server.pid)
        server.stdin.close()
        samples = json.loads(server.stdout.readline())["samples"][1:]  # without the warm-up request
    finally:
        server.kill() if server.poll() is None else None
    print(f"inventory: {started['objects']} objects in {started['namespaces']} namespaces")
    print(f"server memory: {loaded_rss:.0f} MiB loaded, {after_rss:.0f} MiB after the requests, "
          f"{peak_rss:.0f} MiB peak (resident)")
    print(f"requests: {len(latencies)} at {args.rate:.0f}/s offered, sustained {len(latencies) / elapsed:.1f}/s "
          f"over {elapsed:.1f} s; {', '.join(f'{k} {v}' for k, v in sorted(decisions.items()))}")
    print(f"server-side latency: {percentiles(samples)}")
    print(f"client-side latency (TLS, HTTP, queueing included): {percentiles(latencies)}", flush=True)
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[98]


if __name__ == "__main__":
    main()
