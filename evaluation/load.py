"""Load and overload runs against a served service: Locust (evaluation/locustfile.py) as a
subprocess, the worker's memory sampled meanwhile, and per-minute figures from every request.

Used by `make bench` (evaluation/bench_load.py: 10 minutes at 50 requests/s, then a step to
overload) and by tests/integration/test_load.py (about a minute, in `make test`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
USER_RATE = 2.0  # requests a second per Locust user at a steady load


@dataclass
class Stage:
    seconds: float
    rate: float  # requests a second offered, all users together
    user_rate: float = USER_RATE

    @property
    def users(self) -> int:
        return max(1, round(self.rate / self.user_rate))


@dataclass
class LoadRun:
    """Records are [seconds since start, endpoint, ms, status (0: no answer), Retry-After, error]."""

    stages: list[Stage]
    records: list[list[Any]]
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)
    wall_s: float = 0.0

    def between(self, start: float, end: float) -> list[list[Any]]:
        return [r for r in self.records if start <= r[0] < end]

    def stage_bounds(self, index: int) -> tuple[float, float]:
        start = sum(s.seconds for s in self.stages[:index])
        return start, start + self.stages[index].seconds


def worker_rss(process: subprocess.Popen) -> Callable[[], int]:
    """A probe of the BentoML worker's resident memory (the worker is a child of the server)."""
    from evaluation.bench_service import _workers

    def rss() -> int:
        return max(p.memory_info().rss for p in _workers(process))

    return rss


def run_locust(url: str, stages: list[Stage], keys: dict[str, str], workdir: Path,
               rss: Callable[[], int] | None = None) -> LoadRun:
    """Run the stages one after the other (Locust, headless); every request's record and the RSS."""
    records_path = workdir / f"load-{time.time_ns()}.json"
    env = {**os.environ, "APPEALS_LOAD_RECORDS": str(records_path),
           "APPEALS_LOAD_STAGES": ",".join(f"{s.seconds:g}:{s.users}:{s.user_rate:g}" for s in stages),
           "APPEALS_LOAD_PORTAL_KEY": keys["portal"], "APPEALS_LOAD_OPERATOR_KEY": keys["operator"]}
    command = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", url,
               "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    samples: list[tuple[float, int]] = []
    started = time.time()
    with (workdir / "locust.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample, args=(rss, process, samples, started), daemon=True)
        if rss is not None:
            sampler.start()
        try:
            process.wait(timeout=sum(s.seconds for s in stages) + 120)
        finally:
            if process.poll() is None:
                process.kill()
    if rss is not None:
        sampler.join(timeout=5)
    if process.returncode != 0 or not records_path.exists():
        raise RuntimeError(f"locust exited with {process.returncode}: "
                           f"{(workdir / 'locust.log').read_text(errors='replace')[-2000:]}")
    data = json.loads(records_path.read_text(encoding="utf-8"))
    t0 = data["started"] or started
    records = sorted([[r[0] - t0, *r[1:]] for r in data["records"]], key=lambda r: r[0])
    offset = t0 - started
    return LoadRun(stages, records, [(t - offset, b) for t, b in samples], time.time() - started)


def _sample(rss: Callable[[], int], process: subprocess.Popen, out: list[tuple[float, int]],
            started: float) -> None:
    import psutil

    while True:
        running = process.poll() is None
        with contextlib.suppress(psutil.Error, ValueError):  # a worker restarting: no sample this second
            out.append((time.time() - started, rss()))
        if not running:
            return
        time.sleep(1.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def is_error(record: list[Any]) -> bool:
    return not 200 <= record[3] < 300


def window_figures(records: list[list[Any]], seconds: float) -> dict[str, Any]:
    """Rate, latency percentiles (ms) and error counts of the records of one window."""
    ms = [r[2] for r in records]
    statuses: dict[str, int] = {}
    for r in records:
        if is_error(r):
            key = str(r[3]) if r[3] else (r[5] or "no answer").split(":")[0]
            statuses[key] = statuses.get(key, 0) + 1
    return {"n": len(records), "rate": len(records) / seconds if seconds else 0.0,
            "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "errors": sum(statuses.values()), "statuses": statuses}


def per_minute(run: LoadRun, start: float = 0.0, end: float | None = None, width: float = 60.0) -> list[dict]:
    """Figures per window of `width` seconds (the last one may be shorter)."""
    end = end if end is not None else sum(s.seconds for s in run.stages)
    out, t = [], start
    while t < end - 1e-6:
        stop = min(t + width, end)
        out.append({"from_s": t - start, **window_figures(run.between(t, stop), stop - t)})
        t = stop
    return out


def rss_at(run: LoadRun, t: float) -> int:
    """The memory sample nearest before `t` (the first one for t <= its time)."""
    before = [b for s, b in run.rss if s <= t]
    return before[-1] if before else run.rss[0][1]


def memory_figures(run: LoadRun) -> dict[str, float]:
    """Worker RSS (MB) at the start of the load, after its first minute and at the end; growth in %."""
    end = sum(s.seconds for s in run.stages)
    start, minute, last = rss_at(run, 0.0), rss_at(run, min(60.0, end)), rss_at(run, end)
    return {"start_mb": start / 2**20, "minute_mb": minute / 2**20, "end_mb": last / 2**20,
            "growth_pct": 100 * (last - start) / start, "growth_after_minute_pct": 100 * (last - minute) / minute}
