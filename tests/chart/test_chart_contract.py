"""The chart agrees with the code it deploys: CLI flags, ports, paths, RBAC, peering CRDs, the image.

The operator and webhook packages ship their own rbac.yaml / webhook-configuration.yaml /
peering-crds.yaml (used by their e2e tests); the chart must grant at least what they ask for and
review the same requests, so a change on either side that is not mirrored fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from chart_render import (
    CHART_DIR,
    CONFIGURATION_NAME,
    EVERYTHING_ON,
    OPERATOR_SA,
    REPO_ROOT,
    WEBHOOK_SA,
    Manifest,
    named,
    of_kind,
    permissions,
    render,
    service_account_rules,
)

PACKAGE = REPO_ROOT / "operator" / "socketguard"
DOCKERFILE = REPO_ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def rendered() -> list[Manifest]:
    # Hold on: the operator's rbac.yaml includes resuming held Deployments.
    return render({"hold": {"enabled": True}})


@pytest.fixture(scope="module")
def rendered_namespaced() -> list[Manifest]:
    return render({"hold": {"enabled": True}, "watchNamespaces": ["shop"]})


def _load_all(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _cli_command(name: str) -> click.Command:
    from socketguard.cli import main

    command = main.get_command(click.Context(main), name)
    assert command is not None, f"the chart runs `socketguard {name}`, which does not exist"
    return command


def _containers(docs: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found.append((f"{doc['kind']}/{doc['metadata']['name']}", container))
    return found


@pytest.mark.parametrize("variant", ["defaults", "everything"])
def test_every_flag_the_chart_passes_exists(variant: str) -> None:
    docs = render(EVERYTHING_ON if variant == "everything" else None)
    for where, container in _containers(docs):
        subcommand, *args = container["args"]
        command = _cli_command(subcommand)
        options = {opt: param for param in command.params if isinstance(param, click.Option) for opt in param.opts}
        for arg in args:
            flag, has_value, value = arg.partition("=")
            assert flag in options, f"{where}: `socketguard {subcommand}` has no option {flag}"
            param = options[flag]
            assert has_value != param.is_flag, f"{where}: {arg} (flag: {param.is_flag})"
            if isinstance(param.type, click.Choice):
                assert value in param.type.choices, f"{where}: {arg} not in {param.type.choices}"
            elif isinstance(param.type, click.types.IntParamType | click.types.FloatParamType) and has_value:
                param.type.convert(value, param, None)


def test_chart_grants_what_the_operator_package_asks_for(
    rendered: list[Manifest], rendered_namespaced: list[Manifest]
) -> None:
    wanted = permissions(rule for doc in _load_all(PACKAGE / "controller/rbac.yaml") for rule in doc["rules"])
    # The package's file serves both modes; the chart grants each mode's peering kind only in that mode.
    granted = permissions(service_account_rules(rendered, OPERATOR_SA)) | permissions(
        service_account_rules(rendered_namespaced, OPERATOR_SA)
    )
    assert wanted - granted == set(), "the chart's operator RBAC misses these"


def test_chart_grants_what_the_webhook_package_asks_for(rendered: list[Manifest]) -> None:
    wanted = permissions(rule for doc in _load_all(PACKAGE / "webhook/rbac.yaml") for rule in doc["rules"])
    granted = permissions(service_account_rules(rendered, WEBHOOK_SA))
    assert wanted - granted == set(), "the chart's webhook RBAC misses these"


def test_webhook_configurations_match_the_package(rendered: list[Manifest]) -> None:
    package = {doc["kind"]: doc for doc in _load_all(PACKAGE / "webhook/webhook-configuration.yaml")}
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        ours = named(rendered, kind, CONFIGURATION_NAME)["webhooks"]
        theirs = package[kind]["webhooks"]
        assert [w["name"] for w in ours] == [w["name"] for w in theirs]
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine["rules"] == reference["rules"], mine["name"]
            assert mine["clientConfig"]["service"]["path"] == reference["clientConfig"]["service"]["path"]
            for field in ("admissionReviewVersions", "sideEffects", "failurePolicy", "timeoutSeconds", "matchPolicy"):
                assert mine[field] == reference[field], (mine["name"], field)


def test_webhook_paths_are_served() -> None:
    from socketguard.webhook.server import PATHS

    docs = render({"hold": {"enabled": True}})
    paths = {
        webhook["clientConfig"]["service"]["path"]
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
        for webhook in named(docs, kind, CONFIGURATION_NAME)["webhooks"]
    }
    assert paths == set(PATHS)


def test_peering_crds_match_the_package() -> None:
    package = _load_all(PACKAGE / "controller/peering-crds.yaml")
    chart = _load_all(CHART_DIR / "crds" / "kopf-peering.yaml")
    assert chart == package


def test_peering_objects_are_the_crds_kinds() -> None:
    crds = {doc["spec"]["names"]["kind"]: doc for doc in _load_all(CHART_DIR / "crds" / "kopf-peering.yaml")}
    docs = render() + render({"watchNamespaces": ["a"]})
    for kind in ("ClusterKopfPeering", "KopfPeering"):
        objects = of_kind(docs, kind)
        assert objects and all(obj["apiVersion"] == f"{crds[kind]['spec']['group']}/v1" for obj in objects)


def test_image_matches_the_dockerfile() -> None:
    dockerfile = DOCKERFILE.read_text()
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    # The image's tag defaults to appVersion: it must be the version the image installs.
    assert chart["appVersion"] == project["version"]
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)-slim", dockerfile, re.MULTILINE)
    assert base and (int(base[1]), int(base[2])) >= (3, 11)
    assert re.search(r'pip install .*"socketguard\[operator\]"', dockerfile)
    user = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user and user[-1] == (str(values["podSecurityContext"]["runAsUser"]),
                                 str(values["podSecurityContext"]["runAsGroup"]))
    assert 'ENTRYPOINT ["socketguard"]' in dockerfile and 'CMD ["operator"]' in dockerfile
    assert "socketguard" in project["scripts"]
    # Every container of the chart relies on that entrypoint: it sets arguments, never a command.
    for where, container in _containers(render()):
        assert "command" not in container, where
        assert container["args"][0] in {"operator", "webhook"}, where
