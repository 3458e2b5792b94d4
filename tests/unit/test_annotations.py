"""The annotation table: the one place a `socketguard.io/` key is declared."""

from __future__ import annotations

import pytest
from jsonpath_ng.ext import parse as parse_jsonpath
from test_contract import deployment

from socketguard.engine.annotations import ANNOTATIONS, BY_KEY, KNOWN_KEYS, AnnotationKey
from socketguard.engine.contract import ClientSpec, ServerSpec, read_contracts
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.report.annotation_docs import as_written, render_annotations
from socketguard.webhook.modes import Mode

IDS = [a.key for a in ANNOTATIONS]


def test_keys_are_unique_and_known() -> None:
    assert len(ANNOTATIONS) == len(KNOWN_KEYS) == len(BY_KEY)


@pytest.mark.parametrize("annotation", ANNOTATIONS, ids=IDS)
def test_the_example_is_a_valid_value(annotation: AnnotationKey) -> None:
    if annotation.refers_to:
        parse_jsonpath(annotation.example)
        assert BY_KEY[annotation.refers_to].role == annotation.role
    else:
        annotation.read(annotation.example)


@pytest.mark.parametrize("annotation", [a for a in ANNOTATIONS if a.default is not None],
                         ids=[a.key for a in ANNOTATIONS if a.default is not None])
def test_the_documented_default_reads_back_as_the_default(annotation: AnnotationKey) -> None:
    written = as_written(annotation.default).strip("`")
    assert annotation.read(written) == annotation.default


@pytest.mark.parametrize("annotation", ANNOTATIONS, ids=IDS)
def test_every_key_has_its_row_in_the_generated_docs(annotation: AnnotationKey) -> None:
    assert f"\n| `{annotation.key}` | {annotation.meaning} |" in render_annotations()


def test_unannotated_specs_carry_the_table_defaults() -> None:
    server = ServerSpec(workload=ObjectRef("apps/v1", "Deployment", "web", "chat"), inferred=True)
    client = ClientSpec(workload=server.workload)
    assert (server.path, server.stack, server.ping_interval_ms, server.transports) == tuple(
        BY_KEY[key].default for key in ("path", "stack", "ping-interval", "transports"))
    assert (client.path, client.credentials) == (BY_KEY["client-path"].default, BY_KEY["client-credentials"].default)


def test_a_key_from_the_table_is_read_and_a_near_miss_is_suggested() -> None:
    inventory = Inventory()
    inventory.add(deployment({"socketguard.io/ping-timeout": "60000", "socketguard.io/ping-timout": "1"}))
    contracts = read_contracts(inventory)
    assert next(iter(contracts.servers.values())).ping_timeout_ms == 60000
    [issue] = contracts.issues
    assert "did you mean `socketguard.io/ping-timeout`?" in issue.fixes[0]


def test_the_enforce_values_are_the_webhook_modes() -> None:
    assert BY_KEY["enforce"].expected == " or ".join(f"`{mode}`" for mode in Mode.choices())
