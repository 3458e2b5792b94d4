"""The nginx `server` ingress-nginx renders for one host, and which of its locations nginx picks.

Read from kubernetes/ingress-nginx at controller-v1.15.1 and checked against real nginx by the
nginx oracle (tests/oracles/nginx):
- Ingress order (internal/ingress/controller/store/store.go `sortIngressSlice`): creationTimestamp,
  equal ones (objects read from files have none) by `namespace/name` descending.
- The server's `location /` goes to the default backend and carries the annotations of the first
  Ingress naming the host (controller.go `createServers`); a `Prefix /` path takes it over.
- One location per path; for a path and type already taken, the first Ingress keeps it
  (controller.go `getBackendServers`); locations sorted by path, then by path length, both
  descending.
- `Prefix p` without a rewrite or `use-regex` of its own becomes `location p/` plus `location = p`
  (location.go `updateServerLocations`; no second one when an Exact `p` exists).
- Regex mode (template/template.go `enforceRegexModifier`): when any location of the server has
  `use-regex` or a rewrite target different from its (expanded) path, every location is
  `~* "^path"`, tried in order, the first match wins. Otherwise nginx takes an exact location,
  else the longest prefix (case-sensitive), and answers a request for `p` with a 301 to `p/` when
  `p/` is a location and `p` is none (nginx's auto-redirect for proxying locations).
- `rewrite "(?i)path" target break;` in every location whose target differs from its path
  (template.go `buildProxyPass`).
- `app-root` (annotations/rewrite/main.go, a path): nginx.tmpl's server-level
  `if ($uri = /) { return 302 $scheme://$http_host<app-root>; }` for every location carrying
  it, the default location included, so `/` of the whole host is redirected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import takewhile
from typing import TYPE_CHECKING

from socketguard.engine.routing.matching import compiled

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import Ingress
    from socketguard.engine.routing.ingress_nginx import Location

ROOT = "/"
# validators.go `RegexPathWithCapture`: the controller drops other rewrite-target values.
_VALID_TARGET = re.compile(r"/?[\-._~a-zA-Z0-9/:$]*")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # Go's strconv.ParseBool
_GROUP = re.compile(r"\$(\d)")


@dataclass(frozen=True)
class Annotations:
    """The routing annotations of one Ingress, as the controller parses them."""

    target: str = ""
    use_regex: bool = False
    app_root: str = ""
    owner: Ingress | None = field(default=None, compare=False)  # the Ingress they come from

    @classmethod
    def of(cls, ingress: Ingress) -> Annotations:
        target = ingress.nginx("rewrite-target") or ""
        app_root = ingress.nginx("app-root") or ""
        return cls(target if _VALID_TARGET.fullmatch(target) else "", ingress.nginx("use-regex") in _GO_TRUE,
                   app_root if app_root.startswith("/") and _VALID_TARGET.fullmatch(app_root) else "", ingress)


@dataclass(frozen=True)
class NginxLocation:
    """One rendered location; `source` is the Ingress path it serves, None for the default backend."""

    source: Location | None
    path: str
    path_type: str
    annotations: Annotations

    @property
    def rewrite_target(self) -> str | None:
        """The target of the rewrite nginx runs in this location, None when it runs none."""
        return None if self.annotations.target in ("", self.path) else self.annotations.target

    @property
    def forces_regex(self) -> bool:
        return self.rewrite_target is not None or self.annotations.use_regex


@dataclass(frozen=True)
class Choice:
    """nginx's answer: the matching locations that serve a path, winner first.

    With `redirect_to` set, nginx answers itself with a 301 to that path (the only match is the
    location named so)."""

    matches: tuple[NginxLocation, ...] = ()
    redirect_to: str | None = None


@dataclass(frozen=True)
class NginxServer:
    regex: bool
    locations: tuple[NginxLocation, ...]

    @property
    def app_root(self) -> Annotations | None:
        """The annotations whose `app-root` answers a request for `/` (the first rendered), if any."""
        return next((loc.annotations for loc in self.locations if loc.annotations.app_root), None)

    def choose(self, path: str) -> Choice:
        return _choose_regex(self.locations, path) if self.regex else _choose_static(self.locations, path)


def ingress_order(ingress: Ingress) -> str:
    """creationTimestamp as a sortable string; none sorts first (Go's zero time)."""
    stamp = ingress.metadata.creation_timestamp
    if isinstance(stamp, datetime):
        return (stamp.astimezone(UTC) if stamp.tzinfo else stamp).strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp or ""


def sort_ingresses(ingresses: Iterable[Ingress]) -> list[Ingress]:
    """The controller's Ingress order: creationTimestamp, then `namespace/name` descending."""
    by_name = sorted(ingresses, key=lambda i: f"{i.metadata.namespace}/{i.metadata.name}", reverse=True)
    return sorted(by_name, key=ingress_order)


def build_server(first: Ingress | None, paths: Iterable[Location]) -> NginxServer:
    """The server for one host: `first` is the first Ingress naming it (None for the default server),
    `paths` its Ingress paths in the controller's Ingress order."""
    root = NginxLocation(None, ROOT, "Prefix", Annotations.of(first) if first else Annotations())
    locations = [root]
    for source in paths:
        if source.path.backend.service is not None:
            _add(locations, NginxLocation(source, source.path.path or ROOT, source.path.path_type,
                                          Annotations.of(source.ingress)))
    by_path = sorted(locations, key=lambda loc: loc.path.encode(), reverse=True)
    expanded = tuple(_expand(sorted(by_path, key=lambda loc: len(loc.path.encode()), reverse=True)))
    return NginxServer(any(loc.forces_regex for loc in expanded), expanded)


def _add(locations: list[NginxLocation], new: NginxLocation) -> None:
    for index, existing in enumerate(locations):
        if existing.path != new.path:
            continue
        if existing.path_type != new.path_type:
            break  # the same path with another type is a location of its own
        if existing.source is None:
            locations[index] = new  # `Prefix /` takes the default backend's place
        return
    locations.append(new)


def _expand(locations: list[NginxLocation]) -> Iterator[NginxLocation]:
    exact_paths = {loc.path for loc in locations if loc.path_type == "Exact"}
    for location in locations:
        # The rewrite is judged on the path as written here, on the expanded path when rendered.
        if location.path == ROOT or location.path_type != "Prefix" or location.forces_regex:
            yield location
            continue
        yield replace(location, path=location.path if location.path.endswith("/") else location.path + "/")
        if location.path not in exact_paths:
            yield replace(location, path_type="Exact")


def _choose_regex(locations: tuple[NginxLocation, ...], path: str) -> Choice:
    """`~* "^path"` locations in order: the first match wins; the default backend ends the list."""
    found = (loc for loc in locations if regex_location_matches(loc.path, path))
    return Choice(_distinct(takewhile(lambda loc: loc.source is not None, found)))


def regex_location_matches(location_path: str, path: str) -> bool:
    """`location ~* "^location_path"`."""
    pattern = compiled("^" + location_path, ignore_case=True)
    return pattern is not None and pattern.search(path) is not None


def _choose_static(locations: tuple[NginxLocation, ...], path: str) -> Choice:
    """Exact locations first, then the longest prefix; `p` with only `p/` named gets a 301 to `p/`."""
    if all(loc.path != path for loc in locations):
        slashed = next((loc for loc in locations if loc.path == path + "/"), None)
        if slashed is not None:
            return Choice((slashed,), redirect_to=slashed.path)
    found = [loc for loc in locations if loc.path_type == "Exact" and loc.path == path]
    found += sorted((loc for loc in locations if loc.path_type != "Exact" and path.startswith(loc.path)),
                    key=lambda loc: -len(loc.path))
    return Choice(_distinct(takewhile(lambda loc: loc.source is not None, found)))


def _distinct(matches: Iterable[NginxLocation]) -> tuple[NginxLocation, ...]:
    """One match per Ingress path (`p/` and `= p` of one Prefix path are the same route)."""
    kept: list[NginxLocation] = []
    for location in matches:
        if location.source is not None and all(location.source is not other.source for other in kept):
            kept.append(location)
    return tuple(kept)


def rewritten(location: NginxLocation, path: str) -> str | None:
    """The URI after `rewrite "(?i)path" target break;`, None when the location rewrites nothing."""
    target = location.rewrite_target
    if target is None:
        return None
    pattern = compiled(location.path, ignore_case=True)
    found = pattern.search(path) if pattern else None
    if found is None:
        return path
    groups = (found.group(0), *found.groups())
    return _GROUP.sub(lambda m: groups[int(m.group(1))] or "" if int(m.group(1)) < len(groups) else "", target)
