"""`socketguard lint DIR` on repository-shaped trees: what is read, rendered, skipped and ignored.

Helm charts and Kustomize directories are rendered by the real `helm` and `kubectl` binaries
(the test harness's copies); "without helm" means a PATH that really holds no helm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tests.chart.chart_render import find_binary

from socketguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REPO = ROOT / "manifests" / "examples" / "repo"

SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: web}\nspec:\n  ports: [{port: 80}]\n"
BROKEN_YAML = "apiVersion: v1\nkind: Service\nmetadata: {name: x\n"


def tool(name: str) -> Path:
    found = find_binary(name)
    if found is None:
        pytest.fail(f"{name} not found: run .ci/provision.sh (the test harness caches it)", pytrace=False)
    return found


@pytest.fixture
def path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Sets PATH to a directory holding only the named tools (helm, kubectl)."""

    def only(*names: str) -> None:
        bin_dir = tmp_path / ("bin-" + "-".join(names or ("none",)))
        bin_dir.mkdir(exist_ok=True)
        for name in names:
            (bin_dir / name).symlink_to(tool(name))
        monkeypatch.setenv("PATH", str(bin_dir))

    return only


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lint(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["lint", *args], catch_exceptions=False)


def findings(result: Result) -> list[dict[str, Any]]:
    assert "Traceback" not in result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def where(item: dict[str, Any]) -> tuple[str, str, int]:
    return item["code"], item["location"]["file"], item["location"]["line"]


# --- YAML and JSON that is not Kubernetes -------------------------------------------------------


def test_yaml_and_json_that_is_not_kubernetes_is_skipped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "k8s" / "svc.yaml", SERVICE)
    write(tmp_path / "config" / "settings.yaml", "logLevel: debug\nfeatures: [a, b]\n")
    write(tmp_path / "ansible" / "site.yml", "- hosts: all\n  tasks: []\n")
    write(tmp_path / "schema" / "thing.json", '{"$schema": "x", "type": "object"}')
    result = lint(tmp_path, monkeypatch, ".", "--color", "never", "--verbose")
    assert result.exit_code == 0, result.output
    assert "No findings. (3 documents not Kubernetes skipped, --verbose lists them)" in result.stdout
    for document in ("config/settings.yaml#1", "ansible/site.yml#1", "schema/thing.json#1"):
        assert f"not a Kubernetes object (no apiVersion or kind): {document}" in result.stderr


def test_a_document_with_kind_but_broken_stays_sg003(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "values.yaml", "replicas: 3\n")
    write(tmp_path / "half.yaml", "kind: Service\nspec: {}\n---\n- kind: Service\n")
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 2
    found = {(item["code"], item["location"]["file"], item["location"]["line"]) for item in findings(result)}
    assert found == {("SG003", "half.yaml", 1), ("SG003", "half.yaml", 4)}


def test_tool_files_and_hidden_files_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "svc.yaml", SERVICE)
    for name in ("package.json", "web/package-lock.json", "docker-compose.yaml", "web/tsconfig.json",
                 "api/values.schema.json", ".pre-commit-hooks.yaml", ".github/workflows/ci.yml",
                 "web/node_modules/lib/deploy.yaml"):
        write(tmp_path / name, BROKEN_YAML)  # would be an SG003 if it were read
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 0, result.output
    assert findings(result) == []


# --- .gitignore and --exclude --------------------------------------------------------------------


def test_gitignore_files_are_honoured_with_gits_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".gitignore", "generated/\n*.local.yaml\n!keep.local.yaml\n/top-only.yaml\n")
    write(tmp_path / "generated" / "out.yaml", BROKEN_YAML)
    write(tmp_path / "app" / "dev.local.yaml", BROKEN_YAML)
    write(tmp_path / "app" / "keep.local.yaml", BROKEN_YAML)  # negated: read
    write(tmp_path / "top-only.yaml", BROKEN_YAML)
    write(tmp_path / "app" / "top-only.yaml", BROKEN_YAML)  # the pattern is anchored: read
    write(tmp_path / "app" / ".gitignore", "scratch.yaml\n")
    write(tmp_path / "app" / "scratch.yaml", BROKEN_YAML)
    write(tmp_path / "other" / "scratch.yaml", BROKEN_YAML)  # app/.gitignore does not reach here: read
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 2
    assert sorted(item["location"]["file"] for item in findings(result)) == [
        "app/keep.local.yaml", "app/top-only.yaml", "other/scratch.yaml",
    ]


def test_gitignore_above_the_linted_directory_counts_up_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / ".gitignore", "k8s/rendered/\n")
    write(tmp_path / "k8s" / "svc.yaml", SERVICE)
    write(tmp_path / "k8s" / "rendered" / "all.yaml", BROKEN_YAML)
    result = lint(tmp_path / "k8s", monkeypatch, ".", "-o", "json")
    assert result.exit_code == 0, result.output
    # git itself agrees (the oracle for what the repository ignores)
    check = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "-q", "k8s/rendered/all.yaml"], check=False)
    assert check.returncode == 0


def test_linked_folders_are_not_followed_and_a_linked_root_keeps_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / ".gitignore", "real/ignored.yaml\n")
    write(tmp_path / "real" / "svc.yaml", SERVICE.replace("name: api", "name: api, labels: {x: 1"))
    write(tmp_path / "real" / "ignored.yaml", BROKEN_YAML)
    (tmp_path / "real" / "loop").symlink_to(tmp_path)  # would never end if followed
    (tmp_path / "k8s").symlink_to(tmp_path / "real")
    result = lint(tmp_path, monkeypatch, "k8s", "-o", "json")
    assert [item["location"]["file"] for item in findings(result)] == ["k8s/svc.yaml"]


def test_exclude_flag_and_config_drop_files_charts_and_overlays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm", "kubectl")
    shutil.copytree(EXAMPLE_REPO, tmp_path / "repo")
    write(tmp_path / "repo" / "legacy" / "old.yaml", BROKEN_YAML)
    write(tmp_path / "repo" / ".socketguard.yaml", "exclude: [legacy]\n")
    result = lint(tmp_path / "repo", monkeypatch, ".", "-o", "json", "--exclude", "chart", "--verbose")
    assert result.exit_code == 0, result.output
    assert findings(result) == []
    assert "rendered: kubectl kustomize deploy/overlays/production" in result.stderr
    assert "helm template" not in result.stderr


def test_exclude_matches_each_folder_as_shown_below_above_and_outside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "repo" / "k8s" / "app" / "svc.yaml", SERVICE)
    write(tmp_path / "repo" / "k8s" / "app" / "legacy" / "old.yaml", BROKEN_YAML)
    write(tmp_path / "repo" / "k8s" / "vendor" / "deep" / "x.yaml", BROKEN_YAML)
    repo = tmp_path / "repo"
    # A nested folder, by its path from the working directory; a folder anywhere, by a glob.
    result = lint(repo, monkeypatch, "k8s", "-o", "json", "--exclude", "k8s/app/legacy", "--exclude", "*/vendor")
    assert (result.exit_code, [i["location"]["file"] for i in findings(result)]) == (0, [])
    # The linted directory's own folder is excluded: nothing is left to read.
    result = lint(repo, monkeypatch, "k8s/app", "--exclude", "k8s")
    assert result.exit_code == 2
    assert "no Kubernetes manifests" in result.output and "(after --exclude)" in result.output
    # Outside the working directory names are absolute, and globs match them as shown.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = lint(elsewhere, monkeypatch, str(repo / "k8s"), "-o", "json",
                  "--exclude", f"{repo}/k8s/app/legacy", "--exclude", f"{repo}/k8s/vendor")
    assert (result.exit_code, findings(result)) == (0, [])
    # `.` is the working directory itself, never matched: `.*` drops hidden entries only.
    result = lint(repo / "k8s" / "app", monkeypatch, ".", "-o", "json", "--exclude", ".*", "--exclude", "legacy")
    assert (result.exit_code, findings(result)) == (0, [])


# --- Helm -----------------------------------------------------------------------------------------


def test_chart_is_rendered_and_the_finding_names_its_template(
    monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm", "kubectl")
    result = lint(EXAMPLE_REPO, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 1, result.output
    (item,) = findings(result)
    assert where(item) == ("SG102", "chart/templates/virtualservice.yaml", 15)
    assert item["object"] == {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                              "namespace": "default", "name": "adverant"}
    command = item["location"]["renderedBy"]
    assert command == "helm template release chart --namespace default --show-only templates/virtualservice.yaml"
    # The position is that of the rendered text the command prints: the route's first entry.
    rendered = subprocess.run([str(tool("helm")), *command.split()[1:]], cwd=EXAMPLE_REPO, check=True,
                              capture_output=True, text=True).stdout.splitlines()
    line = rendered[item["location"]["line"] - 1]
    assert line[item["location"]["column"] - 3 :] == "- name: mageagent-socketio"


def test_helm_options_reach_helm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm")
    write(tmp_path / "prod.yaml", "host: adverant.ai\n")
    args = ("--helm-values", "prod.yaml", "--helm-set", "mageagent.replicas=4", "--helm-namespace", "shop",
            "--helm-release", "prod")
    shutil.copytree(EXAMPLE_REPO / "chart", tmp_path / "chart")
    result = lint(tmp_path, monkeypatch, "chart", "-o", "json", *args)
    found = {item["code"]: item for item in findings(result)}
    assert sorted(found) == ["SG102", "SG301", "SG302"]  # 4 replicas (--helm-set): stickiness, an adapter
    assert found["SG301"]["object"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop",
                                        "name": "mageagent"}
    assert found["SG102"]["location"]["renderedBy"].startswith(
        "helm template prod chart --namespace shop --values prod.yaml --set mageagent.replicas=4 --show-only "
    )
    text = lint(tmp_path, monkeypatch, "chart", *args, "--color", "never")
    assert "VirtualService shop/adverant" in text.stdout
    # the values file reached the template: the Gateway serves the production host
    gateway = subprocess.run(
        [str(tool("helm")), "template", "prod", "chart", "--namespace", "shop", "--values", "prod.yaml",
         "--show-only", "templates/gateway.yaml"], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout
    assert "- adverant.ai" in gateway


def test_without_helm_a_chart_is_one_info_finding_and_exit_0(
    monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("kubectl")
    result = lint(EXAMPLE_REPO, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 0, result.output
    (item,) = findings(result)
    assert (item["code"], item["severity"], item["location"]["file"]) == ("SG005", "info", "chart/Chart.yaml")
    assert "helm template release chart --namespace default | socketguard lint -" in item["fixes"][0]


def test_templates_and_values_are_never_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               path_with: Callable[..., None]) -> None:
    path_with()  # neither helm nor kubectl: nothing of the chart may be read as a manifest
    shutil.copytree(EXAMPLE_REPO / "chart", tmp_path / "charts" / "app")
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [item["code"] for item in findings(result)] == ["SG005"]


def edited_chart(tmp_path: Path, template: str, old: str, new: str) -> Path:
    """A copy of the example chart in `tmp_path/chart` with one edit to one template; the template's path."""
    path = shutil.copytree(EXAMPLE_REPO / "chart", tmp_path / "chart") / "templates" / template
    path.write_text(path.read_text().replace(old, new))
    return path


def test_a_chart_helm_cannot_render_is_one_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm")
    template = edited_chart(tmp_path, "mageagent.yaml", ".Values.mageagent.replicas", ".Values.missing.replicas")
    result = lint(tmp_path, monkeypatch, ".", "--color", "never")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (line,) = [line for line in result.stdout.splitlines() if "SG003" in line]
    number = next(n for n, text in enumerate(template.read_text().splitlines(), 1) if ".Values.missing" in text)
    assert line.startswith(f"chart/templates/mageagent.yaml:{number}:")
    assert "helm template failed:" in line and "nil pointer evaluating interface {}.replicas" in line
    assert "--debug" not in line


def test_a_chart_that_renders_invalid_yaml_is_one_error_at_the_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm")
    edited_chart(tmp_path, "virtualservice.yaml", "      match:", "     match:")
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 2
    (item,) = findings(result)
    assert (item["code"], item["location"]["file"]) == ("SG003", "chart/templates/virtualservice.yaml")
    assert "YAML parse error" in item["message"]


# The base on its own host in namespace staging, its route unchanged (broken).
STAGING_OVERLAY = """\
namespace: staging
resources: [../../base]
patches:
  - target: {kind: VirtualService}
    patch: '[{"op": "replace", "path": "/spec/hosts/0", "value": "staging.adverant.ai"}]'
  - target: {kind: Gateway}
    patch: '[{"op": "replace", "path": "/spec/servers/0/hosts/0", "value": "staging.adverant.ai"}]'
"""

# --- Kustomize ------------------------------------------------------------------------------------


def test_overlays_render_once_each_and_bases_never_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("kubectl")
    deploy = shutil.copytree(EXAMPLE_REPO / "deploy", tmp_path / "deploy")
    staging = deploy / "overlays" / "staging"
    write(staging / "kustomization.yaml", STAGING_OVERLAY)
    result = lint(tmp_path, monkeypatch, ".", "-o", "json", "--verbose")
    rendered = [line for line in result.stderr.splitlines() if "rendered:" in line]
    assert rendered == [
        "socketguard lint: rendered: kubectl kustomize deploy/overlays/production",
        "socketguard lint: rendered: kubectl kustomize deploy/overlays/staging",
    ]
    # staging keeps the base's broken route; production patches it
    (item,) = findings(result)
    assert (item["code"], item["location"]["file"]) == ("SG102", "deploy/overlays/staging/kustomization.yaml")
    assert item["location"]["renderedBy"] == "kubectl kustomize deploy/overlays/staging"
    rendered = subprocess.run([str(tool("kubectl")), "kustomize", "deploy/overlays/staging"], cwd=tmp_path,
                              check=True, capture_output=True, text=True).stdout.splitlines()
    assert rendered[item["location"]["line"] - 1].strip() == "- match:"
    assert result.exit_code == 1


def test_without_kubectl_or_kustomize_an_overlay_is_one_info_finding(
    monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("helm")
    result = lint(EXAMPLE_REPO / "deploy", monkeypatch, ".", "-o", "json")
    assert result.exit_code == 0, result.output
    (item,) = findings(result)
    assert (item["code"], item["location"]["file"]) == ("SG005", "overlays/production/kustomization.yaml")


def test_a_kustomization_that_fails_is_one_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_with: Callable[..., None]
) -> None:
    path_with("kubectl")
    write(tmp_path / "app" / "kustomization.yaml", "resources: [missing.yaml]\n")
    result = lint(tmp_path, monkeypatch, ".", "-o", "json")
    assert result.exit_code == 2
    (item,) = findings(result)
    assert (item["code"], item["location"]["file"]) == ("SG003", "app/kustomization.yaml")
    assert item["message"].startswith("`kubectl kustomize app` failed: ") and "missing.yaml" in item["message"]
