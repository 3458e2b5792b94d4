"""`socketguard` command line. Subcommands load lazily so `lint` never imports kopf."""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import types
from typing import Any

import click

from socketguard import __version__

# name -> "module:attribute"; each front-end adds its own line.
_COMMANDS: dict[str, str] = {
    "compare": "socketguard.cli.compare:compare_command",
    "contract": "socketguard.cli.contract:contract",
    "operator": "socketguard.cli.operator:operator",
    "probe": "socketguard.cli.probe:probe_command",
    "lint": "socketguard.cli.lint:lint",
    "route": "socketguard.cli.route:route_command",
    "rules": "socketguard.cli.rules:rules",
    "explain": "socketguard.cli.rules:explain",
    "trace": "socketguard.cli.trace:trace_command",
    "webhook": "socketguard.cli.webhook:webhook",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command: Any = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="socketguard")
def main() -> None:
    """Keep Socket.IO and WebSocket routes on Kubernetes honest.

    \b
    Start here:
      socketguard lint manifests/           check manifests offline (CI, pre-commit)
      helm template . | socketguard lint -  check a chart's output
      socketguard explain SG102             what a finding means and how to fix it
    """


def _without_plugin_discovery() -> None:
    """With plugins disabled, pydantic still imports its plugin loader when it builds the first
    validator, and with it `importlib.metadata` (and `email`, `socket`...): about a twentieth of
    a lint's start-up, for a list it then ignores. A stand-in loader that finds no plugin is
    what pydantic's own answers when plugins are disabled (its `get_plugins` returns `()`)."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in ("__all__", "1", "true"):
        return
    loader = types.ModuleType("pydantic.plugin._loader", "socketguard: plugins disabled, none to load")
    loader.get_plugins = tuple  # type: ignore[attr-defined]
    sys.modules.setdefault(loader.__name__, loader)


def run() -> None:
    """The `socketguard` program (the console script and `python -m socketguard`).

    A lint ends without tearing the interpreter down: freeing every module and object one by one
    (pydantic's classes and validators above all) is work the OS does at once on exit, and a
    pre-commit hook waits for it on every commit (bench/startup.py). Exit handlers run and output
    is flushed first; lint writes files only in `with` blocks. Other commands exit as usual.

    For the same reason a lint never collects garbage: what it builds (modules, classes, views,
    findings) lives until it exits, so every collection would only rescan it; the loader and
    the analysis pause collections anyway (`inputs.loader.collections_paused`). Nor does it look
    for pydantic plugins: discovering them scans the metadata of every installed distribution
    when the first view is built, and lint has no use for them (a user's setting stands).
    """
    if sys.stdout is None:  # started with `>&-`: every command's answer would be lost
        print("socketguard: standard output is closed; nothing can be reported (exit 2)", file=sys.stderr)
        raise SystemExit(2)
    if sys.argv[1:2] != ["lint"]:
        main()
        return
    gc.disable()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _without_plugin_discovery()
    try:
        main()
        finished = SystemExit(0)
    except SystemExit as done:
        # Kept past this block: its traceback holds the command's frames and with them all the
        # lint built, which letting go would free object by object (a twentieth of a large lint).
        finished = done
    if not isinstance(finished.code, int | None):
        raise finished
    status = finished.code or 0
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None when the process was started with the stream closed
                stream.flush()
    except OSError:
        raise SystemExit(status) from None  # a closed pipe: reported by the interpreter, as before
    os._exit(status)
