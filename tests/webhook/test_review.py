"""Response building: one-line denials of bounded length, clipped warnings, JSONPatch encoding."""

from __future__ import annotations

import base64
import json

from socketguard.webhook.review import WARNING_LIMIT, Answer, build_response, join_clipped


def test_join_clipped_keeps_whole_parts_and_counts_the_rest() -> None:
    parts = [f"SG10{i} " + "x" * 40 for i in range(6)]
    text = join_clipped(parts, 120)
    assert len(text) <= 120
    assert text.startswith(parts[0]) and text.endswith("more)")
    assert join_clipped(parts[:2], 1000) == " | ".join(parts[:2])


def test_response_clips_warnings_and_encodes_the_patch() -> None:
    patch = ({"op": "add", "path": "/spec/paused", "value": True},)
    answer = Answer(allowed=True, warnings=("w" * 1000,), patch=patch)
    response = build_response("uid-7", answer)["response"]
    assert response["uid"] == "uid-7" and response["allowed"] is True
    assert len(response["warnings"][0]) == WARNING_LIMIT
    assert response["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(response["patch"])) == list(patch)
    denial = build_response("u", Answer(allowed=False, code=403, message="no"))["response"]
    assert denial["status"] == {"code": 403, "message": "no", "reason": "Forbidden"}
