"""`make bench` section "trends": `appeals report` and `appeals trends` on 1,000,000 scored appeals.

The appeals are synthetic (labels, dates with a weekday rhythm, districts, urgency, topic confidence;
texts written from our own phrases for a subsample), written to a CSV and fed to the real commands
in a subprocess; wall time and the child's peak resident memory are measured.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 1_000_000
TEXT_ROWS = 30_000
WEEKS = 52
TARGET_S, TARGET_GB = 60.0, 4.0
PHRASES = ("не убирают снег во дворе", "яма на дороге у остановки", "нет горячей воды", "не горит фонарь",
           "мусор не вывозят неделю", "автобус не пришел по расписанию", "нельзя записаться к врачу",
           "самокаты брошены на тротуаре", "протекает крыша после дождя", "шумят соседи ночью")


def synthetic_appeals(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    topics = np.array([f"Тема {i:03d}" for i in range(195)], dtype=object)
    weights = rng.pareto(1.2, len(topics)) + 0.05
    topic_idx = rng.choice(len(topics), size=rows, p=weights / weights.sum())
    weekday = rng.choice(7, size=rows, p=np.array([1.2, 1.15, 1.1, 1.05, 1.0, 0.5, 0.4]) / 6.4)
    days = rng.integers(0, WEEKS, size=rows) * 7 + weekday
    created = pd.Timestamp("2025-01-06") + pd.to_timedelta(days, unit="D") + pd.to_timedelta(
        rng.integers(7 * 3600, 21 * 3600, size=rows), unit="s")
    districts = np.array([f"Район {i}" for i in range(10)], dtype=object)
    frame = pd.DataFrame({
        "id": np.arange(rows), "created_at": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "topic": topics[topic_idx], "topic_group": (topic_idx % 26).astype(str),
        "department": (topic_idx % 10).astype(str), "district": districts[rng.integers(0, 10, rows)],
        "urgency": rng.choice(["critical", "high", "normal", "low"], size=rows, p=[0.03, 0.17, 0.6, 0.2]),
        "topic_proba": rng.beta(2, 2, rows).round(3), "text": ""})
    with_text = rng.choice(rows, TEXT_ROWS, replace=False)
    frame.loc[with_text, "text"] = [f"{PHRASES[i % len(PHRASES)]}, дом {rng.integers(1, 200)}"
                                    for i in rng.integers(0, len(PHRASES), TEXT_ROWS)]
    frame["topic_group"] = "Группа " + frame["topic_group"]
    frame["department"] = "Исполнитель " + frame["department"]
    return frame


def timed(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in GiB of the largest child so far) of one subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return took, cpu, after.ru_maxrss / 2**20


def run(data_dir: Path | None) -> str:
    appeals = str(Path(sys.executable).parent / "appeals")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scored.csv"
        synthetic_appeals().to_csv(path, index=False)
        size_mb = path.stat().st_size / 2**20
        load = os.getloadavg()[0]
        report_s, report_cpu, report_gb = timed([appeals, "report", "--input", str(path), "--from", "2025-10-06",
                                     "--to", "2025-12-28", "--output", str(Path(tmp) / "report.html")])
        trends_s, trends_cpu, trends_gb = timed([appeals, "trends", "--input", str(path), "--output",
                                     str(Path(tmp) / "alerts.json")])
    verdict = "meets" if report_s <= TARGET_S and report_gb <= TARGET_GB else "MISSES"
    return "\n".join([
        "## Demand trends: report on 1,000,000 scored appeals", "",
        f"Synthetic scored appeals ({ROWS:,} rows, {WEEKS} weeks, 195 topics, 10 districts, texts on "
        f"{TEXT_ROWS:,} rows), CSV of {size_mb:.0f} MB, run as a subprocess of the installed `appeals` command.", "",
        f"Load average when it started: {load:.1f} on {os.cpu_count()} cores (other jobs slow the wall time; "
        "CPU time is the process's own work).", "",
        "| command | wall time | CPU time | peak memory | target |", "|---|---|---|---|---|",
        f"| `appeals report` (12 weeks, emerging problems included) | {report_s:.1f} s | {report_cpu:.1f} s "
        f"| {report_gb:.2f} GiB | <= {TARGET_S:.0f} s, <= {TARGET_GB:.0f} GB: {verdict} |",
        f"| `appeals trends` (all weeks, alerts.json) | {trends_s:.1f} s | {trends_cpu:.1f} s | {trends_gb:.2f} GiB "
        "(largest child so far) | |", ""])
