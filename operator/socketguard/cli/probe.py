"""`socketguard probe URL`: a real Socket.IO handshake through the real route, with a diagnosis."""

from __future__ import annotations

import click

from socketguard.probe.client import run_probe_blocking
from socketguard.probe.model import MAX_POLLS, MAX_TIMEOUT_S, TRANSPORTS, ProbeOptions, ProbeUsageError
from socketguard.probe.render import render_json, render_text

_EPILOG = """\b
Examples:
  socketguard probe https://api.example.com
      default path /socket.io, namespace /, polling then websocket
  socketguard probe https://api.example.com --path /mageagent/socket.io
  socketguard probe https://api.example.com/mageagent/socket.io/
      the same: a path in the URL is the HTTP path (unlike io(url), where it names a namespace)
  socketguard probe https://api.example.com --origin https://app.example.com
      also checks that a page at that origin may read the answers (CORS)
  socketguard probe https://api.example.com --polls 6
      more requests on one session: a route without sticky sessions fails them
  socketguard probe https://api.example.com -n /chat --transport websocket
  socketguard probe https://10.0.0.7:8443 --ca-file ca.pem -o json

\b
Steps: polling handshake (GET P/?EIO=4&transport=polling), CORS (with --origin),
namespace CONNECT (40), K polls on the same sid, websocket upgrade (2probe/3probe/5),
websocket-only handshake and namespace CONNECT. Each step is timed; a failure is
explained in words (wrong path, proxy page, no sticky sessions, origin refused,
upgrade refused, namespace refused, DNS/TCP/TLS). See docs/probe.md.

\b
Exit codes: 0 every requested step worked; 1 the target failed (DNS, TCP and TLS
failures included); 2 bad usage.
"""


@click.command("probe", epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@click.option("--path", "-p", metavar="P", help="Socket.IO path the client requests  [default: /socket.io, "
              "or the URL's path]")
@click.option("--origin", metavar="O", help="Send 'Origin: O' (the page's origin) and check CORS against it.")
@click.option("--socketio-namespace", "-n", "namespace", metavar="N", default="/", show_default=True,
              help="Socket.IO namespace to join.")
@click.option("--transport", type=click.Choice(TRANSPORTS), default="both", show_default=True,
              help="Which transports to test; 'both' also tests the upgrade.")
@click.option("--polls", metavar="K", type=click.IntRange(0, MAX_POLLS), default=3, show_default=True,
              help="Requests on the same sid after joining (K > 1 catches missing stickiness).")
@click.option("--timeout", "timeout_s", metavar="S", default=10.0, show_default=True,
              type=click.FloatRange(0, MAX_TIMEOUT_S, min_open=True), help="Seconds allowed for each step.")
@click.option("--insecure", "-k", is_flag=True, help="Do not verify the TLS certificate (testing only).")
@click.option("--ca-file", metavar="F", type=click.Path(exists=True, dir_okay=False),
              help="PEM file of the CA(s) that sign the server's certificate.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def probe_command(
    ctx: click.Context,
    url: str,
    path: str | None,
    origin: str | None,
    namespace: str,
    transport: str,
    polls: int,
    timeout_s: float,
    insecure: bool,
    ca_file: str | None,
    output: str,
) -> None:
    """Probe a live Socket.IO endpoint and say in plain words what is wrong.

    URL is where the browser connects: scheme, host, port and optionally the
    Socket.IO path (http, https, ws and wss are accepted).
    """
    try:
        options = ProbeOptions.create(
            url, path=path, namespace=namespace, origin=origin, transport=transport, polls=polls,
            timeout_s=timeout_s, verify_tls=not insecure, ca_file=ca_file,
        )
        report = run_probe_blocking(options)
    except ProbeUsageError as error:
        raise click.UsageError(str(error), ctx) from None
    click.echo(render_json(report) if output == "json" else render_text(report))
    ctx.exit(0 if report.ok else 1)
