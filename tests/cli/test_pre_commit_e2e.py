"""The shipped pre-commit hook, run by the real `pre-commit` in a fresh git repository holding the example.

The hook comes from this repository's `.pre-commit-hooks.yaml` as a `repo: local` hook: the same
id, entry, args, file pattern and flags. Only `language` becomes `system` (the `socketguard`
already installed): a `python` hook would build a virtualenv from the package index, and this
test uses no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.chart.chart_render import find_binary

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REPO = ROOT / "manifests" / "examples" / "repo"
BROKEN_ROUTE = "            prefix: /mageagent/socket.io/\n"
FIXED_ROUTE = BROKEN_ROUTE + "      rewrite:\n        uri: /socket.io/\n"


def shipped_hook() -> dict[str, Any]:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return {**hook, "language": "system"}


def environment(tmp_path: Path, with_helm: bool) -> dict[str, str]:
    helm = find_binary("helm")
    if helm is None:
        pytest.fail("helm not found: run .ci/provision.sh", pytrace=False)
    inherited = [part for part in os.environ.get("PATH", "").split(os.pathsep) if not (Path(part) / "helm").exists()]
    path = [str(helm.parent)] if with_helm else []
    return {
        **os.environ,
        "PATH": os.pathsep.join([*path, *inherited]),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "operator"), os.environ.get("PYTHONPATH")])),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "Newcomer", "GIT_AUTHOR_EMAIL": "newcomer@example.com",
        "GIT_COMMITTER_NAME": "Newcomer", "GIT_COMMITTER_EMAIL": "newcomer@example.com",
    }


def run(argv: list[str], repo: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs in the repository; the hook's report (git prints it on stderr) is in `stdout` too."""
    return subprocess.run(argv, cwd=repo, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository holding the example, with the hook configured and installed."""
    repo = shutil.copytree(EXAMPLE_REPO, tmp_path / "app")
    config = {"repos": [{"repo": "local", "hooks": [shipped_hook()]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = environment(tmp_path, with_helm=True)
    assert run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    installed = run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout
    return repo


def test_hook_blocks_the_broken_chart_and_passes_once_it_is_fixed(repo: Path, tmp_path: Path) -> None:
    env = environment(tmp_path, with_helm=True)
    run(["git", "add", "-A"], repo, env)
    refused = run(["git", "commit", "-q", "-m", "add the app"], repo, env)
    assert refused.returncode != 0, refused.stdout
    assert "socketguard lint" in refused.stdout and "Failed" in refused.stdout
    assert "chart/templates/virtualservice.yaml:15:7: SG102 error socket-path-mismatch" in refused.stdout
    assert "SG003" not in refused.stdout  # values, compose file, workflow: none read as manifests

    template = repo / "chart" / "templates" / "virtualservice.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace(BROKEN_ROUTE, FIXED_ROUTE), encoding="utf-8")
    run(["git", "add", "-A"], repo, env)
    accepted = run(["git", "commit", "-q", "-m", "add the app, route fixed"], repo, env)
    assert accepted.returncode == 0, accepted.stdout
    assert "socketguard lint" in accepted.stdout and "Passed" in accepted.stdout


def test_a_helm_helper_change_runs_the_hook(repo: Path, tmp_path: Path) -> None:
    env = environment(tmp_path, with_helm=True)
    run(["git", "add", "-A"], repo, env)
    assert run(["git", "commit", "-q", "--no-verify", "-m", "add the app"], repo, env).returncode == 0
    helpers = repo / "chart" / "templates" / "_helpers.tpl"
    helpers.write_text(helpers.read_text(encoding="utf-8") + "{{/* team: platform */}}\n", encoding="utf-8")
    run(["git", "add", "-A"], repo, env)
    refused = run(["git", "commit", "-q", "-m", "helpers"], repo, env)
    assert refused.returncode != 0 and "SG102" in refused.stdout


def test_without_helm_the_hook_passes_and_says_the_chart_was_not_rendered(repo: Path, tmp_path: Path) -> None:
    env = environment(tmp_path, with_helm=False)
    run(["git", "add", "-A"], repo, env)
    result = run([sys.executable, "-m", "pre_commit", "run", "--all-files", "--verbose"], repo, env)
    assert result.returncode == 0, result.stdout
    assert "chart/Chart.yaml: SG005 info manifest-not-rendered" in result.stdout
