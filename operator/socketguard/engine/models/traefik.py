"""Traefik's Kubernetes CRDs: `IngressRoute` and `Middleware` (`traefik.io/v1alpha1`).

The older group `traefik.containo.us/v1alpha1` has the same schema and is read by the same views.
Only the fields routing needs are typed; the rest (TLS options, other middleware kinds) is kept
raw or ignored.
"""

from pydantic import Field

from socketguard.engine.models.base import KubeObject, View, empty_list


class MiddlewareRef(View):
    name: str
    namespace: str | None = None


class StickyCookie(View):
    name: str | None = None
    secure: bool | None = None
    http_only: bool | None = None
    same_site: str | None = None
    max_age: int | None = None


class Sticky(View):
    cookie: StickyCookie | None = None


class RouteService(View):
    """One `services[]` entry of a route (a Kubernetes Service or a TraefikService)."""

    name: str
    namespace: str | None = None
    kind: str = "Service"
    port: int | str | None = None
    scheme: str | None = None
    weight: int | None = None
    sticky: Sticky | None = None
    native_lb: bool | None = Field(default=None, alias="nativeLB")


class IngressRouteRoute(View):
    match: str = ""
    kind: str | None = None
    priority: int | None = None
    syntax: str | None = None
    middlewares: list[MiddlewareRef] = Field(default_factory=empty_list)
    services: list[RouteService] = Field(default_factory=empty_list)


class IngressRouteTLS(View):
    secret_name: str | None = None
    cert_resolver: str | None = None


class IngressRouteSpec(View):
    entry_points: list[str] = Field(default_factory=empty_list)
    routes: list[IngressRouteRoute] = Field(default_factory=empty_list)
    tls: IngressRouteTLS | None = None


class IngressRoute(KubeObject):
    spec: IngressRouteSpec = Field(default_factory=IngressRouteSpec)


class StripPrefix(View):
    prefixes: list[str] = Field(default_factory=empty_list)
    force_slash: bool | None = None


class StripPrefixRegex(View):
    regex: list[str] = Field(default_factory=empty_list)


class ReplacePath(View):
    path: str = ""


class ReplacePathRegex(View):
    regex: str = ""
    replacement: str = ""


class AddPrefix(View):
    prefix: str = ""


class RedirectScheme(View):
    scheme: str = "https"
    port: str | None = None
    permanent: bool | None = None


class RedirectRegex(View):
    regex: str = ""
    replacement: str = ""
    permanent: bool | None = None


class Chain(View):
    middlewares: list[MiddlewareRef] = Field(default_factory=empty_list)


class MiddlewareSpec(View):
    strip_prefix: StripPrefix | None = None
    strip_prefix_regex: StripPrefixRegex | None = None
    replace_path: ReplacePath | None = None
    replace_path_regex: ReplacePathRegex | None = None
    add_prefix: AddPrefix | None = None
    redirect_scheme: RedirectScheme | None = None
    redirect_regex: RedirectRegex | None = None
    chain: Chain | None = None


class Middleware(KubeObject):
    spec: MiddlewareSpec = Field(default_factory=MiddlewareSpec)
