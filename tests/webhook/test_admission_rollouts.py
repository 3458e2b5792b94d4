"""The webhook reviews Argo Rollouts like Deployments, and `hold` leaves them to Argo's own pause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from socketguard.engine.inventory import Inventory

from .support import State, annotate, review, run

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "mageagent-argo-rollouts"


def _docs(variant: str) -> list[dict[str, Any]]:
    return [d for path in sorted((EXAMPLE / variant).glob("*.yaml")) for d in yaml.safe_load_all(path.read_text())
            if d and d["kind"] != "Namespace"]


def _state(mode: str) -> tuple[State, dict[str, Any]]:
    inventory = Inventory()
    for doc in _docs("fixed"):
        inventory.add(doc)
    rollout = next(d for d in _docs("fixed") if d["kind"] == "Rollout")
    return State(inventory).mode(mode), rollout


def test_a_rollout_path_change_that_breaks_the_route_is_denied() -> None:
    state, rollout = _state("enforce")
    changed = annotate(yaml.safe_load(yaml.safe_dump(rollout)), "socketguard.io/path", "/other")
    outcome = run(state, review("UPDATE", changed, rollout))
    assert not outcome.answer.allowed
    assert "SG102" in outcome.answer.message and "Rollout mageagent/mageagent" in outcome.answer.message


def test_hold_does_not_pause_a_rollout() -> None:
    state, rollout = _state("hold")
    changed = annotate(yaml.safe_load(yaml.safe_dump(rollout)), "socketguard.io/path", "/other", template=True)
    mutated = run(state, review("UPDATE", changed, rollout), webhook="mutate")
    assert not mutated.held
    validated = run(state, review("UPDATE", changed, rollout))
    assert validated.answer.allowed
    assert any("cannot pause a Rollout" in warning for warning in validated.answer.warnings)
