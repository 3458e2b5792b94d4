"""`lint -o json` writes each finding as `json.dumps` writes the finding's and location's dicts.

The writer encodes repeated parts once and the rest field by field; `json.dumps` of
`Finding.as_dict()` with `Location.as_dict()` is the oracle, for any text (quotes, control and
non-ASCII characters, line separators) in any field.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.inputs.locate import Located, Location
from socketguard.report.json import render

texts = st.text(max_size=12)
refs = st.builds(ObjectRef, texts, texts, texts, texts)
paths = st.lists(st.one_of(texts, st.integers(-3, 30)), max_size=4).map(tuple)
findings = st.builds(
    Finding,
    code=texts,
    name=texts,
    severity=st.sampled_from(Severity),
    message=st.text(max_size=60),
    subject=refs,
    path=paths,
    fixes=st.lists(texts, max_size=3).map(tuple),
    related=st.lists(refs, max_size=3).map(tuple),
    assumptions=st.lists(texts, max_size=2).map(tuple),
)
locations = st.builds(
    Location,
    file=st.none() | texts,
    line=st.integers(0, 10**6),
    column=st.integers(0, 500),
    json_path=texts,
    rendered_by=st.just("") | texts,
)


def expected(located: list[Located]) -> str:
    items = [json.dumps({**item.finding.as_dict(), "location": item.location.as_dict()}, ensure_ascii=False)
             for item in located]
    return "[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(Located, findings, locations), max_size=6))
def test_each_finding_is_written_as_json_dumps_writes_it(located: list[Located]) -> None:
    assert render(located) == expected(located)


@settings(max_examples=100, deadline=None)
@given(st.lists(findings, min_size=1, max_size=3), st.lists(locations, min_size=1, max_size=3), st.data())
def test_parts_shared_by_many_findings_are_written_the_same_each_time(
    pool: list[Finding], places: list[Location], data: st.DataObject
) -> None:
    # Large lints repeat subjects, fixes and related objects: drawn from small pools, they recur.
    picks = st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(places)), min_size=2, max_size=12)
    located = [Located(finding, location) for finding, location in data.draw(picks)]
    written = render(located)
    assert written == expected(located)
    assert json.loads(written) == [{**i.finding.as_dict(), "location": i.location.as_dict()} for i in located]
