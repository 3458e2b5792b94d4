"""Istio networking views (v1, v1beta1 and v1alpha3 share these fields)."""

from pydantic import Field

from socketguard.engine.models.base import Duration, KubeObject, View, empty_dict, empty_list


class StringMatch(View):
    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None


class HTTPMatchRequest(View):
    name: str | None = None
    uri: StringMatch | None = None
    scheme: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    headers: dict[str, StringMatch] = Field(default_factory=empty_dict)
    without_headers: dict[str, StringMatch] = Field(default_factory=empty_dict)
    query_params: dict[str, StringMatch] = Field(default_factory=empty_dict)
    ignore_uri_case: bool = False
    port: int | None = None
    gateways: list[str] = Field(default_factory=empty_list)
    source_labels: dict[str, str] = Field(default_factory=empty_dict)
    source_namespace: str | None = None


class RegexRewrite(View):
    match: str = ""
    rewrite: str = ""


class HTTPRewrite(View):
    uri: str | None = None
    authority: str | None = None
    uri_regex_rewrite: RegexRewrite | None = None


class PortSelector(View):
    number: int | None = None


class Destination(View):
    host: str
    subset: str | None = None
    port: PortSelector | None = None


class HTTPRouteDestination(View):
    destination: Destination
    weight: int | None = None


class CorsPolicy(View):
    allow_origins: list[StringMatch] = Field(default_factory=empty_list)
    allow_origin: list[str] = Field(default_factory=empty_list)
    allow_credentials: bool | None = None


class HTTPRedirect(View):
    uri: str | None = None
    authority: str | None = None
    port: int | None = None
    scheme: str | None = None
    redirect_code: int = 301


class HTTPDirectResponse(View):
    status: int


class HTTPRoute(View):
    name: str | None = None
    match: list[HTTPMatchRequest] | None = None
    route: list[HTTPRouteDestination] = Field(default_factory=empty_list)
    redirect: HTTPRedirect | None = None
    direct_response: HTTPDirectResponse | None = None
    delegate: dict[str, object] | None = None
    rewrite: HTTPRewrite | None = None
    timeout: Duration | None = None
    cors_policy: CorsPolicy | None = None


class VirtualServiceSpec(View):
    hosts: list[str] = Field(default_factory=empty_list)
    gateways: list[str] = Field(default_factory=empty_list)
    http: list[HTTPRoute] = Field(default_factory=empty_list)
    export_to: list[str] | None = None


class VirtualService(KubeObject):
    spec: VirtualServiceSpec = Field(default_factory=VirtualServiceSpec)


class HTTPCookie(View):
    name: str = ""
    path: str | None = None
    ttl: Duration | None = None


class ConsistentHash(View):
    http_header_name: str | None = None
    http_cookie: HTTPCookie | None = None
    use_source_ip: bool | None = None
    http_query_parameter_name: str | None = None

    @property
    def kind(self) -> str:
        if self.http_cookie is not None:
            return "cookie"
        if self.http_header_name:
            return "header"
        if self.use_source_ip:
            return "source-ip"
        if self.http_query_parameter_name:
            return "query-parameter"
        return "none"


class LoadBalancerSettings(View):
    simple: str | None = None
    consistent_hash: ConsistentHash | None = None


class PortTrafficPolicy(View):
    port: PortSelector | None = None
    load_balancer: LoadBalancerSettings | None = None


class TrafficPolicy(View):
    load_balancer: LoadBalancerSettings | None = None
    port_level_settings: list[PortTrafficPolicy] = Field(default_factory=empty_list)


class Subset(View):
    name: str
    labels: dict[str, str] = Field(default_factory=empty_dict)
    traffic_policy: TrafficPolicy | None = None


class DestinationRuleSpec(View):
    host: str = ""
    traffic_policy: TrafficPolicy | None = None
    subsets: list[Subset] = Field(default_factory=empty_list)
    export_to: list[str] | None = None


class DestinationRule(KubeObject):
    spec: DestinationRuleSpec = Field(default_factory=DestinationRuleSpec)


class GatewayPort(View):
    number: int
    name: str = ""
    protocol: str = "HTTP"


class ServerTLS(View):
    mode: str | None = None
    https_redirect: bool = False
    credential_name: str | None = None


class GatewayServer(View):
    port: GatewayPort
    hosts: list[str] = Field(default_factory=empty_list)
    tls: ServerTLS | None = None
    name: str | None = None


class GatewaySpec(View):
    selector: dict[str, str] = Field(default_factory=empty_dict)
    servers: list[GatewayServer] = Field(default_factory=empty_list)


class Gateway(KubeObject):
    spec: GatewaySpec = Field(default_factory=GatewaySpec)
