"""SG701: the handshake BEFORE delivers is still delivered through AFTER."""

from __future__ import annotations

from migration_kit import (
    HOST,
    before,
    client,
    compared,
    faithful_after,
    gateway,
    http_route,
    ingress,
    inventory,
    only,
    redirect_route,
    rule,
    server,
    service,
)

from socketguard.engine.context import Context
from socketguard.engine.migration.implementations import UNKNOWN
from socketguard.engine.migration.pair import Picture, RoutePair
from socketguard.engine.routing import Request


def test_an_equivalent_translation_is_same() -> None:
    comparison = compared(before(), faithful_after())
    assert [r.verdict for r in comparison.routes] == ["same"]
    assert comparison.summary["same"] == 1


def test_a_host_without_listener_is_broken() -> None:
    after = [server(), service(), client(), gateway(), http_route(rule())]
    after[3]["spec"]["listeners"] = [{"name": "https", "port": 443, "protocol": "HTTPS",
                                     "hostname": "other.example.com"}]
    difference = only(compared(before(), after), "SG701")
    assert "no Gateway listener" in difference.finding.message
    assert difference.side == "before"  # nothing in AFTER to point at


def test_no_route_for_the_host_is_removed() -> None:
    comparison = compared(before(), [server(), service(), client(), gateway()])
    assert [r.verdict for r in comparison.routes] == ["removed"]
    assert only(comparison, "SG701").finding.severity.label == "error"


def test_regex_mode_prefix_is_a_string_prefix_that_pathprefix_is_not() -> None:
    # use-regex: Prefix /app becomes `~* ^/app`, which matches /application/socket.io/;
    # HTTPRoute PathPrefix /app matches whole segments only.
    objects = [server(), service(), client(path="/application/socket.io")]
    old = [*objects, ingress(path="/app", use_regex="true", affinity="cookie")]
    new = [*objects, gateway(), http_route(rule("/app", session_persistence={"type": "Cookie"},
                                                timeouts={"request": "0s"})), redirect_route()]
    difference = only(compared(old, new), "SG701")
    assert "no HTTPRoute rule matches path /application/socket.io/" in difference.finding.message
    assert "regex" in difference.finding.message
    same = [*objects, gateway(), http_route(rule("/application", session_persistence={"type": "Cookie"},
                                                 timeouts={"request": "0s"})), redirect_route()]
    assert [r.verdict for r in compared(old, same).routes] == ["same"]


def test_prefix_with_trailing_slash_differs_outside_regex_mode() -> None:
    # ingress-nginx Prefix /app/ does not deliver /app (nginx answers it with a 301 to /app/);
    # HTTPRoute PathPrefix /app/ matches it.
    old = Context(inventory([server(), service(), ingress(path="/app/")]))
    new = Context(inventory([server(), service(), gateway(), http_route(rule("/app/"))]))
    pair = RoutePair(Request(HOST, "/app"), Picture(old.inventory, old.routers),
                     Picture(new.inventory, new.routers), UNKNOWN)
    assert pair.before_hop is not None and pair.before_hop.redirect is not None and not pair.reaches
    assert pair.before_hop.redirect.status == 301
    assert pair.after_hop is not None and pair.after_hop.match_text == "PathPrefix /app/"


def test_an_unresolved_backend_is_broken() -> None:
    after = faithful_after()
    after[4]["spec"]["rules"][0]["backendRefs"] = [{"name": "missing", "port": 80}]
    assert "no backend" in only(compared(before(), after), "SG701").finding.message


def test_a_route_the_implementation_did_not_accept_is_broken() -> None:
    after = faithful_after()
    after[4]["status"] = {"parents": [{"parentRef": {"name": "public"}, "controllerName": "x", "conditions": [
        {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners"}]}]}
    difference = only(compared(before(), after), "SG701")
    assert difference.finding.field_path == "status.parents[0].conditions[0]"


def test_a_socket_route_only_after_is_added() -> None:
    after = [*faithful_after(), http_route(rule("/v2/socket.io"), name="chat-v2")]
    comparison = compared(before(), after)
    assert sorted(r.verdict for r in comparison.routes) == ["added", "same"]
