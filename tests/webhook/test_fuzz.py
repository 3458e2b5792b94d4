"""Arbitrary JSON and mangled reviews always get a well-formed AdmissionReview back, never an exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socketguard.webhook.modes import Mode
from socketguard.webhook.server import AdmissionServer, ServerConfig

from .support import documents, find, review, working_state

STATE = working_state("enforce")
SERVER = AdmissionServer(STATE, lambda: True, ServerConfig(default_mode=Mode.ENFORCE))
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                          max_size=3), max_leaves=12)
VS = find(documents("broken"), "VirtualService", "adverant")
PATHS = [("request", "object", "spec"), ("request", "object", "metadata"), ("request", "object"),
         ("request", "kind"), ("request", "oldObject"), ("request", "namespace"), ("request", "subResource"),
         ("request", "object", "spec", "http"), ("request", "userInfo"), ("request", "object", "apiVersion")]


def _well_formed(answer: dict[str, Any]) -> None:
    assert answer["kind"] == "AdmissionReview"
    assert isinstance(answer["response"]["allowed"], bool)
    json.dumps(answer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_body_gets_a_clean_answer(body: Any) -> None:
    answer, _, _ = SERVER.answer("validate", "POST", "/validate", json.dumps(body).encode())
    _well_formed(answer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), JSON, st.sampled_from(["CREATE", "UPDATE", "DELETE"]))
def test_a_review_with_one_field_replaced_gets_a_clean_answer(path: tuple[str, ...], value: Any,
                                                              operation: str) -> None:
    body = review(operation, json.loads(json.dumps(VS)), json.loads(json.dumps(VS)))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    for webhook in ("validate", "mutate"):
        answer, _, _ = SERVER.answer(webhook, "POST", f"/{webhook}", json.dumps(body).encode())  # type: ignore[arg-type]
        _well_formed(answer)
