"""SG702: the path after rewrites is still one the server takes."""

from __future__ import annotations

from migration_kit import before, client, compared, faithful_after, only

CAPTURE = {"path": "/chat(/|$)(.*)", "path_type": "ImplementationSpecific"}


def _before() -> list[dict[str, object]]:
    objects = before(rewrite_target="/$2")
    objects[2] = client(path="/chat/socket.io")
    objects[3]["spec"]["rules"][0]["http"]["paths"][0].update(  # type: ignore[index]
        {"path": CAPTURE["path"], "pathType": CAPTURE["path_type"]})
    return objects


def _after(prefix: str, replacement: str | None) -> list[dict[str, object]]:
    filters = [] if replacement is None else [{"type": "URLRewrite", "urlRewrite": {"path": {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": replacement}}}]
    objects = faithful_after(prefix=prefix, filters=filters)
    objects[2] = client(path="/chat/socket.io")
    return objects  # type: ignore[return-value]


def test_capture_group_rewrite_as_replace_prefix_match_that_keeps_socket_io_is_same() -> None:
    assert [r.verdict for r in compared(_before(), _after("/chat", "/")).routes] == ["same"]


def test_replace_prefix_match_that_drops_socket_io_is_broken() -> None:
    comparison = compared(_before(), _after("/chat/socket.io", "/"))
    difference = only(comparison, "SG702")
    assert (difference.before, difference.after) == ("/socket.io/", "/")
    assert "replacePrefixMatch: /socket.io" in difference.finding.fixes[0]
    assert difference.finding.field_path == "spec.rules[0].filters[0].urlRewrite.path"
    assert [r.verdict for r in comparison.routes] == ["broken"]


def test_a_lost_rewrite_is_broken_and_the_fix_names_the_replacement() -> None:
    difference = only(compared(_before(), _after("/chat", None)), "SG702")
    assert difference.after == "/chat/socket.io/"
    assert "replacePrefixMatch: /}" in difference.finding.fixes[0]
