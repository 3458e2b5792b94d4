"""SG706: page origins BEFORE allowed are still allowed."""

from __future__ import annotations

from migration_kit import before, client, codes, compared, faithful_after, only

PAGE = "https://app.example.com"
CORS = {"enable_cors": "true", "cors_allow_origin": PAGE}


def _cross_origin(objects: list[dict[str, object]]) -> list[dict[str, object]]:
    objects[2] = client(origin=PAGE)
    return objects


def test_an_allowed_origin_refused_after_is_an_error() -> None:
    difference = only(compared(_cross_origin(before(**CORS)), _cross_origin(faithful_after())), "SG706")  # type: ignore[arg-type]
    assert PAGE in difference.finding.message
    assert f'allowOrigins: ["{PAGE}"]' in difference.finding.fixes[0]


def test_the_cors_filter_with_the_same_origins_is_not_flagged() -> None:
    cors = {"type": "CORS", "cors": {"allowOrigins": [PAGE], "allowCredentials": True}}
    after = _cross_origin(faithful_after(filters=[cors]))  # type: ignore[arg-type]
    assert "SG706" not in codes(compared(_cross_origin(before(**CORS)), after))  # type: ignore[arg-type]
