"""ingress-nginx canary Ingresses: a second backend on a main Ingress's path, chosen per request.

Semantics modelled (ingress-nginx's annotation documentation, "Canary", and its controller:
`mergeAlternativeBackends` in `internal/ingress/controller/controller.go`, the choice in
`rootfs/etc/nginx/lua/balancer.lua`, `route_to_alternative_balancer`):
- An Ingress with `nginx.ingress.kubernetes.io/canary: "true"` is no location of its own: each of
  its paths attaches to the main (non-canary) Ingress path with the same host, path and pathType,
  as that upstream's alternative backend. A canary path without such a main path is dropped.
- One canary per main path: the balancer only ever reads the first alternative backend; the
  controller merges Ingresses oldest first.
- The canary's other annotations are ignored (the main Ingress's apply) except `load-balance`,
  `upstream-hash-by` and the session affinity ones, which configure the canary's own upstream.
- Per request, in this order: a request already affinitized to the main upstream (its affinity
  cookie or a hash value it has seen) stays there; one affinitized to the canary goes there
  (`affinity-canary-behavior: sticky`, the default; `legacy` drops that); then
  `canary-by-header` (`always`/`never`, or `canary-by-header-value`/`-pattern`), then
  `canary-by-cookie` (`always`/`never`), then `canary-weight` out of `canary-weight-total`
  (default 100), drawn at random for every request.

A browser cannot add headers to its WebSocket upgrade, so a header canary never catches a
browser's upgrade: a session polling on the canary upgrades on the main backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.matching import compiled

if TYPE_CHECKING:
    from socketguard.engine.models.ingress import HTTPIngressPath, Ingress, IngressServiceBackend

GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool, as the controller reads it
RuleKey = tuple[str, str, str]  # host (lower-cased, "" for none), path, pathType


@dataclass(frozen=True)
class Canary:
    """One canary path, as attached to the main path with its host, path and pathType."""

    ingress: Ingress
    ref: ObjectRef
    field_path: FieldPath  # spec.rules[i].http.paths[j] of the canary Ingress
    service: IngressServiceBackend | None
    header: str | None
    header_value: str | None
    header_pattern: str | None
    cookie: str | None
    weight_percent: int  # of the requests no header or cookie decides
    sticky: bool  # affinity-canary-behavior is not `legacy`
    host: str | None = None  # the canary's own rule host and path, as written
    path: HTTPIngressPath | None = None

    @property
    def chosen_by(self) -> str | None:
        """The header or cookie that sends requests to the canary whatever the weight."""
        if self.header:
            value = self.header_value or (f"~{self.header_pattern}" if self.header_pattern else "always")
            value = f"{self.header}: {value}"
            return f"header {value}"
        return f"cookie {self.cookie}=always" if self.cookie else None

    def takes(self, request: Request) -> bool | None:
        """True: the request goes to the canary; False: to the main backend; None: by weight."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        if self.header and self.header.lower() in headers:
            value = headers[self.header.lower()]
            if self.header_value:
                if value == self.header_value:
                    return True
            elif self.header_pattern:
                pattern = compiled(self.header_pattern)
                if pattern is not None and pattern.search(value):
                    return True
            elif value in ("always", "never"):
                return value == "always"
        cookie = _cookie(headers.get("cookie", ""), self.cookie) if self.cookie else None
        if cookie in ("always", "never"):
            return cookie == "always"
        if self.weight_percent >= 100:
            return True
        return False if self.weight_percent <= 0 and self.chosen_by is None else None

    def describe(self) -> str:
        ways = [f"by {self.chosen_by}"] if self.chosen_by else []
        if self.header and self.cookie:
            ways.append(f"by cookie {self.cookie}=always")
        if self.weight_percent > 0:
            ways.append(f"{self.weight_percent}% of the other requests by weight")
        text = f"canary {self.ref} {' or '.join(ways) or 'never (weight 0, no header or cookie)'}"
        if self.header:
            text += (f"; a browser's WebSocket upgrade carries no {self.header} header, so it goes to the main "
                     "backend even for a session polling on the canary")
        return text


def is_canary(ingress: Ingress) -> bool:
    return ingress.nginx("canary") in GO_TRUE


def rule_key(host: str | None, path: HTTPIngressPath) -> RuleKey:
    return ((host or "").lower(), path.path, path.path_type)


def attach(canaries: Iterable[tuple[Ingress, ObjectRef]], main_keys: set[RuleKey]) -> dict[RuleKey, Canary]:
    """Each main path's canary (the oldest Ingress first); canary paths with no main path are dropped."""
    attached: dict[RuleKey, Canary] = {}
    for ingress, ref in sorted(canaries, key=_age):
        for key, canary in _paths(ingress, ref):
            if key in main_keys:
                attached.setdefault(key, canary)
    return attached


def dropped(canaries: Iterable[tuple[Ingress, ObjectRef]], main_keys: set[RuleKey]) -> Iterator[Canary]:
    """Canary paths that find no main path: the controller deletes their upstream."""
    for ingress, ref in canaries:
        for key, canary in _paths(ingress, ref):
            if key not in main_keys:
                yield canary


def _paths(ingress: Ingress, ref: ObjectRef) -> Iterator[tuple[RuleKey, Canary]]:
    weight = _weight_percent(ingress)
    behaviour = ingress.nginx("affinity-canary-behavior")
    for rule_index, rule in enumerate(ingress.spec.rules):
        for path_index, path in enumerate(rule.http.paths if rule.http else []):
            field_path = ("spec", "rules", rule_index, "http", "paths", path_index)
            yield rule_key(rule.host, path), Canary(
                ingress, ref, field_path, path.backend.service, ingress.nginx("canary-by-header") or None,
                ingress.nginx("canary-by-header-value") or None, ingress.nginx("canary-by-header-pattern") or None,
                ingress.nginx("canary-by-cookie") or None, weight, behaviour != "legacy", rule.host, path)


def _weight_percent(ingress: Ingress) -> int:
    weight, total = _number(ingress.nginx("canary-weight"), 0), _number(ingress.nginx("canary-weight-total"), 100)
    total = max(total, 100)  # the balancer ignores a total below 100
    if weight <= 0 or weight >= total:
        return 0 if weight <= 0 else 100
    return min(99, max(1, round(weight * 100 / total)))  # a split stays a split when rounded


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _age(item: tuple[Ingress, ObjectRef]) -> tuple[str, str, str]:
    ingress, ref = item
    return (str(ingress.metadata.creation_timestamp or ""), ref.namespace, ref.name)


def _cookie(header: str, name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie  # only a request with a Cookie header needs it

    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return None if morsel is None else morsel.value
