"""The ingress-nginx controller's own steps from Ingress objects to nginx `server`/`location` blocks.

Test support for the nginx oracle: a port, written for this test and sharing no code with
`socketguard`, of what kubernetes/ingress-nginx does at tag controller-v1.15.1 (commit
0a5901f3c64f11e92e487799b8da3f00cca37515) for the routing the oracle compares:

- internal/ingress/controller/store/store.go `sortIngressSlice`: Ingresses by creationTimestamp,
  equal timestamps by `namespace/name` descending.
- internal/ingress/controller/controller.go `createServers`: a default server `_` and one server per
  rule host, whose `/` location goes to the default backend and carries the annotations of the
  first Ingress naming the host; `getBackendServers`: one location per path, the first Ingress
  keeps a path of the same type, a path `/` of type Prefix replaces the default backend; the
  locations of a server sorted by path (descending), then by path length (descending), both stable.
- internal/ingress/controller/location.go `updateServerLocations`: a Prefix path without rewrite or
  use-regex becomes `path/` plus an Exact copy `= path` (no copy when an Exact location of that
  path exists); `/` is left alone.
- internal/ingress/annotations/rewrite/main.go: `rewrite-target` (validated against
  `RegexPathWithCapture` of internal/ingress/annotations/parser/validators.go, else empty),
  `use-regex` (Go `strconv.ParseBool`), `app-root`.
- internal/ingress/annotations/proxy/main.go: `proxy-connect-timeout`, `proxy-send-timeout`,
  `proxy-read-timeout` (whole seconds; the defaults of internal/ingress/defaults: 5, 60, 60), which
  nginx.tmpl writes into every location as `proxy_*_timeout Ns`.
- internal/ingress/controller/template/template.go `enforceRegexModifier` (any location of the
  server with use-regex or a rewrite target different from its path), `buildLocation`
  (`~* "^path"` in regex mode, `= "path"` for Exact, else `"path"`), `buildProxyPass`
  (`rewrite "(?i)path" target break;` unless the target is empty or equals the path),
  `sanitizeQuotedRegex`.
- rootfs/etc/nginx/template/nginx.tmpl: the server block, the app-root
  `if ($uri = /) { return 302 ... }`, `server_name_in_redirect off`, `port_in_redirect off`.

What the controller does in Lua (the balancer choosing an endpoint, affinity, canaries, the
ssl-redirect in lua/lua_ingress.lua) is not ported: each upstream here is one local server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

CONTROLLER_VERSION = "controller-v1.15.1"
ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
DEFAULT_SERVER = "_"
DEFAULT_BACKEND = "upstream-default-backend"
ROOT = "/"

# validators.go: alphaNumericChars and RegexPathWithCapture.
_REGEX_PATH_WITH_CAPTURE = re.compile(r"^/?[\-._~a-zA-Z0-9/:/$]*$")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


@dataclass(frozen=True)
class Rewrite:
    """rewrite/main.go `Config`: the fields that change routing."""

    target: str = ""
    use_regex: bool = False
    app_root: str = ""


@dataclass(frozen=True)
class ProxyTimeouts:
    """proxy/main.go `Config`: the timeouts, in seconds."""

    connect: int = 5
    send: int = 60
    read: int = 60

    def directives(self) -> str:
        """nginx.tmpl's three lines; none for the defaults, so routing-only configurations stay short
        (nginx's own send and read defaults are the same 60 s; connect only matters to a dead upstream)."""
        if self == ProxyTimeouts():
            return ""
        return (f"proxy_connect_timeout {self.connect}s; proxy_send_timeout {self.send}s; "
                f"proxy_read_timeout {self.read}s; ")


@dataclass
class Location:
    """pkg/apis/ingress/types.go `Location`, reduced to what routing reads."""

    path: str
    path_type: str
    backend: str
    is_def_backend: bool
    rewrite: Rewrite
    ingress: str = ""  # namespace/name, "" for the default backend
    timeouts: ProxyTimeouts = ProxyTimeouts()


@dataclass
class Server:
    hostname: str
    locations: list[Location] = field(default_factory=list)


def upstream_name(namespace: str, service: Mapping[str, Any]) -> str:
    """controller.go `upstreamName`: namespace-service-port."""
    port = service.get("port") or {}
    return f"{namespace}-{service['name']}-{port.get('number') or port.get('name')}"


def parse_rewrite(annotations: Mapping[str, str]) -> Rewrite:
    target = annotations.get(ANNOTATION_PREFIX + "rewrite-target", "")
    if not _REGEX_PATH_WITH_CAPTURE.fullmatch(target):
        target = ""
    use_regex = annotations.get(ANNOTATION_PREFIX + "use-regex", "false") in _GO_TRUE
    app_root = annotations.get(ANNOTATION_PREFIX + "app-root", "")
    # Validated like rewrite-target, then by url.ParseRequestURI as an absolute path.
    valid_root = _REGEX_PATH_WITH_CAPTURE.fullmatch(app_root) and app_root.startswith("/")
    return Rewrite(target, use_regex, app_root if valid_root else "")


def parse_timeouts(annotations: Mapping[str, str]) -> ProxyTimeouts:
    """An annotation that is not a whole number keeps the default (parser.GetIntAnnotation fails)."""
    default = ProxyTimeouts()
    values = {}
    for name in ("connect", "send", "read"):
        text = annotations.get(f"{ANNOTATION_PREFIX}proxy-{name}-timeout", "")
        values[name] = int(text) if re.fullmatch(r"-?[0-9]+", text) else getattr(default, name)
    return ProxyTimeouts(**values)


def sort_ingresses(ingresses: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """store.go `sortIngressSlice`."""
    by_name = sorted(ingresses, key=_key, reverse=True)
    return sorted(by_name, key=lambda ing: ing["metadata"].get("creationTimestamp") or "")


def _key(ingress: Mapping[str, Any]) -> str:
    return f"{ingress['metadata'].get('namespace', 'default')}/{ingress['metadata']['name']}"


def _annotations(ingress: Mapping[str, Any]) -> Mapping[str, str]:
    return ingress["metadata"].get("annotations") or {}


def _host(rule: Mapping[str, Any]) -> str:
    return rule.get("host") or DEFAULT_SERVER


def create_servers(ingresses: list[Mapping[str, Any]]) -> dict[str, Server]:
    """controller.go `createServers`: the servers and their default-backend `/` locations."""
    servers = {DEFAULT_SERVER: Server(DEFAULT_SERVER, [Location(ROOT, "Prefix", DEFAULT_BACKEND, True, Rewrite())])}
    for ingress in ingresses:
        for rule in ingress["spec"].get("rules") or []:
            host = _host(rule)
            if host not in servers:
                annotations = _annotations(ingress)
                root = Location(ROOT, "Prefix", DEFAULT_BACKEND, True, parse_rewrite(annotations), _key(ingress),
                                parse_timeouts(annotations))
                servers[host] = Server(host, [root])
    return servers


def add_locations(servers: dict[str, Server], ingresses: list[Mapping[str, Any]]) -> None:
    """controller.go `getBackendServers`: one location per path, first Ingress wins a path and type."""
    for ingress in ingresses:
        namespace = ingress["metadata"].get("namespace", "default")
        rewrite, timeouts = parse_rewrite(_annotations(ingress)), parse_timeouts(_annotations(ingress))
        for rule in ingress["spec"].get("rules") or []:
            server = servers.get(_host(rule)) or servers[DEFAULT_SERVER]
            for path in (rule.get("http") or {}).get("paths") or []:
                service = (path.get("backend") or {}).get("service")
                if service is None:
                    continue
                nginx_path = path.get("path") or ROOT
                location = Location(nginx_path, path["pathType"], upstream_name(namespace, service), False,
                                    rewrite, _key(ingress), timeouts)
                _add_location(server, location)


def _add_location(server: Server, new: Location) -> None:
    for existing in server.locations:
        if existing.path != new.path:
            continue
        if existing.path_type != new.path_type:
            break  # "Same paths but different types are allowed": the new one is added
        if existing.is_def_backend:
            existing.backend, existing.is_def_backend = new.backend, False
            existing.rewrite, existing.ingress, existing.timeouts = new.rewrite, new.ingress, new.timeouts
        return
    server.locations.append(new)


def sort_locations(locations: list[Location]) -> list[Location]:
    by_path = sorted(locations, key=lambda loc: loc.path.encode(), reverse=True)
    return sorted(by_path, key=lambda loc: len(loc.path.encode()), reverse=True)


def needs_rewrite(location: Location) -> bool:
    """template.go / location.go `needsRewrite`, on the location's path at the time it is called."""
    return location.rewrite.target not in ("", location.path)


def update_server_locations(locations: list[Location]) -> list[Location]:
    """location.go `updateServerLocations`: the Prefix expansion."""
    exact_paths = {loc.path for loc in locations if loc.path_type == "Exact"}
    updated: list[Location] = []
    for location in locations:
        if (location.path == ROOT or location.path_type != "Prefix" or needs_rewrite(location)
                or location.rewrite.use_regex):
            updated.append(location)
            continue
        normalized = location.path if location.path.endswith("/") else location.path + "/"
        updated.append(replace(location, path=normalized))
        if location.path not in exact_paths:
            updated.append(replace(location, path_type="Exact"))
    return updated


def build_servers(ingresses: Iterable[Mapping[str, Any]]) -> list[Server]:
    """The servers with their final, ordered locations (controller.go `getConfiguration`)."""
    ordered = sort_ingresses(ingresses)
    servers = create_servers(ordered)
    add_locations(servers, ordered)
    for server in servers.values():
        server.locations = update_server_locations(sort_locations(server.locations))
    return sorted(servers.values(), key=lambda server: server.hostname)


def enforce_regex(locations: Iterable[Location]) -> bool:
    """template.go `enforceRegexModifier`."""
    return any(needs_rewrite(loc) or loc.rewrite.use_regex for loc in locations)


def sanitize_quoted_regex(path: str) -> str:
    return path.replace("\\", "\\\\").replace('"', '\\"')


def location_spec(location: Location, regex: bool) -> str:
    """template.go `buildLocation`."""
    path = sanitize_quoted_regex(location.path)
    if regex:
        return f'~* "^{path}"'
    if location.path_type == "Exact":
        return f'= "{path}"'
    return f'"{path}"'


def proxy_pass(location: Location, upstream: str) -> str:
    """template.go `buildProxyPass` with the upstream named directly instead of the Lua balancer."""
    plain = f"proxy_pass http://{upstream};"
    if location.rewrite.target in ("", location.path):
        return plain
    return f'rewrite "(?i){sanitize_quoted_regex(location.path)}" {location.rewrite.target} break; {plain}'


def duplicate_locations(server: Server) -> list[str]:
    """Location specs nginx would refuse as duplicates (regex locations may repeat)."""
    regex = enforce_regex(server.locations)
    if regex:
        return []
    specs = [location_spec(loc, regex) for loc in server.locations]
    return sorted({spec for spec in specs if specs.count(spec) > 1})


def render_server(server: Server, listen: str) -> str:
    """nginx.tmpl's server block for `server`, listening on `listen` (host:port); upstreams keep their names."""
    regex = enforce_regex(server.locations)
    default = " default_server" if server.hostname == DEFAULT_SERVER else ""
    lines = [f"  server {{\n    listen {listen}{default};\n    server_name \"{server.hostname}\";"]
    for location in server.locations:
        if location.rewrite.app_root:
            lines.append(f"    if ($uri = /) {{ return 302 $scheme://$http_host{location.rewrite.app_root}; }}")
    for location in server.locations:
        body = location.timeouts.directives() + proxy_pass(location, location.backend)
        lines.append(f"    location {location_spec(location, regex)} {{ {body} }}")
    lines.append("  }")
    return "\n".join(lines)
