"""What each Gateway API implementation does where the specification leaves it open.

`sessionPersistence`, timeouts on upgraded connections, the timeout applied when a route sets
none and the implementation's own stickiness policies are Extended or implementation-specific.
`socketguard compare` reads the implementation from the AFTER Gateway's GatewayClass
(`spec.controllerName`) or from `--implementation`, and judges AFTER with these facts. Each fact
names its public source; a fact nobody documents is `None` and said to be assumed.
The same table is printed in docs/migration.md (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from socketguard.engine import models
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import GATEWAY_API_GROUP

Support = Literal["yes", "no", "partial", "unknown"]
# v1.6: sessionPersistence is served only by the experimental-channel CRDs; the standard ones prune it.
SESSION_PERSISTENCE_CHANNEL = "experimental"


@dataclass(frozen=True)
class Fact:
    """One documented behaviour and where it is documented (docs or code at a named version)."""

    value: str
    source: str


@dataclass(frozen=True)
class Implementation:
    name: str  # as --implementation takes it
    label: str
    controller_prefixes: tuple[str, ...]
    session_persistence: Support
    session_persistence_fact: Fact
    default_timeout_s: float | None  # None: no request timeout when the route sets none
    default_timeout_fact: Fact
    route_timeouts: Support  # whether HTTPRoute `timeouts` is honoured
    own_stickiness: str | None  # the implementation's own policy that makes a Service sticky
    own_stickiness_fact: Fact
    websocket_default: Fact  # whether upgrades pass without configuration
    notes: tuple[str, ...] = field(default=())

    def serves(self, controller_name: str) -> bool:
        return any(controller_name.startswith(prefix) for prefix in self.controller_prefixes)


_GATEWAY_API_SPEC = "Gateway API v1.6 specification (gateway-api.sigs.k8s.io/reference/spec)"
_UNKNOWN = Fact("not documented", "none found: assumed as the specification says")
# HTTPRoute's spec treats an upgrade as one request; no implementation documents refusing one.
_ASSUMED_UPGRADE = Fact("upgrades assumed to pass", "not verified: Gateway API GEP-1911 (appProtocol "
                        "kubernetes.io/ws marks WebSocket backends)")

IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation(
        name="envoy-gateway", label="Envoy Gateway",
        controller_prefixes=("gateway.envoyproxy.io/",),
        session_persistence="yes",
        session_persistence_fact=Fact("cookie and header sessionPersistence on HTTPRoute rules",
                                      "gateway.envoyproxy.io/v1.10/tasks/traffic/session-persistence"),
        default_timeout_s=15.0,
        default_timeout_fact=Fact("15 s request timeout when the route sets none (Envoy's route default)",
                                  "gateway.envoyproxy.io/v1.2/tasks/traffic/http-timeouts"),
        route_timeouts="yes",
        own_stickiness="BackendTrafficPolicy `loadBalancer: {type: ConsistentHash}`",
        own_stickiness_fact=Fact("consistent-hash load balancing as a session mechanism",
                                 "github.com/envoyproxy/gateway site/content/en/latest/concepts/sessions.md"),
        websocket_default=_ASSUMED_UPGRADE,
        notes=("idle timeouts (the nginx read-timeout equivalent) are BackendTrafficPolicy "
               "`timeout.http.streamIdleTimeout`",),
    ),
    Implementation(
        name="istio", label="Istio",
        controller_prefixes=("istio.io/gateway-controller", "istio.io/"),
        session_persistence="unknown",
        session_persistence_fact=_UNKNOWN,
        default_timeout_s=None,
        default_timeout_fact=Fact("no request timeout by default",
                                  "istio.io/latest/docs/tasks/traffic-management/request-timeouts"),
        route_timeouts="yes",
        own_stickiness="DestinationRule `trafficPolicy.loadBalancer.consistentHash` for the Service",
        own_stickiness_fact=Fact("a DestinationRule's consistentHash applies to the Service's traffic, "
                                 "whichever route sends it", "istio.io/latest/docs/reference/config/networking/"
                                 "destination-rule (not checked against Gateway API routes here: assumed)"),
        websocket_default=_ASSUMED_UPGRADE,
    ),
    Implementation(
        name="nginx-gateway-fabric", label="NGINX Gateway Fabric",
        controller_prefixes=("gateway.nginx.org/",),
        session_persistence="partial",
        session_persistence_fact=Fact("sessionPersistence: NGINX Plus only; NGINX OSS uses "
                                      "UpstreamSettingsPolicy `loadBalancingMethod: ip_hash`",
                                      "docs.nginx.com/nginx-gateway-fabric/traffic-management/session-persistence"),
        default_timeout_s=None,
        default_timeout_fact=Fact("HTTPRoute `timeouts` not supported; nginx's proxy_read_timeout (60 s, idle) "
                                  "applies", "docs.nginx.com/nginx-gateway-fabric/overview/gateway-api-compatibility"),
        route_timeouts="no",
        own_stickiness="UpstreamSettingsPolicy `loadBalancingMethod: ip_hash`",
        own_stickiness_fact=Fact("UpstreamSettingsPolicy ip_hash",
                                 "docs.nginx.com/nginx-gateway-fabric/traffic-management/session-persistence"),
        websocket_default=_ASSUMED_UPGRADE,
    ),
    Implementation(
        name="traefik", label="Traefik",
        controller_prefixes=("traefik.io/gateway-controller",),
        session_persistence="unknown",
        session_persistence_fact=Fact("supports the standard channel of v1.6.3 and some Extended features; "
                                      "sessionPersistence is not listed",
                                      "doc.traefik.io/traefik/v3.8/reference/install-configuration/providers/"
                                      "kubernetes/kubernetes-gateway"),
        default_timeout_s=None,
        default_timeout_fact=_UNKNOWN,
        route_timeouts="unknown",
        own_stickiness=None,
        own_stickiness_fact=_UNKNOWN,
        websocket_default=_ASSUMED_UPGRADE,
    ),
    Implementation(
        name="cilium", label="Cilium",
        controller_prefixes=("io.cilium/gateway-controller",),
        session_persistence="unknown",
        session_persistence_fact=_UNKNOWN,
        default_timeout_s=None,
        default_timeout_fact=_UNKNOWN,
        route_timeouts="unknown",
        own_stickiness=None,
        own_stickiness_fact=_UNKNOWN,
        websocket_default=_ASSUMED_UPGRADE,
    ),
    Implementation(
        name="kgateway", label="kgateway",
        controller_prefixes=("kgateway.dev/",),
        session_persistence="yes",
        session_persistence_fact=Fact("HTTPRoute sessionPersistence (experimental channel)",
                                      "kgateway.dev/docs (traffic management: session persistence)"),
        default_timeout_s=None,
        default_timeout_fact=_UNKNOWN,
        route_timeouts="yes",
        own_stickiness=None,
        own_stickiness_fact=_UNKNOWN,
        websocket_default=_ASSUMED_UPGRADE,
    ),
)
UNKNOWN = Implementation(
    name="unknown", label="an unknown implementation",
    controller_prefixes=(),
    session_persistence="unknown",
    session_persistence_fact=Fact("assumed honoured", _GATEWAY_API_SPEC),
    default_timeout_s=None,
    default_timeout_fact=Fact("assumed none", _GATEWAY_API_SPEC),
    route_timeouts="unknown",
    own_stickiness=None,
    own_stickiness_fact=_UNKNOWN,
    websocket_default=_ASSUMED_UPGRADE,
)
NAMES = tuple(implementation.name for implementation in (*IMPLEMENTATIONS, UNKNOWN))


def by_name(name: str) -> Implementation:
    """The implementation called `name` (`--implementation`); KeyError naming the known ones."""
    for implementation in (*IMPLEMENTATIONS, UNKNOWN):
        if implementation.name == name.strip().lower():
            return implementation
    raise KeyError(f"unknown implementation {name!r}: expected one of {', '.join(NAMES)}")


def by_controller(controller_name: str) -> Implementation:
    return next((i for i in IMPLEMENTATIONS if i.serves(controller_name)), UNKNOWN)


def detect(after: Inventory, chosen: str | None = None,
           classes: dict[str, str] | None = None) -> tuple[Implementation, list[str]]:
    """The implementation that serves AFTER's Gateways, and what was assumed to find it.

    `chosen` (`--implementation`) wins; else the GatewayClass each Gateway names, from AFTER or
    from `classes` (GatewayClass name -> controllerName, e.g. the BEFORE cluster's).
    """
    if chosen is not None:
        implementation = by_name(chosen)
        return implementation, [f"implementation: {implementation.label} (--implementation)"]
    known = {**(classes or {}), **dict(gateway_classes_of(after))}
    controllers = sorted({known[name] for name in _class_names(after) if name in known})
    if not controllers:
        return UNKNOWN, ["implementation unknown: AFTER names no GatewayClass it defines (GatewayClasses are "
                         "cluster-scoped); give --implementation; judged by the specification alone"]
    implementation = by_controller(controllers[0])
    notes = [f"implementation: {implementation.label} (GatewayClass controllerName {controllers[0]})"]
    if len(controllers) > 1:
        notes.append(f"AFTER's Gateways have several controllers ({', '.join(controllers)}): judged as the first")
    return implementation, notes


def _class_names(after: Inventory) -> Iterator[str]:
    for view in after.views(GATEWAY_API_GROUP, "Gateway"):
        if isinstance(view, models.gatewayapi.K8sGateway) and view.spec.gateway_class_name:
            yield view.spec.gateway_class_name


def gateway_classes_of(inventory: Inventory) -> Iterator[tuple[str, str]]:
    """(name, controllerName) of each GatewayClass in the inventory (kept raw: no view models it)."""
    for entry in inventory.entries():
        if (entry.ref.group, entry.ref.kind) == (GATEWAY_API_GROUP, "GatewayClass"):
            yield entry.ref.name, controller_name(entry.raw)


def controller_name(raw: dict[str, Any]) -> str:
    spec = raw.get("spec")
    value = spec.get("controllerName") if isinstance(spec, dict) else None
    return value if isinstance(value, str) else ""


def facts_table() -> str:
    """The implementation table as Markdown (docs/migration.md carries it; a test keeps them equal)."""
    rows = ["| Implementation | controllerName | sessionPersistence | Timeout when the route sets none | "
            "Own stickiness policy | WebSocket upgrade |", "|---|---|---|---|---|---|"]
    for item in (*IMPLEMENTATIONS, UNKNOWN):
        timeout, own, persistence = item.default_timeout_fact, item.own_stickiness_fact, item.session_persistence_fact
        rows.append(" | ".join((
            f"| {item.label}", ", ".join(f"`{p}`" for p in item.controller_prefixes) or "(anything else)",
            f"{item.session_persistence}: {persistence.value} ({persistence.source})",
            f"{timeout.value} ({timeout.source})",
            f"{item.own_stickiness} ({own.source})" if item.own_stickiness else "none known",
            f"{item.websocket_default.value} ({item.websocket_default.source}) |")))
    return "\n".join(rows) + "\n"
