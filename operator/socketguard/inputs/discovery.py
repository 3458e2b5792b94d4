"""What `lint DIR` reads: plain manifest files, Helm charts and Kustomize directories to render.

A directory holding `Chart.yaml` is a chart and one holding a kustomization file is a Kustomize
directory: neither has its files read one by one (templates are not YAML, a base's files are
rendered through its overlays). A Kustomize directory that another one names in `resources`,
`bases` or `components` is a base and is rendered only through the overlays that use it.

Skipped: hidden files and directories (`.git/`, `.github/`, `.pre-commit-hooks.yaml`), tool
files that are never manifests (`package.json`, lock files, compose files, ...), `--exclude`
globs, and whatever the repository's `.gitignore` files ignore. `.gitignore` matching is
pathspec's `GitIgnoreSpec` (git's own rules, including negation and directory patterns): it
works the same in a git checkout, an exported tarball or a CI workspace without `.git`, where
`git check-ignore` would not.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import pathspec

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_GITIGNORE = ".gitignore"
# Configuration of common tools: YAML or JSON, never a Kubernetes object.
NOT_MANIFESTS = frozenset({
    "package.json", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock",
    "composer.json", "composer.lock", "tsconfig.json", "jsconfig.json", "deno.json", "bower.json",
    "renovate.json", "lerna.json", "nx.json", "turbo.json", "vercel.json", "firebase.json",
    "docker-compose.yaml", "docker-compose.yml", "compose.yaml", "compose.yml",
    "mkdocs.yml", "mkdocs.yaml", "codecov.yml", "codecov.yaml", "environment.yml", "pubspec.yaml",
    "Chart.lock", "ct.yaml", "skaffold.yaml", "devfile.yaml", "cloudbuild.yaml", "buildspec.yml",
    "netlify.toml", "app.json", "manifest.json", "launch.json", "settings.json", "extensions.json",
})
_NOT_MANIFEST_SUFFIXES = (".schema.json", ".tsbuildinfo", ".lock.json")
_NEVER_DESCEND = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


@dataclass(slots=True)
class Discovered:
    """Everything to read under the given directories, each list sorted."""

    files: list[Path] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    kustomizations: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.files or self.charts or self.kustomizations)


def is_excluded(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` (a path relative to the working directory, else absolute) or one of its
    folders, spelled as shown (`/tmp/a` for `/tmp/a/b.yaml`), matches."""
    if not patterns:
        return False
    matches = _any_of(tuple(patterns))
    parts = name.split("/")
    return any(matches("/".join(parts[: end + 1])) for end in range(len(parts)) if parts[end])


@functools.cache
def _any_of(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """One regex for `fnmatchcase` against any of the globs: it runs for every entry of a large tree."""
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns)).match


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def is_manifest_name(name: str) -> bool:
    return (
        name.endswith(MANIFEST_SUFFIXES)
        and not name.startswith(".")
        and name not in NOT_MANIFESTS
        and not name.endswith(_NOT_MANIFEST_SUFFIXES)
    )


class _Ignores:
    """The `.gitignore` files that apply to one directory, each matching paths relative to its folder.

    An entry is (walked folder, prefix, spec): the path is taken relative to the folder, and a
    `.gitignore` above the linted directory sees it behind the prefix (the linted directory's
    path from that file's folder).
    """

    def __init__(self, specs: tuple[tuple[Path, str, pathspec.GitIgnoreSpec], ...] = ()) -> None:
        self._specs = specs

    def entering(self, directory: Path) -> _Ignores:
        spec = _read_gitignore(directory / _GITIGNORE)
        return _Ignores((*self._specs, (directory, "", spec))) if spec is not None else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        for folder, prefix, spec in self._specs:
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            relative = f"{prefix}/{relative}" if prefix else relative
            if spec.match_file(relative + "/" if is_dir else relative):
                return True
        return False


def _read_gitignore(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec  # loaded by the first `.gitignore` met: a directory outside a repository has none

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _outer_ignores(root: Path) -> _Ignores:
    """`.gitignore` files of the folders above `root`, up to the repository's root (none outside one)."""
    real = root.resolve()
    above: list[Path] = []
    for folder in real.parents:
        above.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return _Ignores()
    specs = (
        (root, real.relative_to(folder).as_posix(), spec)
        for folder in reversed(above)
        if (spec := _read_gitignore(folder / _GITIGNORE)) is not None
    )
    return _Ignores(tuple(specs))


def discover(directory: Path, shown: Callable[[str | Path], str], exclude: Sequence[str] = ()) -> Discovered:
    """Plain manifest files, charts and Kustomize directories to render under `directory`."""
    found = Discovered()
    kustomize_dirs: list[Path] = []
    root = Path(os.path.abspath(directory))  # noqa: PTH100 (names as given: no symlink resolution)
    shown_root = shown(root)
    if exclude and shown_root != "." and is_excluded(shown_root, exclude):
        return found  # the directory itself, or a folder above it, is excluded
    _walk(root, _outer_ignores(root), shown, exclude, False, found, kustomize_dirs)
    found.kustomizations = _overlays(kustomize_dirs)
    found.files.sort()
    found.charts.sort()
    return found


def _walk(
    directory: Path,
    ignores: _Ignores,
    shown: Callable[[str | Path], str],
    exclude: Sequence[str],
    inside_kustomization: bool,
    found: Discovered,
    kustomize_dirs: list[Path],
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    names = {entry.name for entry in entries}
    if _GITIGNORE in names:  # looked up in the listing: most folders of a large tree have none
        ignores = ignores.entering(directory)
    if CHART_FILE in names:
        found.charts.append(directory)
        return  # subcharts under charts/ are rendered by helm with their parent
    if any(name in names for name in KUSTOMIZATION_FILES):
        kustomize_dirs.append(directory)
        inside_kustomization = True
    for entry in entries:
        is_dir = entry.is_dir()
        if is_dir and entry.is_symlink():
            continue  # as `find` and os.walk do: a link to a folder above would never end
        if not is_dir and (inside_kustomization or not is_manifest_name(entry.name)):
            continue
        # The folders above were matched on the way down: only the entry's own path is left to match.
        if entry.name.startswith(".") or (exclude and _any_of(tuple(exclude))(shown(entry.path))) \
                or ignores.ignored(entry.path, is_dir):
            continue
        if not is_dir:
            found.files.append(Path(entry.path))
        elif entry.name not in _NEVER_DESCEND:
            _walk(Path(entry.path), ignores, shown, exclude, inside_kustomization, found, kustomize_dirs)


def _overlays(kustomize_dirs: Sequence[Path]) -> list[Path]:
    """The Kustomize directories that no other one uses as a base or component."""
    known = {directory.resolve() for directory in kustomize_dirs}
    used: set[Path] = set()
    for directory in kustomize_dirs:
        used.update(target for target in _references(directory) if target in known and target != directory.resolve())
    return sorted(directory for directory in kustomize_dirs if directory.resolve() not in used)


def _references(directory: Path) -> Iterable[Path]:
    file = kustomization_file(directory)
    if file is None:
        return []
    try:
        content = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # rendering reports what is wrong with it
    if not isinstance(content, dict):
        return []
    entries = [
        entry
        for key in ("resources", "bases", "components")
        if isinstance(content.get(key), list)
        for entry in content[key]
        if isinstance(entry, str) and "://" not in entry
    ]
    return [(directory / entry).resolve() for entry in entries]
