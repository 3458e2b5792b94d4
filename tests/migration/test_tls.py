"""SG707: HTTPS kept, plain HTTP still redirected."""

from __future__ import annotations

from migration_kit import before, codes, compared, faithful_after, gateway, only


def test_a_lost_https_redirect_is_a_warning() -> None:
    after = faithful_after()[:-1]  # no redirect route on the HTTP listener
    after[4]["spec"]["parentRefs"] = [{"name": "public"}]  # attached to both listeners
    difference = only(compared(before(), after), "SG707")
    assert difference.after == "served over plain HTTP"


def test_the_redirect_route_keeps_it() -> None:
    assert "SG707" not in codes(compared(before(), faithful_after()))


def test_no_redirect_when_before_turned_it_off() -> None:
    after = faithful_after()[:-1]
    assert "SG707" not in codes(compared(before(ssl_redirect="false"), after))


def test_https_served_over_http_is_an_error() -> None:
    after = faithful_after()
    after[3] = gateway(https=False)
    after[3]["spec"]["listeners"][0]["port"] = 443
    after[4]["spec"]["parentRefs"] = [{"name": "public"}]
    assert "SG707" in codes(compared(before(), after))
