"""Hypothesis strategies for the nginx oracle: sets of Ingresses and the requests sent to them.

Generation stays inside what the model claims to model; each exclusion is a known limit listed in
docs/oracles.md ("ingress-nginx: real nginx"):
- Prefix and Exact paths use only the characters `strict-validate-path-type` accepts (the
  controller refuses the others); regex paths are ImplementationSpecific.
- `rewrite-target` values start with `/` and carry no query (`?`) or scheme.
- Request paths are already normalised (no `%`, `//`, `.` or `..` segments): nginx matches the
  decoded, merged URI, the model the path as given.
- Every backend names an existing Service port; no `defaultBackend`, no other ingress classes,
  no wildcard hosts, no TLS (ssl-redirect is done in Lua, outside the oracle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

NAMESPACE = "default"
SERVICES = ("svc-a", "svc-b", "svc-c")
SERVICE_PORT = 80
HOSTS = ("a.test", "b.test")
REQUEST_HOSTS = ("a.test", "B.test", "other.test")
PLAIN_PATHS = ("/", "/a", "/a/", "/ab", "/a/b", "/a/b/", "/b", "/A", "/a.b", "/a-b",
               "/socket.io", "/socket.io/", "/Socket.IO/")
REGEX_PATHS = ("/a(/|$)(.*)", "/(a|b)/(.*)", "/a.*", "/socket.io/?(.*)", "/[ab]+", "/b(/|$)(.*)",
               "/(socket.io|ws)(/|$)(.*)")
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
SAME_AS_PATH = "<the ingress's first path>"
APP_ROOTS = ("/app", "/socket.io/", "/a/b")
TARGETS = ("/", "/$1", "/$2", "/x/$1", "/socket.io/$2", SAME_AS_PATH)
REQUEST_TARGETS = ("/", "/a", "/a/", "/ab", "/abc", "/a/b", "/a/b/", "/a/b/c", "/A", "/A/b", "/b", "/b/",
                   "/ba", "/a.b", "/aab", "/a-b", "/x", "/socket.io", "/socket.io/",
                   "/socket.io/?EIO=4&transport=polling", "/Socket.IO/?EIO=4", "/ws/x", "/a/b?q=1")


@dataclass(frozen=True)
class Scenario:
    """One cluster's Ingresses (Services are always SERVICES) and the requests sent to it."""

    ingresses: tuple[dict[str, Any], ...]

    def objects(self) -> list[dict[str, Any]]:
        return [*service_objects(), *self.ingresses]

    @staticmethod
    def requests() -> list[tuple[str, str]]:
        return [(host, target) for host in REQUEST_HOSTS for target in REQUEST_TARGETS]


def service_objects() -> list[dict[str, Any]]:
    return [{
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": SERVICE_PORT}]},
    } for name in SERVICES]


@st.composite
def ingress_paths(draw: st.DrawFn) -> dict[str, Any]:
    path_type = draw(st.sampled_from(PATH_TYPES))
    pool = PLAIN_PATHS + REGEX_PATHS if path_type == "ImplementationSpecific" else PLAIN_PATHS
    return {"path": draw(st.sampled_from(pool)), "pathType": path_type,
            "backend": {"service": {"name": draw(st.sampled_from(SERVICES)), "port": {"number": SERVICE_PORT}}}}


@st.composite
def ingress_rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": draw(st.lists(ingress_paths(), min_size=1, max_size=3))}}
    host = draw(st.sampled_from((*HOSTS, None)))
    if host is not None:
        rule["host"] = host
    return rule


@st.composite
def ingress(draw: st.DrawFn, name: str) -> dict[str, Any]:
    rules = draw(st.lists(ingress_rules(), min_size=1, max_size=2))
    annotations: dict[str, str] = {}
    if draw(st.booleans()):
        annotations["nginx.ingress.kubernetes.io/use-regex"] = draw(st.sampled_from(("true", "false")))
    if draw(st.integers(0, 2)) == 0:
        target = draw(st.sampled_from(TARGETS))
        annotations["nginx.ingress.kubernetes.io/rewrite-target"] = (
            rules[0]["http"]["paths"][0]["path"] if target == SAME_AS_PATH else target)
    if draw(st.integers(0, 3)) == 0:
        annotations["nginx.ingress.kubernetes.io/app-root"] = draw(st.sampled_from(APP_ROOTS))
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": NAMESPACE, "annotations": annotations},
        "spec": {"ingressClassName": "nginx", "rules": rules},
    }


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """1-4 Ingresses, named in a random order (the controller orders equal timestamps by name)."""
    count = draw(st.integers(1, 4))
    order = draw(st.permutations(range(count)))
    return Scenario(tuple(draw(ingress(f"ing-{chr(ord('a') + index)}")) for index in order))
