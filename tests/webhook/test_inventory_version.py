"""Each decision names the inventory it was made against: the newest resourceVersion per watched kind."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

import pytest

from socketguard.cluster.feed import Feed
from socketguard.cluster.versions import AUDIT_KEY, KindVersions, format_versions, parse_versions
from socketguard.webhook.modes import MODE_KEY, Mode
from socketguard.webhook.server import AdmissionServer, ServerConfig

from .support import NAMESPACE, documents, find, review

BROKEN_VS = find(documents("broken"), "VirtualService", "adverant")
FIXED_VS = find(documents("fixed-by-rewrite"), "VirtualService", "adverant")


def at(body: dict[str, Any], version: int) -> dict[str, Any]:
    """The object as a watch delivers it: with its resourceVersion."""
    out = copy.deepcopy(body)
    out["metadata"]["resourceVersion"] = str(version)
    return out


def namespace(version: int, mode: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "resourceVersion": str(version), "labels": {MODE_KEY: mode}}}


def fed_feed() -> Feed:
    """The broken example's workloads and gateway, the fixed route, and an enforce namespace."""
    feed = Feed()
    for version, doc in enumerate(documents("broken", "mageagent.yaml", "dashboard.yaml", "gateway.yaml"), 10):
        feed.apply(at(doc, version))
    feed.apply(at(FIXED_VS, 30))
    asyncio.run(feed._event_namespace(type=None, body=namespace(5, "enforce")))
    return feed


def test_the_newest_version_per_kind_is_kept_through_applies_deletes_and_namespaces() -> None:
    feed = fed_feed()
    versions = parse_versions(feed.versions.text)
    assert versions["VirtualService.networking.istio.io"] == "30" and versions["Namespace"] == "5"
    assert set(versions) == {"Deployment.apps", "Service", "Gateway.networking.istio.io",
                             "VirtualService.networking.istio.io", "Namespace"}
    # A re-list delivers objects again at their older versions: the vector does not go back.
    feed.apply(at(FIXED_VS, 30))
    feed.apply(at(find(documents("broken"), "Service", "mageagent"), 11))
    assert parse_versions(feed.versions.text) == versions
    # A deletion event carries the version of the deletion.
    feed.delete(at(FIXED_VS, 42))
    assert parse_versions(feed.versions.text)["VirtualService.networking.istio.io"] == "42"
    asyncio.run(feed._event_namespace(type="DELETED", body=namespace(43, "enforce")))
    assert parse_versions(feed.versions.text)["Namespace"] == "43"


def test_text_form_round_trips_and_bad_text_is_refused() -> None:
    versions = KindVersions()
    assert versions.text == ""
    versions.saw({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"resourceVersion": "9"}})
    versions.saw({"apiVersion": "v1", "kind": "Service", "metadata": {"resourceVersion": "12"}})
    versions.saw({"apiVersion": "v1", "kind": "Service", "metadata": {}})  # no version: nothing to record
    assert versions.text == "Deployment.apps=9,Service=12"
    assert parse_versions(versions.text) == versions.as_dict() == {"Deployment.apps": "9", "Service": "12"}
    assert format_versions(parse_versions(versions.text)) == versions.text
    for bad in ("Deployment.apps", "=3", "Service="):
        with pytest.raises(ValueError, match=r"Kind\.group=version"):
            parse_versions(bad)


def test_every_decision_carries_the_version_in_its_audit_annotation_and_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    feed = fed_feed()
    server = AdmissionServer(feed, lambda: True, ServerConfig(default_mode=Mode.WARN), lambda: feed.versions.text)
    before = feed.versions.text
    with caplog.at_level(logging.INFO, logger="socketguard.webhook.server"):
        denied, _, decision = server.answer("validate", "POST", "/validate",
                                            json.dumps(review("UPDATE", BROKEN_VS, FIXED_VS, uid="u-1")).encode())
    assert decision == "denied" and denied["response"]["auditAnnotations"] == {AUDIT_KEY: before}
    line = next(r.getMessage() for r in caplog.records if "uid=u-1" in r.getMessage())
    assert "decision=denied mode=enforce codes=SG102" in line and line.endswith(f"inventory-version={before}")
    # The route is deleted in the cluster: the next decision names the newer version, and differs.
    feed.delete(at(FIXED_VS, 50))
    allowed, _, _ = server.answer("validate", "POST", "/validate",
                                  json.dumps(review("CREATE", FIXED_VS, uid="u-2")).encode())
    assert allowed["response"]["allowed"] is True
    after = parse_versions(allowed["response"]["auditAnnotations"][AUDIT_KEY])
    assert after == {**parse_versions(before), "VirtualService.networking.istio.io": "50"}


def test_a_server_without_a_version_source_sends_no_audit_annotation() -> None:
    server = AdmissionServer(fed_feed(), lambda: True, ServerConfig(default_mode=Mode.WARN))
    response, _, _ = server.answer("validate", "POST", "/validate",
                                   json.dumps(review("UPDATE", BROKEN_VS, FIXED_VS)).encode())
    assert "auditAnnotations" not in response["response"]
