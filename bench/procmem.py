"""Resident memory of a process under test, read from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path

_KIB_PER_MIB = 1024


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, resident peak) in MiB: VmRSS and VmHWM of /proc/PID/status."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / _KIB_PER_MIB
    return fields["VmRSS"], fields["VmHWM"]
