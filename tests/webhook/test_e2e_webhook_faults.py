"""The webhook process when the API server restarts under it (a control plane of its own)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from socketguard.testing import ControlPlane, find_toolset, wait_for

from .test_e2e_webhook import Example, allowed, configurations, denied, start_webhook, when

pytestmark = pytest.mark.e2e


def server(ns: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": ns,
                         "annotations": {"socketguard.io/role": "server", "socketguard.io/path": "/ws"}},
            "spec": {"selector": {"matchLabels": {"app": "api"}},
                     "template": {"metadata": {"labels": {"app": "api"}},
                                  "spec": {"containers": [{"name": "app", "image": "example/app:1",
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}}}


def service(ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": ns},
            "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}}


def route(ns: str) -> dict[str, Any]:
    """Sends the default handshake path to a server that listens on /ws: SG102."""
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "api", "namespace": ns},
            "spec": {"hosts": ["api"], "http": [{"match": [{"uri": {"prefix": "/socket.io/"}}],
                                                 "route": [{"destination": {"host": "api",
                                                                            "port": {"number": 8080}}}]}]}}


def test_the_webhook_follows_changes_made_after_an_api_server_restart(tmp_path: Path) -> None:
    toolset = find_toolset()
    if toolset is None:
        pytest.fail("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    # Watches served by etcd itself (no watch cache), so compacting etcd during the gap below makes
    # every resumed watch `410 Gone` whatever the timing: the re-list is then the only way to learn
    # of the deletion.
    with ControlPlane(run_dir=tmp_path / "plane", toolset=toolset, controller_manager=False,
                      apiserver_args=["--watch-cache=false"]) as plane:
        webhook = start_webhook(plane, tmp_path)
        try:
            plane.apply(configurations(webhook, "socketguard-faults"))
            plane.create_namespace("reconnect")
            example = Example(plane, "reconnect", "enforce")
            probe = [route("reconnect")]

            plane.restart_apiserver(down=3.0)
            back = time.monotonic()
            # Only a watch that came back knows this server: then the route contradicts it.
            example.apply([server("reconnect"), service("reconnect")])
            when(lambda: example.apply(probe, "--dry-run=server", check=False), denied,
                 "route to a server created after the restart denied")
            print(f"\nAPI server back to the webhook knowing a new server: {time.monotonic() - back:.1f} s")
            # And it sees deletions: without the server nothing contradicts the route.
            example.kubectl("delete", "deployment", "api")
            when(lambda: example.apply(probe, "--dry-run=server", check=False), allowed,
                 "the same route admitted once the server is gone")
            assert webhook.process.poll() is None  # reconnected, not restarted

            # A deletion the webhook cannot hear: it is frozen while its watches are cut and the
            # server goes; its watches resume with `410 Gone`, and the re-list must drop the server.
            example.apply([server("reconnect")])
            when(lambda: example.apply(probe, "--dry-run=server", check=False), denied, "denied again")
            webhook.process.send_signal(signal.SIGSTOP)
            try:
                plane.restart_apiserver()
                example.kubectl("delete", "deployment", "api")
                plane.compact_etcd()
            finally:
                webhook.process.send_signal(signal.SIGCONT)
            # While it re-lists the webhook is not ready and fails open, so an admission alone proves
            # nothing: first the re-list must forget the server, then the route must be admitted.
            forgot = "forgot 1 objects deleted while the watches were down: Deployment reconnect/api"
            wait_for(lambda: forgot in webhook.log.read_text(), timeout=60, what="the re-list forgets the server")
            when(lambda: example.apply(probe, "--dry-run=server", check=False), allowed,
                 "the route admitted: the server deleted during the gap is forgotten")
        finally:
            webhook.stop()
