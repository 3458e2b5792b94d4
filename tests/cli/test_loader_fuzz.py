"""Whatever bytes arrive, the loader returns objects and located SG003 problems, never raises."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lintkit import deployment, service

from socketguard.inputs.loader import load_bytes

SEED = (service("api") + "---\n" + deployment("api")).encode()

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


def check(data: bytes) -> None:
    loaded = load_bytes("fuzz.yaml", data)
    for item in loaded.problems:
        assert item.finding.code == "SG003"
        assert item.location.file == "fuzz.yaml"
    for obj in loaded.objects:
        assert isinstance(obj.raw, dict) and isinstance(obj.raw["metadata"]["name"], str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SEED) - 1), st.binary(min_size=1, max_size=4))
def test_mutated_manifests(position: int, splice: bytes) -> None:
    check(SEED[:position] + splice + SEED[position + 1 :])


@settings(max_examples=100, deadline=None)
@given(st.lists(json_like, max_size=4))
def test_arbitrary_documents(documents: list[object]) -> None:
    check(yaml.safe_dump_all(documents).encode())
