"""Child processes that never outlive the harness.

Each child runs in its own process group (so a terminal's Ctrl-C reaches only the harness, which then
stops them in order) and, on Linux, asks the kernel to kill it when its parent dies, which covers a
harness killed with SIGKILL. A registry stops whatever is still running at interpreter exit, and
SIGTERM/SIGHUP are turned into KeyboardInterrupt so ``with`` blocks and pytest finalizers unwind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

_PR_SET_PDEATHSIG = 1
_running: list[ManagedProcess] = []
_registry_lock = threading.Lock()
_signals_installed = False


def _die_with_parent_hook(parent_pid: int) -> Callable[[], None]:
    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl; then nobody would ever signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return hook


class ManagedProcess:
    """One long-running child with its output in ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        die_with_parent: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = env
        self.argv = list(argv)
        self.log_path = log_path
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        hook = _die_with_parent_hook(os.getpid()) if self.die_with_parent else None
        self._popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=hook,
            env=self.env,
        )
        with _registry_lock:
            _running.append(self)

    def exit_code(self) -> int | None:
        """``None`` while running (or never started)."""
        return self._popen.poll() if self._popen else None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``grace`` seconds."""
        popen = self._popen
        if popen is not None:
            if popen.poll() is None:
                _signal_group(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(popen.pid, signal.SIGKILL)
                    popen.wait()
            # Helpers the child forked stay in its group even after it exits.
            _signal_group(popen.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        with _registry_lock:
            if self in _running:
                _running.remove(self)

    def tail(self, lines: int) -> str:
        try:
            content = self.log_path.read_bytes()
        except OSError:
            return ""
        return "\n".join(content.decode("utf-8", "replace").splitlines()[-lines:])


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_all() -> None:
    """Stop every process still registered (newest first, so dependents stop before etcd)."""
    with _registry_lock:
        running = list(_running)
    for process in reversed(running):
        process.stop(grace=5)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt, if nobody else handles them (main thread only)."""
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _interrupt)
    _signals_installed = True


atexit.register(stop_all)
