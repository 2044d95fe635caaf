"""`make bench` section "load": the served service at a steady 50 requests/s for 10 minutes, then a
step to 4x its measured capacity and back, with Locust (evaluation/locustfile.py, evaluation/load.py).

Models: the MLflow champions (as the "service" section) when the configured store has them, else
small models fitted on the demo data (tests/integration/service_env.py), so the section always
runs. Payloads are built from the demo data (fictional appeals), never from the real datasets; a
temporary appeal store and temporary keys. APPEALS_BENCH_LOAD_SECONDS shortens the steady run for
a quick look (the figures then say so).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evaluation.load import (
    LoadRun,
    Stage,
    is_error,
    memory_figures,
    per_minute,
    percentile,
    run_locust,
    window_figures,
    worker_rss,
)

STEADY_RATE, STEADY_S = 50.0, 600.0
PROBE = Stage(seconds=20, rate=16 * 1000, user_rate=1000)  # 16 clients without pause: the capacity
STEP_FACTOR, STEP_S, CALM = 4.0, 30.0, Stage(seconds=30, rate=10)
TARGETS = {"growth_pct": 10.0, "p99_ratio": 1.5}
KEYS = {"portal": "bench-portal-key-0123456789", "operator": "bench-operator-key-0123456789"}


@contextlib.contextmanager
def _models(home: Path) -> Iterator[tuple[dict[str, str], str]]:
    """(environment of the served process, which models it serves)."""
    from appeals.registry import RegistryError
    from evaluation.bench_service import _environment, _import_models

    keys = {"APPEALS_API_KEYS": f"portal:{KEYS['portal']},operator:{KEYS['operator']}",
            "APPEALS_DB_URL": f"sqlite:///{home / 'load.db'}"}
    saved = dict(os.environ)
    try:
        os.environ.update(_environment(home))
        _, dataset = _import_models(home)
        env: dict[str, str] | None = {**os.environ, **keys}
    except RegistryError:
        env = None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if env is not None:
        yield env, f"the MLflow champions (topic model trained on {dataset})"
        return
    from tests.integration.service_env import environment, service_env

    with service_env() as demo_home:
        yield ({**os.environ, **environment(demo_home), **keys, "OPENBLAS_NUM_THREADS": "1"},
               "small TF-IDF + logistic regression models fitted on the demo data (no champions in the store)")


def measure(home: Path) -> dict[str, Any]:
    from appeals.store import count_appeals, make_engine
    from evaluation.bench_service import _cpu_seconds, _free_port, _start

    steady_s = float(os.environ.get("APPEALS_BENCH_LOAD_SECONDS", STEADY_S))
    load_before = os.getloadavg()[0]
    with _models(home) as (env, models):
        port = _free_port()
        process, _ = _start(env, port)
        url = f"http://127.0.0.1:{port}"
        try:
            cpu = _cpu_seconds(process)
            steady = run_locust(url, [Stage(steady_s, STEADY_RATE)], KEYS, home, worker_rss(process))
            cpu = _cpu_seconds(process) - cpu
            stored = count_appeals(make_engine(env["APPEALS_DB_URL"]))
            probe = run_locust(url, [PROBE], KEYS, home)
            capacity = sum(r[3] == 200 for r in probe.records) / PROBE.seconds
            step = Stage(STEP_S, STEP_FACTOR * capacity, user_rate=1.0)
            overload = run_locust(url, [step, CALM], KEYS, home, worker_rss(process))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"models": models, "steady": steady, "stored": stored, "cpu_s": cpu, "capacity": capacity, "probe": probe, "overload": overload,
            "load": (load_before, os.getloadavg()[0]), "cores": os.cpu_count()}


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def steady_lines(run: LoadRun, stored: int, cpu_s: float) -> list[str]:
    stage = run.stages[0]
    minutes = per_minute(run)
    memory = memory_figures(run)
    every = run.records
    errors = [r for r in every if is_error(r)]
    ratio = minutes[-1]["p99"] / minutes[0]["p99"] if minutes[0]["p99"] else float("nan")
    lines = [f"Steady: {stage.rate:.0f} requests/s offered for {stage.seconds:.0f} s ({stage.users} Locust "
             f"users at {stage.user_rate:g}/s each, a user waits for its answer); sent {len(every):,} requests "
             f"({len(every) / stage.seconds:.1f}/s), {len(errors)} errors"
             + (f" ({window_figures(errors, 1)['statuses']})" if errors else "") + ".", "",
             "| minute | requests | rate /s | p50 | p95 | p99 | errors | worker RSS at its end |",
             "|---|---|---|---|---|---|---|---|"]
    for i, m in enumerate(minutes):
        rss = [b for t, b in run.rss if t <= m["from_s"] + 60]
        lines.append(f"| {i + 1} | {m['n']:,} | {m['rate']:.1f} | {_ms(m['p50'])} | {_ms(m['p95'])} | "
                     f"{_ms(m['p99'])} | {m['errors']} | {rss[-1] / 2**20:.0f} MB |")
    by_endpoint = ", ".join(f"`{name}` p50 {_ms(percentile(ms, 50))} / p99 {_ms(percentile(ms, 99))} ({len(ms):,})"
                            for name in ("/classify", "/classify_batch", "/feedback")
                            if (ms := [r[2] for r in every if r[1] == name]))
    grown = (memory["end_mb"] - memory["minute_mb"]) * 1024
    lines += ["", f"By endpoint over the run: {by_endpoint}. CPU time of the worker (user + system): "
              f"{1000 * cpu_s / max(len(every), 1):.1f} ms per request, {cpu_s / stage.seconds:.2f} cores on "
              "average.", "",
              f"{stored:,} appeals stored in the run; each also joins the in-memory duplicate index. After the "
              f"first minute the worker grew {grown / 1024:+.0f} MB, {grown / max(stored, 1):.2f} KB per stored appeal.",
              "", "| figure | measured | target | |", "|---|---|---|---|",
              _row("errors", str(len(errors)), "0", not errors),
              _row("p99 last minute ÷ first minute", f"{ratio:.2f} ({_ms(minutes[-1]['p99'])} vs "
                   f"{_ms(minutes[0]['p99'])})", f"≤ {TARGETS['p99_ratio']}", ratio <= TARGETS["p99_ratio"]),
              _row("worker RSS growth, start → end", f"{memory['growth_pct']:+.1f} % ({memory['start_mb']:.0f} → "
                   f"{memory['end_mb']:.0f} MB)", f"< {TARGETS['growth_pct']:g} %",
                   memory["growth_pct"] < TARGETS["growth_pct"]),
              f"| worker RSS growth after the first minute | {memory['growth_after_minute_pct']:+.1f} % "
              f"({memory['minute_mb']:.0f} → {memory['end_mb']:.0f} MB) | (no target) | |"]
    return lines


def _row(name: str, value: str, target: str, ok: bool) -> str:
    return f"| {name} | {value} | {target} | {'met' if ok else '**missed**'} |"


def overload_lines(run: LoadRun, capacity: float) -> list[str]:
    step_start, step_end = run.stage_bounds(0)
    step = run.between(step_start, step_end)
    calm_start, calm_end = run.stage_bounds(1)
    calm = run.between(calm_start, calm_end)
    refused = [r for r in step if r[3] in (429, 503)]
    served = [r for r in step if r[3] == 200]
    no_answer = [r for r in run.records if r[3] == 0]
    others = [r for r in run.records if r[3] not in (0, 200, 429, 503)]
    first_ok = next((r[0] - calm_start for r in calm if r[3] == 200), float("nan"))
    calm_ok = sum(r[3] == 200 for r in calm)
    refused_ms, served_ms = [r[2] for r in refused], [r[2] for r in served]
    return [
        f"Overload: capacity first measured with 16 clients that never wait ({PROBE.seconds:g} s): "
        f"**{capacity:.0f} answered requests/s** (the same mix). Then {run.stages[0].rate:.0f} requests/s offered "
        f"({STEP_FACTOR:g}× capacity, {run.stages[0].users} users at 1/s) for {STEP_S:g} s, then "
        f"{CALM.rate:g} requests/s for {CALM.seconds:g} s.", "",
        "| figure | measured |", "|---|---|",
        f"| requests sent in the step | {len(step):,} ({len(step) / STEP_S:.0f}/s) |",
        f"| refused 503/429 | {len(refused):,} ({100 * len(refused) / max(len(step), 1):.0f} %), "
        f"{sum(bool(r[4]) for r in refused):,} of them with Retry-After |",
        f"| latency of the refusals | p50 {_ms(percentile(refused_ms, 50))}, p99 {_ms(percentile(refused_ms, 99))}, "
        f"max {_ms(max(refused_ms, default=float('nan')))} |",
        f"| served 200 in the step | {len(served):,} ({len(served) / STEP_S:.0f}/s), p50 "
        f"{_ms(percentile(served_ms, 50))}, p99 {_ms(percentile(served_ms, 99))} |",
        f"| timeouts / no answer (whole run) | {len(no_answer)} |",
        f"| other statuses (whole run) | {len(others)}{' ' + str(window_figures(others, 1)['statuses']) if others else ''} |",
        f"| after the drop to {CALM.rate:g}/s | first 200 after {first_ok:.1f} s; {calm_ok} of {len(calm)} served "
        f"(p50 {_ms(percentile([r[2] for r in calm], 50))}) |",
        f"| worker RSS over the overload run | {memory_figures(run)['start_mb']:.0f} → "
        f"{memory_figures(run)['end_mb']:.0f} MB |",
    ]


def report(m: dict[str, Any]) -> str:
    limits = _limits()
    return "\n".join([
        "## Load and overload (Locust on 127.0.0.1)", "",
        f"Service: one worker serving {m['models']}, SQLite store, API keys checked, overload limit "
        f"{limits}. Load: Locust {_locust_version()} (evaluation/locustfile.py): 60 % `/classify`, 20 % "
        "`/classify_batch` (2–8 appeals), 20 % `/feedback` on appeals stored before; payloads from the demo "
        "data with fresh ids. Locust runs on the same machine as the service.", "",
        *steady_lines(m["steady"], m["stored"], m["cpu_s"]), "", *overload_lines(m["overload"], m["capacity"]), "",
        f"Machine load (1-minute load average) {m['load'][0]:.1f} before and {m['load'][1]:.1f} after, on "
        f"{m['cores']} cores (above the core count, latencies include waiting for a CPU)."])


def _limits() -> str:
    from appeals.routing import load_routing_config

    s = load_routing_config().service
    return f"max_in_flight = {s.max_in_flight}, retry_after_s = {s.retry_after_s}"


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def run(data_dir: Path | None) -> str:
    del data_dir  # the payloads are the demo data's; the real datasets are never sent
    with tempfile.TemporaryDirectory(prefix="appeals-load-") as tmp:
        return report(measure(Path(tmp)))

