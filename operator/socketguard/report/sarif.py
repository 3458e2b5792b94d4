"""SARIF 2.1.0 output for GitHub code scanning and other SARIF viewers, built with sarif-pydantic.

Rule ids are the stable codes (`SG102`) and every rule's metadata (summary, full docstring as
help) comes from the registry. File paths are relative to `%SRCROOT%` (the working directory,
given in `originalUriBaseIds`) so results map onto the repository; objects without a file (read
from a cluster) carry a logical location whose fully qualified name is the object and the
JSONPath of the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from sarif_pydantic import (
    ArtifactLocation,
    Invocation,
    Level,
    Location,
    LogicalLocation,
    Message,
    PhysicalLocation,
    Region,
    ReportingConfiguration,
    ReportingDescriptor,
    Result,
    Run,
    Sarif,
    Tool,
    ToolDriver,
)

from socketguard import __version__
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Rule
from socketguard.inputs.locate import Located
from socketguard.inputs.locate import Location as FindingLocation

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_LEVELS = {Severity.ERROR: Level.ERROR, Severity.WARNING: Level.WARNING, Severity.INFO: Level.NOTE}


def render(
    located: Sequence[Located],
    rules: Sequence[Rule],
    *,
    source_root: Path,
) -> str:
    log = build(located, rules, source_root=source_root)
    return str(log.model_dump_json(by_alias=True, exclude_none=True, indent=2)) + "\n"


def build(located: Sequence[Located], rules: Sequence[Rule], *, source_root: Path) -> Sarif:
    descriptors = _descriptors(rules, located)
    index = {descriptor.id: position for position, descriptor in enumerate(descriptors)}
    run = Run(
        tool=Tool(
            driver=ToolDriver(
                name="SocketGuard",
                version=__version__,
                semantic_version=__version__,
                rules=descriptors,
            )
        ),
        invocations=[Invocation(execution_successful=True)],
        original_uri_base_ids={SRCROOT: ArtifactLocation(uri=source_root.resolve().as_uri() + "/")},
        results=[_result(item, index[item.finding.code]) for item in located],
    )
    return Sarif(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])


def _descriptors(rules: Sequence[Rule], located: Sequence[Located]) -> list[ReportingDescriptor]:
    known = {rule.code: rule for rule in rules}
    descriptors = [_descriptor(rule) for rule in sorted(known.values(), key=lambda r: r.code)]
    extra = {item.finding.code: item.finding for item in located if item.finding.code not in known}
    descriptors.extend(_bare_descriptor(finding) for _, finding in sorted(extra.items()))
    return descriptors


def _descriptor(rule: Rule) -> ReportingDescriptor:
    return ReportingDescriptor(
        id=rule.code,
        name=_pascal(rule.name),
        short_description=Message(text=rule.summary),
        full_description=Message(text=rule.doc.split("\n\n", 1)[0]),
        help=Message(text=rule.doc, markdown=rule.doc),
        default_configuration=ReportingConfiguration(level=_LEVELS[rule.severity].value),
        properties={"tags": ["socket.io", "kubernetes"], "kebabName": rule.name},
    )


def _bare_descriptor(finding: Finding) -> ReportingDescriptor:
    return ReportingDescriptor(
        id=finding.code,
        name=_pascal(finding.name),
        short_description=Message(text=finding.name),
        default_configuration=ReportingConfiguration(level=_LEVELS[finding.severity].value),
    )


def _pascal(kebab: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in kebab.split("-") if part)


def _result(item: Located, rule_index: int) -> Result:
    finding = item.finding
    text = finding.message
    if finding.fixes:
        text += " Fix: " + " Or: ".join(finding.fixes)
    return Result(
        rule_id=finding.code,
        rule_index=rule_index,
        level=_LEVELS[finding.severity],
        message=Message(text=text),
        locations=[_location(item.location, finding.subject)],
        partial_fingerprints={"socketguardKey/v1": _fingerprint(finding)},
        properties={
            "object": finding.subject.as_dict(),
            "path": finding.field_path,
            "fixes": list(finding.fixes),
            "assumptions": list(finding.assumptions),
            "related": [ref.as_dict() for ref in finding.related],
        },
    )


def _location(where: FindingLocation, subject: ObjectRef) -> Location:
    logical = LogicalLocation(
        name=where.json_path,
        fully_qualified_name=f"{_object_name(subject)}:{where.json_path}",
        kind="object",
    )
    physical = _physical(where)
    return Location(physical_location=physical, logical_locations=[logical])


def _physical(where: FindingLocation) -> PhysicalLocation | None:
    if where.file is None or where.file.startswith("<"):
        return None
    region = Region(start_line=where.line, start_column=where.column or None) if where.line else None
    return PhysicalLocation(artifact_location=_artifact(where.file), region=region)


def _artifact(file: str) -> ArtifactLocation:
    path = PurePosixPath(file)
    if path.is_absolute():
        return ArtifactLocation(uri=Path(file).as_uri())
    return ArtifactLocation(uri=quote(path.as_posix()), uri_base_id=SRCROOT)


def _object_name(ref: ObjectRef) -> str:
    parts = [ref.api_version, ref.kind, ref.namespace, ref.name]
    return "/".join(part for part in parts if part)


def _fingerprint(finding: Finding) -> str:
    code, subject, path = finding.key
    text = "\x1f".join((code, _object_name(subject), path))
    return hashlib.sha256(text.encode()).hexdigest()
