"""What makes a document a Kubernetes object at all: each missing or mistyped identity field is named."""

from __future__ import annotations

from typing import Any

import pytest

from socketguard.engine.inventory import identity_problems
from socketguard.engine.objects import FieldPath

VALID = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "chat"}}


def _with(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


@pytest.mark.parametrize(("document", "expected"), [
    (VALID, []),
    (_with(metadata={"name": "web"}), []),
    (_with(metadata={"name": "web", "namespace": None}), []),
    (_with(apiVersion=""), [(("apiVersion",), "`apiVersion` must be a non-empty string")]),
    (_with(kind=3), [(("kind",), "`kind` must be a non-empty string")]),
    ({"metadata": {"name": "web"}}, [(("apiVersion",), "`apiVersion` must be a non-empty string"),
                                     (("kind",), "`kind` must be a non-empty string")]),
    (_with(metadata=["web"]), [(("metadata",), "`metadata` must be a mapping with a `name`")]),
    (_with(metadata={"name": ""}), [(("metadata", "name"), "`metadata.name` must be a non-empty string")]),
    (_with(metadata={"name": "web", "namespace": 3}),
     [(("metadata", "namespace"), "`metadata.namespace` must be a string")]),
    (["web"], [((), "expected a Kubernetes object (a mapping), got a list")]),
], ids=["valid", "no-namespace", "null-namespace", "empty-api-version", "numeric-kind", "neither",
        "metadata-list", "empty-name", "numeric-namespace", "a-list"])
def test_each_identity_problem_is_named_at_its_field(document: Any, expected: list[tuple[FieldPath, str]]) -> None:
    assert [(problem.path, problem.message) for problem in identity_problems(document)] == expected
