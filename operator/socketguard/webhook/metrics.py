"""Prometheus metrics of the admission server (names distinct from the operator's: one process may run both)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "socketguard_admission_requests_total", "Admission requests by webhook path, kind and decision",
    ["webhook", "kind", "decision"])
FINDINGS = Counter(
    "socketguard_admission_findings_total",
    "Findings introduced by reviewed changes, by code and mode; `acting` says whether the mode would act on it",
    ["code", "mode", "acting"])
SECONDS = Histogram(
    "socketguard_admission_seconds", "Time to answer one admission request (parsing, both verdicts, response)",
    ["webhook"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 3))
