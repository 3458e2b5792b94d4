"""Scan one source text, and walk directories: the only part of the scanner that touches files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path

from tree_sitter import Language, Node, Parser

from socketguard.inputs.scan.collect import Collector, ScanConfig
from socketguard.inputs.scan.javascript import JavaScriptExtractor
from socketguard.inputs.scan.model import DEFAULT_MAX_FILE_BYTES, FileScan, Location, Note, ScanResult
from socketguard.inputs.scan.python import PythonExtractor

LANGUAGES_BY_SUFFIX = {
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".py": "python",
}
SKIPPED_DIRECTORIES = frozenset({
    "node_modules", ".git", "dist", "build", ".next", "coverage", "__pycache__", ".venv", "venv",
})


@cache
def _language(name: str) -> Language:
    if name == "python":
        import tree_sitter_python

        return Language(tree_sitter_python.language())
    if name == "javascript":
        import tree_sitter_javascript

        return Language(tree_sitter_javascript.language())
    import tree_sitter_typescript

    if name == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_typescript.language_typescript())


def language_for(filename: str) -> str | None:
    if filename.endswith(".d.ts"):
        return None  # declarations: types only, no calls
    return LANGUAGES_BY_SUFFIX.get(Path(filename).suffix.lower())


def scan_source(source: bytes | str, filename: str, config: ScanConfig | None = None) -> FileScan:
    """Everything one file says about Socket.IO; never raises on malformed source.

    The language comes from the file name's suffix (JavaScript when it is not a known one).
    """
    language_name = language_for(filename) or "javascript"
    data = source.encode("utf-8", errors="replace") if isinstance(source, str) else source
    language = _language(language_name)
    tree = Parser(language).parse(data)
    out = Collector(filename, language_name, config or ScanConfig())
    extractor = PythonExtractor if language_name == "python" else JavaScriptExtractor
    try:
        extractor(language, tree.root_node, out).run()
    except RecursionError:
        # Machine-generated code can nest expressions thousands deep; keep what was found.
        out.notes.append(Note("nested too deeply to scan completely", Location(filename, 1)))
    if tree.root_node.has_error:
        error = _first_error(tree.root_node)
        out.notes.append(Note(
            "syntax errors: the scan may miss calls near them", Location(filename, error + 1)
        ))
    return out.result()


def _first_error(root: Node) -> int:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node.start_point.row
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_error or c.is_missing]))
    return 0


def iter_sources(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Source files under `paths` in a stable order, skipping dependency and build directories."""
    for given in paths:
        path = Path(given)
        if path.is_file():
            yield path
            continue
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
            for name in sorted(files):
                if language_for(name) is not None:
                    yield Path(directory) / name


def scan_paths(
    paths: Sequence[str | Path],
    config: ScanConfig | None = None,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    display: Callable[[Path], str] = str,
) -> ScanResult:
    """Scan files and directories; unreadable, oversized or missing inputs become errors."""
    files: list[FileScan] = []
    errors: list[Note] = []
    for given in paths:
        if not Path(given).exists():
            errors.append(Note("no such file or directory", Location(str(given), 0)))
    for path in iter_sources(p for p in paths if Path(p).exists()):
        name = display(path)
        try:
            size = path.stat().st_size
            if size > max_file_bytes:
                errors.append(Note(f"skipped: {size} bytes is over the {max_file_bytes}-byte limit",
                                   Location(name, 0)))
                continue
            data = path.read_bytes()
        except OSError as error:
            errors.append(Note(f"unreadable: {error.strerror or error}", Location(name, 0)))
            continue
        files.append(scan_source(data, name, config))
    return ScanResult(files=tuple(files), errors=tuple(errors))
