"""`socketguard trace` on the MageAgent example, against golden files reviewed by hand.

Regenerate after a deliberate change with `socketguard trace ... > tests/cli/golden/...`, then
read the diff: the broken route must be marked FAIL with SG102 and the server must reject the
path that arrives; the rewrite variant must deliver /socket.io/ and be accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from socketguard.cli.trace import trace_command

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests/examples/mageagent"
GOLDEN = Path(__file__).parent / "golden"


def trace(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(trace_command, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("variant", "output", "golden"),
    [
        ("broken", "text", "trace-mageagent-broken.txt"),
        ("broken", "mermaid", "trace-mageagent-broken.mmd"),
        ("fixed-by-rewrite", "text", "trace-mageagent-fixed-by-rewrite.txt"),
    ],
)
def test_trace_matches_the_reviewed_golden_file(variant: str, output: str, golden: str) -> None:
    status, stdout, _ = trace(str(EXAMPLES / variant), "-o", output)
    assert status == 0
    assert stdout == (GOLDEN / golden).read_text()


def test_the_failing_hop_carries_the_finding() -> None:
    _, stdout, _ = trace(str(EXAMPLES / "broken"))
    route = next(line for line in stdout.splitlines() if "route:" in line)
    assert "[FAIL]" in route and "SG102 socket-path-mismatch" in route
    workload = next(line for line in stdout.splitlines() if "workload:" in line)
    assert "rejects it" in workload


def test_dot_output_is_a_digraph_with_the_error_coloured() -> None:
    _, stdout, _ = trace(str(EXAMPLES / "broken"), "-o", "dot")
    assert stdout.startswith("digraph socketguard {") and stdout.rstrip().endswith("}")
    assert 'SG102 socket-path-mismatch", color="#c62828"' in stdout


def test_client_filter_and_unknown_client() -> None:
    status, stdout, _ = trace(str(EXAMPLES / "broken"), "--client", "mageagent/dashboard")
    assert status == 0 and stdout.startswith("[WARN] client: Deployment mageagent/dashboard")
    status, _, stderr = trace(str(EXAMPLES / "broken"), "--client", "mageagent/nobody")
    assert status == 2 and "no workload mageagent/nobody" in stderr


def test_unreadable_input_is_reported_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    status, _, stderr = trace(str(tmp_path))
    assert status == 2 and "bad.yaml" in stderr


@pytest.mark.parametrize(("annotations", "shown"), [
    ("canary-by-header: X-Canary", "targetPort 3000 by header X-Canary: always, affinity"),
    ('canary-by-header: X-Canary, nginx.ingress.kubernetes.io/canary-weight: "100"',
     "targetPort 3000 weight 100% or by header X-Canary: always, affinity"),
])
def test_a_canary_backend_shows_how_it_is_chosen(tmp_path: Path, annotations: str, shown: str) -> None:
    fixture = ROOT / "tests/fixtures/rules/SG117/good-canary-on-the-main-path.yaml"
    (tmp_path / "canary.yaml").write_text(fixture.read_text().replace('canary-weight: "20"', annotations))
    _, stdout, _ = trace(str(tmp_path))
    assert f"Service web/chat-v2 port 80 -> {shown}" in stdout
