"""Renders Helm charts (`helm template`) and Kustomize directories (`kubectl kustomize`) for `lint`.

The tools run as subprocesses with the user's environment; their output is handed back as
text for the loader to parse, with the name of the file each part came from and the command
that prints exactly that text, so a finding's `file:line:col` can be reproduced. A tool that is
missing gives one SG005 info finding; a tool that fails gives one SG003 error with its message,
located at the template it names when it names one.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from socketguard.engine.rules.sg003_unparseable_manifest import file_problem
from socketguard.engine.rules.sg005_manifest_not_rendered import not_rendered
from socketguard.inputs.discovery import CHART_FILE, KUSTOMIZATION_FILES, kustomization_file
from socketguard.inputs.locate import Located, Location

RENDER_TIMEOUT_SECONDS = 300
_SOURCE_PREFIX = "# Source: "
_DOCUMENT_START = re.compile(r"^---[ \t]*$", re.MULTILINE)
# `template: app/templates/x.yaml:7:18: executing ...`, `YAML parse error on app/templates/x.yaml: ...`,
# `parse error at (app/templates/x.yaml:3): ...`
_HELM_ERROR_AT = re.compile(
    r"(?P<source>[\w.-]+/(?:charts/[\w.-]+/)*templates/[^\s:()\"]+)(?::(?P<line>\d+))?(?::(?P<column>\d+))?"
)


@dataclass(frozen=True)
class HelmOptions:
    """What `helm template` is given besides the chart: the same for every chart found."""

    release: str = "release"
    namespace: str = "default"
    values: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        arguments = ["--namespace", self.namespace]
        for values_file in self.values:
            arguments += ["--values", values_file]
        for assignment in self.set_values:
            arguments += ["--set", assignment]
        return arguments


@dataclass(frozen=True)
class RenderedFile:
    """What a render printed for one file (a chart template, or the kustomization file)."""

    name: str  # the file the objects are shown in: a chart's template, or the kustomization file
    text: bytes
    rendered_by: str  # the command that prints exactly `text`


@dataclass
class Rendering:
    """What rendering a chart or a Kustomize directory gave: its command, and its files or problems."""

    command: str  # as the user would type it
    files: list[RenderedFile] = field(default_factory=list)
    problems: list[Located] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    """A tool's output, or why it could not run or failed."""

    output: bytes = b""
    error: str | None = None  # set when the tool could not run or exited non-zero


def _run(command: Sequence[str]) -> _Run:
    import shlex  # these load when a chart or overlay is rendered, not in every lint
    import subprocess

    try:
        completed = subprocess.run(
            list(command), capture_output=True, timeout=RENDER_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return _Run(error=f"`{shlex.join(command)}` did not finish within {RENDER_TIMEOUT_SECONDS} s")
    except OSError as error:
        return _Run(error=f"`{shlex.join(command)}` could not run: {error.strerror or error}")
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", errors="replace").strip() or f"exit status {completed.returncode}"
        return _Run(error=message.removeprefix("Error: "))
    return _Run(output=completed.stdout)


def render_chart(chart: Path, shown: str, options: HelmOptions) -> Rendering:
    """`helm template` of `chart` (shown as `shown`), split by template (helm's `# Source:` comments)."""
    import shlex

    chart_file = _inside(shown, CHART_FILE)
    helm = shutil.which("helm")
    base_command = ["helm", "template", options.release, shown, *options.arguments()]
    command = shlex.join(base_command)
    if helm is None:
        finding = not_rendered(chart_file, f"Helm chart {shown}", "helm", command)
        return Rendering(command, problems=[Located(finding, Location(chart_file))])
    run = _run([helm, "template", options.release, str(chart), *options.arguments()])
    if run.error is not None:
        return Rendering(command, problems=[_helm_failure(shown, chart_file, run.error)])
    files = [
        RenderedFile(
            _inside(shown, _within_chart(source)),
            text,
            shlex.join([*base_command, "--show-only", _within_chart(source)]),
        )
        for source, text in _split_by_source(run.output).items()
    ]
    return Rendering(command, files=files)


def _inside(directory: str, relative: str) -> str:
    """`chart` + `templates/x.yaml`; `.` + `templates/x.yaml` -> `templates/x.yaml`."""
    return posixpath.normpath(f"{directory}/{relative}")


def _within_chart(source: str) -> str:
    """`mageagent/templates/x.yaml` -> `templates/x.yaml` (helm names sources by the chart's name)."""
    parts = PurePosixPath(source).parts
    return "/".join(parts[1:]) if len(parts) > 1 else source


def _split_by_source(output: bytes) -> dict[str, bytes]:
    """Helm's documents grouped by template, in output order: what `--show-only TEMPLATE` prints."""
    text = output.decode("utf-8", errors="replace")
    starts = [match.start() for match in _DOCUMENT_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    groups: dict[str, list[str]] = {}
    source = "rendered.yaml"
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        block = text[begin:end]
        second_line = block.split("\n", 2)[1] if block.count("\n") >= 1 else ""
        if second_line.startswith(_SOURCE_PREFIX):
            source = second_line.removeprefix(_SOURCE_PREFIX).strip()
        if block.strip():
            groups.setdefault(source, []).append(block)
    return {name: "".join(blocks).encode("utf-8") for name, blocks in groups.items()}


def _helm_failure(shown: str, chart_file: str, message: str) -> Located:
    """One located SG003 error: at the template helm names (its own line and column), else Chart.yaml."""
    at = _HELM_ERROR_AT.search(message)
    if at is None:
        location = Location(chart_file)
    else:
        line, column = int(at.group("line") or 0), int(at.group("column") or 0)
        location = Location(_inside(shown, _within_chart(at.group("source"))), line, column if line else 0)
    finding = file_problem(location.file or chart_file, f"helm template failed: {_one_line(message)}")
    return Located(finding, location)


def _one_line(message: str) -> str:
    # helm's hint about its own --debug flag does not apply to a lint run
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line and not line.startswith("Use --debug"))


def render_kustomization(directory: Path, shown: str) -> Rendering:
    """`kubectl kustomize` (or `kustomize build`) of `directory`; the objects are shown in its kustomization file."""
    import shlex

    found = kustomization_file(directory)
    file = _inside(shown, found.name if found is not None else KUSTOMIZATION_FILES[0])
    tool = _kustomize_command()
    if tool is None:
        command = shlex.join(["kubectl", "kustomize", shown])
        finding = not_rendered(file, f"Kustomize directory {shown}", "kubectl or kustomize", command)
        return Rendering(command, problems=[Located(finding, Location(file))])
    executable, *verb = tool
    command = shlex.join([Path(executable).name, *verb, shown])
    run = _run([executable, *verb, str(directory)])
    if run.error is not None:
        problem = file_problem(file, f"`{command}` failed: {_one_line(run.error)}")
        return Rendering(command, problems=[Located(problem, Location(file))])
    return Rendering(command, files=[RenderedFile(file, run.output, command)])


def _kustomize_command() -> list[str] | None:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    return [kustomize, "build"] if kustomize is not None else None
