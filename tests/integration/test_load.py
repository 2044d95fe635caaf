"""The served process under load (Locust, evaluation/locustfile.py): a short steady run with no errors
and bounded worker memory, then a burst past the overload limit that is refused with 503 +
Retry-After (never a timeout) and served again once it stops. The 10-minute run and its latency
figures are `make bench` (evaluation/bench_load.py); nothing here asserts a timing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluation.load import Stage, memory_figures, percentile, run_locust, window_figures, worker_rss
from tests.integration.service_env import OPERATOR_KEY, PORTAL_KEY, Served, served, service_env

pytestmark = [pytest.mark.service, pytest.mark.slow]
KEYS = {"portal": PORTAL_KEY, "operator": OPERATOR_KEY}
STEADY = Stage(seconds=40, rate=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`appeals serve --no-import` on the demo-trained models, with a store of this module's own."""
    with service_env() as home, served(home, tmp_path_factory.mktemp("load")) as process:
        yield process


def _describe(records: list[list[Any]]) -> str:
    bad = [r for r in records if not 200 <= r[3] < 300]
    return f"{len(bad)} of {len(records)} requests failed, e.g. {bad[:5]}"


def test_steady_load_no_errors_and_bounded_memory(server: Served, tmp_path: Path) -> None:
    run = run_locust(server.url, [STEADY], KEYS, tmp_path, worker_rss(server.process))
    records = run.between(0, STEADY.seconds + 60)  # every request, the last ones finishing late included
    memory, seen = memory_figures(run), window_figures(records, STEADY.seconds)
    print(f"\nsteady {STEADY.rate:g}/s for {STEADY.seconds:g} s: {seen['n']} requests ({seen['rate']:.1f}/s), "
          f"{seen['errors']} errors, p50 {seen['p50']:.0f} ms, p95 {seen['p95']:.0f} ms, p99 {seen['p99']:.0f} ms; "
          f"worker RSS {memory['start_mb']:.0f} -> {memory['end_mb']:.0f} MB ({memory['growth_pct']:+.1f} %)")
    assert len(records) >= 0.5 * STEADY.rate * STEADY.seconds, "the load did not reach the service"
    assert {r[1] for r in records} == {"/classify", "/classify_batch", "/feedback"}
    assert all(200 <= r[3] < 300 for r in records), _describe(records)
    assert memory["growth_pct"] < 10, f"worker RSS grew {memory['growth_pct']:.1f} %: {memory}"


def test_overload_is_refused_with_retry_after_then_served_again(server: Served, tmp_path: Path) -> None:
    burst = Stage(seconds=6, rate=150 * 1000, user_rate=1000)  # 150 clients that never wait: past any limit
    calm = Stage(seconds=8, rate=10)
    run = run_locust(server.url, [burst, calm], KEYS, tmp_path)
    refused = [r for r in run.records if r[3] in (429, 503)]
    refused_ms = [r[2] for r in refused]
    recovered = run.between(burst.seconds + 3, burst.seconds + calm.seconds)  # the queue it took has drained
    print(f"\nburst of 150 clients for {burst.seconds:g} s: {len(run.between(0, burst.seconds))} requests, "
          f"{len(refused)} refused ({sum(bool(r[4]) for r in refused)} with Retry-After), refusals p50 "
          f"{percentile(refused_ms, 50):.0f} ms / p99 {percentile(refused_ms, 99):.0f} ms; from 3 s after it: "
          f"{sum(r[3] == 200 for r in recovered)} of {len(recovered)} served")
    assert refused, "150 clients without pause were never refused: is [service].max_in_flight set?"
    assert all(r[4] for r in refused), f"{sum(not r[4] for r in refused)} refusals without Retry-After"
    others = [r for r in run.records if r[3] not in (200, 429, 503)]
    assert not others, f"answers other than 200/429/503 (0 = timeout or no answer): {others[:5]}"
    assert recovered and all(r[3] == 200 for r in recovered), _describe(recovered)
