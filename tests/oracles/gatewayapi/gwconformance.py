"""The Gateway API conformance suite as an oracle: its manifests and the outcomes its tests expect.

The suite is its own Go module, `sigs.k8s.io/gateway-api/conformance`. `go mod download` fetches
it at test time (nothing of it is copied into this repository); the Go program in `extract/`
parses the tests' Go sources with go/ast and prints every request they make with the expected
outcome. Its JSON is cached under ~/.cache/socketguard/, keyed by the suite version and a digest
of the extractor's source, so only the first run (or an extractor change) pays for the build.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from socketguard.testing.binaries import _go_environment, _go_mod_download

MODULE = "sigs.k8s.io/gateway-api/conformance"
VERSION = "1.6.3"
EXTRACTOR = Path(__file__).with_name("extract")
GATEWAY_CLASS = "socketguard-conformance"

#: The conformance tests this oracle covers (shell patterns on ShortName).
IN_SCOPE = (
    "HTTPRouteMatching",
    "HTTPRouteMatchingAcrossRoutes",
    "HTTPRoutePathMatchOrder",
    "HTTPRouteExactPathMatching",
    "HTTPRouteHeaderMatching",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteMethodMatching",
    "HTTPRouteRewritePath",
    "HTTPRouteRedirect*",
    "HTTPRoute30[378]Redirect",
    "HTTPRouteWeight",
    "HTTPRouteReferenceGrant",
    "HTTPRouteListenerHostnameMatching",
    "HTTPRouteHostnameIntersection",
    "HTTPRouteCrossNamespace",
    # HTTPRouteInvalid* that concern backend resolution (the ParentRef ones only check status).
    "HTTPRouteInvalidBackendRefUnknownKind",
    "HTTPRouteInvalidCrossNamespaceBackendRef",
    "HTTPRouteInvalidNonExistentBackendRef",
    "HTTPRouteInvalidReferenceGrant",
    "HTTPRoutePartiallyInvalidViaInvalidReferenceGrant",
    "HTTPRouteBackendProtocolWebSocket",
)


@dataclass(frozen=True)
class ConformanceTest:
    """One conformance test as the extractor read it."""

    name: str
    file: str
    manifests: tuple[str, ...]
    requests: tuple[dict[str, Any], ...]
    unextracted: tuple[dict[str, Any], ...]


def in_scope(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IN_SCOPE)


def module_dir() -> Path:
    """The conformance module, downloaded (or found in the Go module cache) by `go mod download`."""
    # Outside any go.mod, so that the download never touches a module's requirements.
    info = _go_mod_download(MODULE, VERSION, lambda _message: None, Path(tempfile.gettempdir()))
    return Path(info["Dir"])


def extractor_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted(EXTRACTOR.glob("*")):
        if source.suffix in (".go", ".mod"):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "socketguard" / "gateway-api-conformance" / f"v{VERSION}-{extractor_digest()}.json"


def run_extractor(directory: Path) -> dict[str, Any]:
    """Build and run the extractor on a module directory; its JSON document."""
    result = subprocess.run(
        ["go", "run", ".", str(directory)], cwd=EXTRACTOR, env=_go_environment(),
        capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the conformance extractor failed ({result.returncode}):\n{result.stderr[-3000:]}")
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def extracted() -> dict[str, Any]:
    """The extractor's document for the pinned suite version, from the cache when it is current."""
    cached = cache_file()
    if cached.is_file():
        document: dict[str, Any] = json.loads(cached.read_text())
        return document
    document = run_extractor(module_dir())
    cached.parent.mkdir(parents=True, exist_ok=True)
    # A file of its own per writer, renamed into place: concurrent runs never read a partial cache.
    with tempfile.NamedTemporaryFile("w", dir=cached.parent, suffix=".partial", delete=False) as partial:
        partial.write(json.dumps(document))
    Path(partial.name).replace(cached)
    return document


def conformance_tests(document: dict[str, Any]) -> dict[str, ConformanceTest]:
    return {
        test["name"]: ConformanceTest(test["name"], test["file"], tuple(test["manifests"]),
                                      tuple(test["requests"]), tuple(test["unextracted"]))
        for test in document["tests"]
    }


def manifests(directory: Path, paths: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The objects of the suite's base manifests and a test's own, placeholders filled in."""
    for path in ("base/manifests.yaml", *paths):
        yield from copy.deepcopy(_manifest_file(directory / path))


@functools.cache
def _manifest_file(path: Path) -> tuple[dict[str, Any], ...]:
    text = path.read_text().replace("{GATEWAY_CLASS_NAME}", GATEWAY_CLASS)
    return tuple(d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if isinstance(d, dict))
