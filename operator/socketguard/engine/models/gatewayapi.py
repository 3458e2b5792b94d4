"""Gateway API views (`gateway.networking.k8s.io` v1, with the experimental-channel fields)."""

from typing import Literal

from pydantic import Field

from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.models.base import Duration, KubeObject, View, empty_list


class RouteNamespaces(View):
    from_: Literal["All", "Same", "Selector"] = Field(default="Same", alias="from")
    selector: dict[str, object] | None = None


class AllowedRoutes(View):
    namespaces: RouteNamespaces = Field(default_factory=RouteNamespaces)


class ListenerTLS(View):
    mode: str = "Terminate"


class Listener(View):
    name: str
    hostname: str | None = None
    port: int
    protocol: str
    tls: ListenerTLS | None = None
    allowed_routes: AllowedRoutes = Field(default_factory=AllowedRoutes)


class GatewaySpec(View):
    gateway_class_name: str = ""
    listeners: list[Listener] = Field(default_factory=empty_list)


class K8sGateway(KubeObject):
    spec: GatewaySpec = Field(default_factory=GatewaySpec)


class ParentReference(View):
    group: str = GATEWAY_API_GROUP
    kind: str = "Gateway"
    namespace: str | None = None
    name: str
    section_name: str | None = None
    port: int | None = None


class PathMatch(View):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: str = "/"


class HeaderMatch(View):
    type: Literal["Exact", "RegularExpression"] = "Exact"
    name: str
    value: str


class RouteMatch(View):
    path: PathMatch | None = None
    headers: list[HeaderMatch] = Field(default_factory=empty_list)
    query_params: list[HeaderMatch] = Field(default_factory=empty_list)
    method: str | None = None

    @property
    def effective_path(self) -> PathMatch:
        """The spec defaults a missing path match to PathPrefix `/`."""
        return self.path or PathMatch()


class PathModifier(View):
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    replace_full_path: str | None = None
    replace_prefix_match: str | None = None


class URLRewrite(View):
    hostname: str | None = None
    path: PathModifier | None = None


class RequestRedirect(View):
    scheme: Literal["http", "https"] | None = None
    hostname: str | None = None
    path: PathModifier | None = None
    port: int | None = None
    status_code: Literal[301, 302, 303, 307, 308] = 302


class CORSFilter(View):
    allow_origins: list[str] = Field(default_factory=empty_list)
    allow_credentials: bool | None = None


class RouteFilter(View):
    type: str
    url_rewrite: URLRewrite | None = None
    cors: CORSFilter | None = None
    request_redirect: RequestRedirect | None = None


class BackendRef(View):
    group: str = ""
    kind: str = "Service"
    name: str
    namespace: str | None = None
    port: int | None = None
    weight: int = 1


class RouteTimeouts(View):
    request: Duration | None = None
    backend_request: Duration | None = None


class SessionPersistence(View):
    session_name: str | None = None
    type: Literal["Cookie", "Header"] = "Cookie"


class RouteRule(View):
    name: str | None = None
    matches: list[RouteMatch] = Field(default_factory=lambda: [RouteMatch()])
    filters: list[RouteFilter] = Field(default_factory=empty_list)
    backend_refs: list[BackendRef] = Field(default_factory=empty_list)
    timeouts: RouteTimeouts | None = None
    session_persistence: SessionPersistence | None = None


class RouteParentStatus(View):
    parent_ref: ParentReference
    conditions: list[dict[str, object]] = Field(default_factory=empty_list)


class HTTPRouteStatus(View):
    parents: list[RouteParentStatus] = Field(default_factory=empty_list)


class HTTPRouteSpec(View):
    parent_refs: list[ParentReference] = Field(default_factory=empty_list)
    hostnames: list[str] = Field(default_factory=empty_list)
    rules: list[RouteRule] = Field(default_factory=lambda: [RouteRule()])


class HTTPRoute(KubeObject):
    spec: HTTPRouteSpec = Field(default_factory=HTTPRouteSpec)
    status: HTTPRouteStatus | None = None


class ReferenceGrantFrom(View):
    group: str
    kind: str
    namespace: str


class ReferenceGrantTo(View):
    group: str
    kind: str
    name: str | None = None


class ReferenceGrantSpec(View):
    from_: list[ReferenceGrantFrom] = Field(default_factory=empty_list, alias="from")
    to: list[ReferenceGrantTo] = Field(default_factory=empty_list)


class ReferenceGrant(KubeObject):
    spec: ReferenceGrantSpec = Field(default_factory=ReferenceGrantSpec)
