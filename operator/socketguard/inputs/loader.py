"""Reads manifests from files, directories and stdin into raw objects with their YAML origins.

Each document is composed once by libyaml and constructed once from that node, as
`yaml.load_all` with the C safe loader does (`inputs.construct` builds the usual documents faster
than PyYAML, with PyYAML's result), so reading costs no more than PyYAML's C loader; the node is
kept so a finding's field path can be turned into `file:line:col` later, only for objects with
findings.
A document with neither `apiVersion` nor `kind` (a chart's values, a compose file, a JSON schema)
is not a Kubernetes object and is skipped, counted in `Loaded.skipped`; anything else that is not
a usable Kubernetes object becomes an SG003 finding with a location. Directories are searched as
`inputs.discovery` says; Helm charts and Kustomize directories are rendered (`inputs.render`).
"""

from __future__ import annotations

import codecs
import dataclasses
import gc
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from socketguard.engine.inventory import identity_problems
from socketguard.engine.rules.sg003_unparseable_manifest import document_problem, file_problem
from socketguard.engine.values import value_type
from socketguard.inputs.construct import FastSafeLoader, construct
from socketguard.inputs.discovery import Discovered, discover
from socketguard.inputs.locate import Located, Location, Origin, json_path, node_position
from socketguard.inputs.nodes import Node, compact_nodes
from socketguard.inputs.render import HelmOptions, Rendering, render_chart, render_kustomization

STDIN = "-"
STDIN_NAME = "<stdin>"

_BINARY_SNIFF = 8192
# libyaml composes nested nodes recursively in C: tens of thousands of levels overflow the C
# stack and kill the process. No manifest nests anywhere near this deep.
MAX_FLOW_DEPTH = 1000
_BRACKETS = re.compile(rb"[\[\]{}]")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKET_STEP)


@value_type
class LoadedObject:
    """An object read, and where it was read from."""

    raw: dict[str, Any]
    origin: Origin | None  # None for objects that were not read from a file


@dataclass(slots=True)
class Loaded:
    """Objects read, problems found (SG003, located), the files read, what was skipped or rendered."""

    objects: list[LoadedObject] = field(default_factory=list)
    problems: list[Located] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # documents that are not Kubernetes objects
    rendered: list[str] = field(default_factory=list)  # the helm / kustomize commands that were run

    def extend(self, other: Loaded) -> None:
        self.objects.extend(other.objects)
        self.problems.extend(other.problems)
        self.files.extend(other.files)
        self.skipped.extend(other.skipped)
        self.rendered.extend(other.rendered)


def load_inputs(
    paths: Sequence[str],
    stdin: BinaryIO | None = None,
    cwd: Path | None = None,
    exclude: Sequence[str] = (),
    helm: HelmOptions | None = None,
) -> Loaded:
    """Reads every path (`-` is stdin); directories are searched recursively for manifests.

    `exclude` globs (`charts/*/templates`, `*.values.yaml`) drop what is found in directories
    when they match its path relative to the working directory, or one of its folders; charts
    found are rendered with `helm` options.
    Everything loaded is moved to the collector's permanent generation (`gc.freeze`): it lives
    for the whole run, and rescanning millions of YAML nodes would double the cost of a lint.
    Nodes are compact throughout (`inputs.nodes`).
    """
    base = (cwd or Path.cwd()).resolve()
    loaded = Loaded()
    with collections_paused(freeze=True), compact_nodes():
        for given in paths:
            _load_path(given, stdin, base, exclude, helm or HelmOptions(), loaded)
    return loaded


def _load_path(
    given: str, stdin: BinaryIO | None, base: Path, exclude: Sequence[str], helm: HelmOptions, loaded: Loaded
) -> None:
    if given == STDIN:
        loaded.extend(_read_bytes(STDIN_NAME, stdin.read() if stdin is not None else b""))
        return
    path = Path(given)
    if path.is_dir():
        loaded.extend(_load_directory(path, base, exclude, helm))
    else:
        loaded.extend(_load_file(path, display_name(path, base)))


def display_name(path: str | Path, base: Path) -> str:
    """The path relative to the working directory when it is under it, else as absolute."""
    # String operations, not Path.resolve(): this runs for every file and folder of a large tree.
    text = os.fspath(path)
    absolute = text if _is_normal_absolute(text) else os.path.abspath(text)  # noqa: PTH100 (no symlinks resolved)
    prefix = str(base).rstrip(os.sep) + os.sep
    if absolute + os.sep == prefix:
        return "."
    shown = absolute[len(prefix) :] if absolute.startswith(prefix) else absolute
    return shown.replace(os.sep, "/")


def _is_normal_absolute(text: str) -> bool:
    """Whether `abspath` would return `text` unchanged: what discovery finds (a root made absolute,
    then names from directory listings) always is, and then `abspath` is a third of `display_name`."""
    return text.startswith(os.sep) and "//" not in text and "/." not in text and not text.endswith(os.sep)


def _load_directory(directory: Path, base: Path, exclude: Sequence[str], helm: HelmOptions) -> Loaded:
    found = discover(directory, lambda path: display_name(path, base), exclude)
    if not found:
        name = display_name(directory, base)
        message = "no Kubernetes manifests (*.yaml, *.yml, *.json), Helm charts or Kustomize directories here"
        problem = file_problem(name, f"{message} (after --exclude)" if exclude else message)
        return Loaded(problems=[Located(problem, Location(name))])
    return _load_discovered(found, base, helm)


def _load_discovered(found: Discovered, base: Path, helm: HelmOptions) -> Loaded:
    loaded = Loaded()
    for path in found.files:
        loaded.extend(_load_file(path, display_name(path, base)))
    for chart in found.charts:
        loaded.extend(_load_rendering(render_chart(chart, display_name(chart, base), helm)))
    for directory in found.kustomizations:
        loaded.extend(_load_rendering(render_kustomization(directory, display_name(directory, base))))
    return loaded


def _load_rendering(rendering: Rendering) -> Loaded:
    """Rendered text read like a file; its objects and problems remember the command that printed it."""
    loaded = Loaded(problems=list(rendering.problems), rendered=[] if rendering.problems else [rendering.command])
    for rendered in rendering.files:
        part = _read_bytes(rendered.name, rendered.text)
        loaded.objects.extend(
            dataclasses.replace(item, origin=dataclasses.replace(item.origin, rendered_by=rendered.rendered_by))
            if item.origin is not None
            else item
            for item in part.objects
        )
        loaded.problems.extend(
            Located(item.finding, dataclasses.replace(item.location, rendered_by=rendered.rendered_by))
            for item in part.problems
        )
        loaded.files.extend(part.files)
        loaded.skipped.extend(part.skipped)
    return loaded


def _load_file(path: Path, name: str) -> Loaded:
    try:
        with open(path, "rb", buffering=0) as file:  # noqa: PTH123 (unbuffered: one read of the whole file)
            data = file.readall()
    except OSError as error:
        reason = error.strerror or str(error)
        return _file_failure(name, f"cannot read the file: {reason}")
    return _read_bytes(name, data)


def load_bytes(name: str, data: bytes) -> Loaded:
    """Reads one file's bytes: UTF-8 YAML (any number of documents) or JSON."""
    with collections_paused(), compact_nodes():
        return _read_bytes(name, data)


def _read_bytes(name: str, data: bytes) -> Loaded:
    # Callers pause collections and compact nodes once for all they read (see `load_inputs`).
    failure = _text_problem(name, data) or _depth_problem(name, data)
    if failure is not None:
        return failure
    loaded = _parse_yaml(name, data)
    if loaded.problems and _looks_like_json(name, data):
        from_json = _parse_json(name, data)
        if from_json is not None:
            return from_json
    return loaded


def _file_failure(name: str, message: str, line: int = 0, column: int = 0) -> Loaded:
    return Loaded(problems=[Located(file_problem(name, message), Location(name, line, column))], files=[name])


def _text_problem(name: str, data: bytes) -> Loaded | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _file_failure(name, "the file is UTF-16 text; save it as UTF-8", 1, 1)
    if b"\x00" in data[:_BINARY_SNIFF]:
        return _file_failure(name, "the file is binary (it contains NUL bytes), not YAML or JSON")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        return _file_failure(
            name, f"the file is not UTF-8 text (byte 0x{data[error.start]:02x}); save it as UTF-8", line, column
        )
    return None


def _depth_problem(name: str, data: bytes) -> Loaded | None:
    if data.count(b"[") + data.count(b"{") <= MAX_FLOW_DEPTH:
        return None
    # C-speed scan: keep only the brackets, then a running sum of +1/-1. Brackets inside
    # quoted strings count too, an over-estimate that only absurd files reach.
    brackets = data.translate(None, _NOT_BRACKETS)
    if max(accumulate(map(_BRACKET_STEP.__getitem__, brackets))) <= MAX_FLOW_DEPTH:
        return None
    depth = 0
    for match in _BRACKETS.finditer(data):
        depth += _BRACKET_STEP[match.group()[0]]
        if depth > MAX_FLOW_DEPTH:
            start = match.start()
            line = data.count(b"\n", 0, start) + 1
            column = start - (data.rfind(b"\n", 0, start) + 1) + 1
            return _file_failure(name, f"brackets nest more than {MAX_FLOW_DEPTH} levels deep; not read", line, column)
    return None


@contextmanager
def collections_paused(freeze: bool = False) -> Iterator[None]:
    """No garbage collection inside the block; with `freeze`, what it built is never scanned again.

    Parsing allocates millions of small objects that all stay alive (the nodes are kept), so
    every collection during a load is wasted work: with collections on, loading takes twice
    as long as PyYAML's C loader alone; with them off, about as long. The same holds for an
    inventory and its analysis, which a command keeps until it exits (see `cli/lint.py`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            # What was loaded lives as long as the run: later collections need not rescan it.
            gc.freeze()
        if enabled:
            gc.enable()


def _parse_yaml(name: str, data: bytes) -> Loaded:
    loaded = Loaded(files=[name])
    loader = FastSafeLoader(data)
    anchored = b"&" in data  # without an anchor no node is an alias (see `construct`)
    number = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said there is one; typeshed allows None
                break
            number += 1
            _read_document(loader, node, f"{name}#{number}", name, loaded, anchored)
    except yaml.reader.ReaderError as error:
        loaded.problems.append(_reader_problem(name, data, error))
    except yaml.YAMLError as error:
        loaded.problems.append(_syntax_problem(name, error, number))
    except RecursionError:
        loaded.problems.append(
            Located(file_problem(name, "the YAML is nested too deeply to read"), Location(name))
        )
    finally:
        loader.dispose()
    return loaded


def _read_document(loader: Any, node: Node, document: str, file: str, loaded: Loaded,
                   anchored: bool) -> None:
    try:
        data = construct(loader, node, anchored)
    except yaml.constructor.ConstructorError as error:
        # The stream is still well-formed, so later documents can be read.
        loaded.problems.append(_syntax_problem(file, error, None))
        return
    if data is None:
        return
    items = _list_items(data)
    if items is None:
        if is_kubernetes_like(data):
            _add_object(data, node, document, file, loaded)
        else:
            loaded.skipped.append(document)
        return
    item_nodes = node.value if node.id == "sequence" else _items_node(node)
    for index, item in enumerate(items):
        item_node = item_nodes[index] if index < len(item_nodes) else node
        _add_object(item, item_node, f"{document}.items[{index}]", file, loaded)


def is_kubernetes_like(document: Any) -> bool:
    """Whether a top-level document means to be a Kubernetes object (or a list of them).

    A mapping with neither `apiVersion` nor `kind` (values, compose files, JSON schemas) is
    something else, and so is a list without such a mapping (an Ansible playbook): both are
    skipped. A list holding an object is a common mistake for a `List`, and a bare string or
    number is a broken manifest: both stay SG003.
    """
    if isinstance(document, dict):
        return "apiVersion" in document or "kind" in document
    if isinstance(document, list):
        return any(isinstance(item, dict) and ("apiVersion" in item or "kind" in item) for item in document)
    return True


def _list_items(data: Any) -> list[Any] | None:
    """The items of a `List` (or `DeploymentList`, ...) document, else None."""
    if not isinstance(data, dict):
        return None
    kind, items = data.get("kind"), data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        return items
    return None


def _items_node(node: Node) -> list[Node]:
    if node.id == "mapping":
        for key_node, value_node in reversed(node.value):
            if key_node.value == "items" and value_node.id == "sequence":
                items: list[Node] = value_node.value
                return items
    return []


def _add_object(raw: Any, node: Node, document: str, file: str, loaded: Loaded) -> None:
    problems = identity_problems(raw)
    if not problems:
        loaded.objects.append(LoadedObject(raw, Origin.of_node(file, node)))
        return
    for problem in problems:
        line, column = node_position(node, problem.path)
        location = Location(file, line + 1, column + 1, json_path(problem.path))
        message = f"not a Kubernetes object: {problem.message}"
        loaded.problems.append(Located(document_problem(document, problem.path, message), location))


def _syntax_problem(name: str, error: yaml.YAMLError, documents_read: int | None) -> Located:
    mark: Any = getattr(error, "problem_mark", None)
    # libyaml's marks are their own class, so test the shape rather than the type.
    if isinstance(getattr(mark, "line", None), int) and isinstance(getattr(mark, "column", None), int):
        line, column = mark.line + 1, mark.column + 1
        parts = (getattr(error, "context", None), getattr(error, "problem", None))
        what = " ".join(part for part in parts if isinstance(part, str) and part)
    else:
        line, column = 0, 0
        what = str(error)
    message = f"invalid YAML: {what or 'syntax error'}"
    if documents_read is not None:
        message += "; the rest of the file was not read"
    return Located(file_problem(name, message), Location(name, line, column))


def _reader_problem(name: str, data: bytes, error: yaml.reader.ReaderError) -> Located:
    position = min(max(error.position, 0), len(data))
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    character = error.character if isinstance(error.character, int) else ord(error.character[:1] or "?")
    message = f"invalid YAML: character 0x{character:02x} is not allowed ({error.reason})"
    return Located(file_problem(name, message), Location(name, line, column))


def _looks_like_json(name: str, data: bytes) -> bool:
    return name.endswith(".json") or data.lstrip()[:1] in (b"{", b"[")


def _parse_json(name: str, data: bytes) -> Loaded | None:
    """JSON that libyaml refuses (tabs, some escapes); positions are then per file only."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    loaded = Loaded(files=[name])
    origin = Origin(name)
    items = _list_items(document)
    if items is None and not is_kubernetes_like(document):
        loaded.skipped.append(f"{name}#1")
        return loaded
    for index, raw in enumerate(items if items is not None else [document]):
        if raw is None:
            continue
        problems = identity_problems(raw)
        if not problems:
            loaded.objects.append(LoadedObject(raw, origin))
            continue
        document_name = f"{name}#1" if items is None else f"{name}#1.items[{index}]"
        for problem in problems:
            message = f"not a Kubernetes object: {problem.message}"
            finding = document_problem(document_name, problem.path, message)
            loaded.problems.append(Located(finding, Location(name, 1, 1, json_path(problem.path))))
    return loaded
