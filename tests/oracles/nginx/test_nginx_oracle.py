"""The ingress-nginx model against real nginx, configured as the controller would configure it.

Seeded and derandomized: every CI run sends the same >= 5,000 requests. A longer run:
`SOCKETGUARD_NGINX_ORACLE_BATCHES=300 python -m pytest --timeout=0 -m peers tests/oracles/nginx`.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import pytest
from echo_upstreams import echo_upstreams
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ingress_nginx_port import DEFAULT_BACKEND
from nginx_oracle import SERVICE_IDENTITIES, Scenario, require_peers, run_batch
from nginx_scenarios import scenarios

BATCHES = int(os.environ.get("SOCKETGUARD_NGINX_ORACLE_BATCHES", "14"))
MIN_REQUESTS = 5000


@pytest.mark.peers
def test_model_routes_every_generated_request_as_nginx_does(tmp_path: Path) -> None:
    require_peers()
    totals = {"requests": 0, "scenarios": 0, "excluded": 0}
    answers: Counter[str] = Counter()
    batch_number = itertools.count()
    with echo_upstreams(SERVICE_IDENTITIES, not_found=[DEFAULT_BACKEND]) as echo_ports:

        # No shrinking: each restart of nginx costs time, and the report already shows the smallest divergence.
        @settings(max_examples=BATCHES, derandomize=True, database=None, deadline=None,
                  phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
        @given(st.lists(scenarios(), min_size=8, max_size=12))
        def compare(batch: list[Scenario]) -> None:
            result = run_batch(batch, echo_ports, tmp_path / f"batch-{next(batch_number)}")
            for key in totals:
                totals[key] += getattr(result, key)
            answers.update(result.answers)
            smallest = min(result.divergences, key=lambda d: len(str(d)), default=None)
            assert smallest is None, f"{len(result.divergences)} divergences; the smallest:\n{smallest}"

        compare()
    print(f"nginx oracle: {totals}, nginx answered: {dict(answers)}")
    assert totals["requests"] >= MIN_REQUESTS, totals
    assert {"upstream", "default backend", "301", "302"} <= set(answers), answers  # every kind of answer is compared
