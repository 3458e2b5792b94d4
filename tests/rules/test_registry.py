"""Every catalog rule exists as a module whose docstring is its documentation."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator

import pytest

from socketguard.engine.findings import Severity
from socketguard.engine.rules.base import Rule
from socketguard.engine.rules.registry import all_rules, get_rule

# The rule catalog: code -> (name, default severity), kept here so a renamed or re-graded code fails.
CATALOG: dict[str, tuple[str, Severity]] = {
    "SG001": ("invalid-annotation", Severity.ERROR),
    "SG002": ("unresolved-reference", Severity.ERROR),
    "SG003": ("unparseable-manifest", Severity.ERROR),
    "SG004": ("inferred-socket-server", Severity.INFO),
    "SG006": ("api-version-removed", Severity.INFO),  # added beyond DESIGN.md's table (docs/rules.md)
    "SG101": ("socket-route-missing", Severity.ERROR),
    "SG102": ("socket-path-mismatch", Severity.ERROR),
    "SG103": ("socket-route-shadowed", Severity.ERROR),
    "SG104": ("exact-match-misses-handshake", Severity.ERROR),
    "SG105": ("destination-port-unresolved", Severity.ERROR),
    "SG106": ("service-selects-no-server", Severity.ERROR),
    "SG107": ("port-protocol-not-http", Severity.ERROR),
    "SG108": ("route-timeout-too-short", Severity.WARNING),
    "SG109": ("client-url-path-is-namespace", Severity.WARNING),
    "SG110": ("gateway-host-not-served", Severity.ERROR),
    "SG111": ("mixed-content", Severity.ERROR),
    "SG112": ("unknown-namespace", Severity.ERROR),
    "SG113": ("route-not-visible", Severity.ERROR),
    # Gateway API and other-ingress routers (docs/rules.md)
    "SG114": ("router-not-modelled", Severity.INFO),
    "SG115": ("route-not-accepted", Severity.ERROR),
    "SG116": ("regex-path-not-applied", Severity.ERROR),
    "SG117": ("canary-not-attached", Severity.WARNING),
    "SG201": ("cors-origin-not-allowed", Severity.ERROR),
    "SG202": ("cors-wildcard-with-credentials", Severity.ERROR),
    "SG203": ("cors-policy-conflict", Severity.WARNING),
    "SG204": ("cors-any-origin", Severity.WARNING),
    "SG301": ("sticky-session-missing", Severity.ERROR),
    "SG302": ("adapter-missing", Severity.WARNING),
    "SG303": ("sticky-session-ineffective", Severity.WARNING),
}
# Reserved for the event/room and probe issues; checked only once they exist.
RESERVED: dict[str, tuple[str, Severity]] = {
    "SG501": ("event-never-emitted", Severity.WARNING),
    "SG502": ("client-emit-unhandled", Severity.WARNING),
    "SG503": ("event-never-handled", Severity.INFO),
    "SG504": ("room-pattern-mismatch", Severity.WARNING),
    "SG505": ("payload-fields-missing", Severity.WARNING),
    "SG601": ("probe-handshake-failed", Severity.ERROR),
    # reported by `lint` for a chart or Kustomize directory it cannot render (no checker)
    "SG005": ("manifest-not-rendered", Severity.INFO),
    # `socketguard compare`: differences between two pictures (no checker), and the cutover info
    "SG701": ("migration-unreachable", Severity.ERROR),
    "SG702": ("migration-path-changed", Severity.ERROR),
    "SG703": ("migration-backends-changed", Severity.ERROR),
    "SG704": ("migration-stickiness-lost", Severity.ERROR),
    "SG705": ("migration-timeout-changed", Severity.ERROR),
    "SG706": ("migration-cors-changed", Severity.ERROR),
    "SG707": ("migration-tls-redirect-changed", Severity.ERROR),
    "SG708": ("migration-websocket-upgrade", Severity.WARNING),
    "SG709": ("migration-no-equivalent", Severity.WARNING),
    "SG710": ("host-served-by-both", Severity.INFO),
}
SECTIONS = ("What it checks", "Why it matters", "How to fix")
_YAML_LINE = re.compile(r"^\s+(- )?[\w./'-]+:(\s|$)")


def docstring_problems(doc: str, *, yaml_example: bool = True) -> list[str]:
    """What keeps a rule docstring from rendering as documentation (empty when fine).

    Catalog rules are fixed in manifests, so their example is YAML; the event rules' fixes
    live in application code, so any literal example will do for them.
    """
    lines = doc.splitlines()
    problems: list[str] = []
    summary = lines[0].strip() if lines else ""
    if not summary.endswith(".") or (len(lines) > 1 and lines[1].strip()):
        problems.append("the first line must be a one-sentence summary followed by a blank line")
    if re.search(r"[.!?]\s+[A-Z]", summary):
        problems.append("the summary line holds more than one sentence")
    headings = [index for index, line in enumerate(lines) if line.strip() in SECTIONS]
    found = [lines[index].strip() for index in headings]
    if found != list(SECTIONS):
        problems.append(f"sections must be exactly {list(SECTIONS)} in this order, found {found}")
        return problems
    bodies = [lines[start + 1:end] for start, end in zip(headings, [*headings[1:], len(lines)], strict=True)]
    for title, body in zip(SECTIONS, bodies, strict=True):
        text = [line for line in body if line.strip() and not set(line.strip()) <= {"-", "="}]
        if not text:
            problems.append(f"section {title!r} is empty")
    if yaml_example and not any(_YAML_LINE.match(line) for line in _example_lines(bodies[2])):
        problems.append("'How to fix' has no YAML example")
    if not yaml_example and not any(line.strip().startswith("```") or line.startswith("    ") for line in bodies[2]):
        problems.append("'How to fix' has no example")
    return problems


def _example_lines(section: list[str]) -> Iterator[str]:
    """Lines of literal examples: indented blocks, and the inside of ```yaml fences."""
    fence: str | None = None
    for line in section:
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip() or "text"
        elif fence in ("yaml", "yml"):
            yield "    " + line
        elif fence is None and line.startswith("    "):
            yield line


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_catalog_rule_exists_with_its_name_and_severity(code: str) -> None:
    rule = get_rule(code)
    assert (rule.name, rule.severity) == CATALOG[code]
    assert rule.check is not None, f"{code} registers no checker"


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_catalog_rule_module_is_named_after_the_rule(code: str) -> None:
    name, _ = CATALOG[code]
    module = importlib.import_module(f"socketguard.engine.rules.{code.lower()}_{name.replace('-', '_')}")
    assert getattr(module, "RULE", None) is get_rule(code)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_docstring_has_the_three_parts(rule: Rule) -> None:
    assert docstring_problems(rule.doc, yaml_example=rule.code in CATALOG) == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_code_is_known(rule: Rule) -> None:
    known = {**CATALOG, **RESERVED}
    assert rule.code in known, f"{rule.code} is not in the catalog"
    assert (rule.name, rule.severity) == known[rule.code]


def test_docstring_checker_catches_a_missing_section() -> None:
    doc = "Summary.\n\nWhat it checks\n--------------\nx\n\nHow to fix\n----------\n    a: b\n"
    assert any("sections must be" in p for p in docstring_problems(doc))


def test_docstring_checker_wants_a_yaml_example() -> None:
    doc = "Summary.\n\nWhat it checks\n-\nx\n\nWhy it matters\n-\ny\n\nHow to fix\n-\nJust fix it.\n"
    assert docstring_problems(doc) == ["'How to fix' has no YAML example"]


def test_docstring_checker_accepts_a_fenced_yaml_example() -> None:
    doc = "Summary.\n\nWhat it checks\nx\nWhy it matters\ny\nHow to fix\n```yaml\nkind: Service\n```\n"
    assert docstring_problems(doc) == []
    assert docstring_problems(doc.replace("```yaml", "```js")) == ["'How to fix' has no YAML example"]


def test_docstring_checker_refuses_a_two_sentence_summary() -> None:
    doc = "Summary one. Summary Two.\n\nWhat it checks\nx\nWhy it matters\ny\nHow to fix\n    a: b\n"
    assert docstring_problems(doc) == ["the summary line holds more than one sentence"]
