"""`socketguard rules` (the catalog) and `socketguard explain CODE` (one rule's documentation)."""

from __future__ import annotations

import json
import sys

import click

from socketguard.engine.rules.registry import all_rules, get_rule


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(output: str) -> None:
    """List every rule: code, name, default severity and summary.

    \b
    Examples:
      socketguard rules
      socketguard rules -o json | jq -r '.[].code'
      socketguard explain SG102      the full documentation of one rule
    """
    catalog = all_rules()
    if output == "json":
        data = [
            {"code": r.code, "name": r.name, "severity": r.severity.label, "summary": r.summary}
            for r in catalog
        ]
        click.echo(json.dumps(data, indent=2))
        return
    name_width = max((len(r.name) for r in catalog), default=4)
    click.echo(f"{'CODE':<6} {'NAME':<{name_width}} {'SEVERITY':<8} SUMMARY")
    for rule in catalog:
        click.echo(f"{rule.code:<6} {rule.name:<{name_width}} {rule.severity.label:<8} {rule.summary}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("code")
def explain(code: str) -> None:
    """Print what rule CODE checks, why it matters and how to fix it.

    \b
    Example:
      socketguard explain SG102
    """
    try:
        rule = get_rule(code)
    except KeyError:
        click.echo(
            f"socketguard explain: unknown rule code {code!r}. "
            "`socketguard rules` lists the codes; they look like SG102.",
            err=True,
        )
        sys.exit(2)
    click.echo(f"{rule.code} {rule.name} ({rule.severity.label})")
    click.echo(f"Admission: {rule.admission.label} ({rule.admission.meaning})\n")
    click.echo(rule.doc)
