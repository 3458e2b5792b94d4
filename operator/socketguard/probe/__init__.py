"""Live Engine.IO/Socket.IO prober and its diagnosis.

`run_probe(ProbeOptions.create(url, ...))` performs a real handshake through the real route and
returns a `ProbeReport` (steps, timings, diagnoses): plain data that the CLI prints and that the
operator can turn into SG601. `is_allowed_target` guards unattended probes against SSRF.
"""

from socketguard.probe.client import run_probe, run_probe_blocking
from socketguard.probe.model import (
    Cause,
    Diagnosis,
    DiagnosisEntry,
    Outcome,
    ProbeOptions,
    ProbeReport,
    ProbeUsageError,
    StepResult,
)
from socketguard.probe.targets import is_allowed_target, target_refusal

__all__ = [
    "Cause",
    "Diagnosis",
    "DiagnosisEntry",
    "Outcome",
    "ProbeOptions",
    "ProbeReport",
    "ProbeUsageError",
    "StepResult",
    "is_allowed_target",
    "run_probe",
    "run_probe_blocking",
    "target_refusal",
]
