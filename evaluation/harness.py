"""Shared plumbing of `make eval` and `make bench`: sections, machine description, RESULTS.md.

Each section module (evaluation/eval_*.py, evaluation/bench_*.py) has `run(data_dir) -> str`
returning Markdown. Its output is kept in evaluation/results/<name>.md so one section can be rerun
alone (`python -m evaluation.run_eval --only NAME`) without losing the others; RESULTS.md is the
concatenation, in the order of the section lists.
"""

from __future__ import annotations

import importlib
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
RESULTS_DIR = EVAL_DIR / "results"
RESULTS_MD = EVAL_DIR / "RESULTS.md"


def machine() -> str:
    cores = os.cpu_count()
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except Exception:  # psutil is optional for this line
        mem = "? GiB"
    return f"{platform.processor() or platform.machine()}, {cores} cores, {mem}, Python {platform.python_version()}"


def cpu_reference() -> float:
    """Milliseconds a fixed pure-Python workload takes (best of three), to compare machines and hours.

    Benchmarks of this project are pure-Python bound (tokenising, dictionary look-ups), so the same
    code can run two or three times slower on a slower host; the figure printed beside each bench
    section says how fast the host was when it ran. Lower is faster.
    """
    words = ("труба", "прорвало", "подъезд", "дом", "12", "отопление", "нет", "третий", "день")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for i in range(120_000):
            token = words[i % 9] + words[(i * 7) % 9][:3]
            counts[token] = counts.get(token, 0) + len(token.lower())
        best = min(best, time.perf_counter() - started)
    return best * 1000


def run_sections(kind: str, names: list[str], only: list[str] | None, data_dir: Path | None) -> None:
    """Run the named sections (all, or `only`), store each one's Markdown, rebuild RESULTS.md."""
    RESULTS_DIR.mkdir(exist_ok=True)
    for name in names:
        if only and name not in only:
            continue
        module = importlib.import_module(f"evaluation.{kind}_{name}")
        before = cpu_reference() if kind == "bench" else None
        started = time.perf_counter()
        print(f"== {kind} {name}", flush=True)
        body = module.run(data_dir)
        took = time.perf_counter() - started
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        speed = ""
        if before is not None:
            speed = (f" CPU reference workload (`evaluation.harness.cpu_reference`, lower is faster): "
                     f"{before:.0f} ms before, {cpu_reference():.0f} ms after.")
        text = f"{body.rstrip()}\n\n_Measured {stamp} on {machine()}; section took {took:.0f} s._{speed}\n"
        (RESULTS_DIR / f"{kind}_{name}.md").write_text(text, encoding="utf-8")
        print(text, flush=True)
    write_results()


def write_results() -> None:
    from evaluation.run_bench import SECTIONS as BENCH
    from evaluation.run_eval import SECTIONS as EVAL

    parts = ["# Results\n",
             "Produced by `make eval` (quality, on real data held out from training) and `make bench` "
             "(speed and memory). Every figure below comes from those commands; rerun them to refresh.\n"]
    for kind, names in (("eval", EVAL), ("bench", BENCH)):
        for name in names:
            path = RESULTS_DIR / f"{kind}_{name}.md"
            if path.exists():
                parts.append(path.read_text(encoding="utf-8"))
            else:
                parts.append(f"## {kind} {name}\n\nNot measured yet: run `make {kind}`.\n")
    RESULTS_MD.write_text("\n".join(parts), encoding="utf-8")


def parse_args(kind: str, names: list[str]) -> None:
    import argparse

    from appeals.config import data_dir, quiet_environment

    parser = argparse.ArgumentParser(description=f"make {kind}")
    parser.add_argument("--only", action="append", choices=names, help="run only this section")
    parser.add_argument("--data-dir", default=None, help="real datasets (default $APPEALS_DATA_DIR)")
    args = parser.parse_args()
    quiet_environment()
    run_sections(kind, names, args.only, data_dir(args.data_dir))
