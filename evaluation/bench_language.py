"""`make bench` section "language": throughput of the language layer on one core.

Texts: Perm appeals from APPEALS_DATA_DIR (the demo data when absent), cleaned. The process is pinned
to one core (`os.sched_setaffinity`) and BLAS/torch threads are set to 1. Caches (pymorphy3 word forms,
spaCy's vocabulary, name tags) are warmed on the first texts, as in a long-running service or a
training run, and throughput is measured on texts that come after them. Both wall-clock and CPU-time
rates are given: on a shared machine the wall clock also counts other processes' time, CPU time
counts only ours.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

WARM_TEXTS = 5000
MEASURE_TEXTS = 2000
TARGETS = {"full": 400, "lemma": 3000}


@contextmanager
def _one_core() -> Iterator[str]:
    """Pin the process to one core with one BLAS/torch thread for the section, then undo both.

    The thread limit is set through threadpoolctl as well as the environment: when another section ran
    first in the same `make bench` process, numpy's OpenBLAS is already loaded with a thread per core,
    and two BLAS threads spinning on one pinned core made natasha's NER windows up to four times slower
    (masking with NER 415 texts/s against 1,261 when the section ran alone)."""
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # for libraries loaded later in the section
    try:
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    try:
        with threadpool_limits(limits=1):
            if cores is None:
                yield "not pinned (no sched_setaffinity here)"
                return
            os.sched_setaffinity(0, {min(cores)})
            yield f"pinned to core {min(cores)}"
    finally:
        if cores is not None:
            os.sched_setaffinity(0, cores)
        if torch is not None:
            torch.set_num_threads(torch_threads)


def load_texts(data_dir: Path | None) -> tuple[list[str], str]:
    from appeals.datasets import load_any, load_dataset
    from appeals.text import clean_text

    if data_dir is not None and (data_dir / "perm_promobot_2023").is_dir():
        frame, name = load_dataset("perm_promobot_2023", data_dir).frame, "Perm (perm_promobot_2023)"
    else:
        frame, name = load_any("demo").frame, "demo data (real data absent)"
    return [clean_text(t) for t in frame["text"]], name


def measure(func: Callable[[list[str]], object], texts: list[str]) -> tuple[float, float]:
    """(texts per wall second, texts per CPU second) of one call of `func` on `texts`."""
    wall, cpu = time.perf_counter(), time.process_time()
    func(texts)
    return len(texts) / (time.perf_counter() - wall), len(texts) / max(1e-9, time.process_time() - cpu)


def _paths() -> dict[str, Callable[[list[str]], object]]:
    from appeals.masking import mask_many
    from appeals.nlp import analyze_many, build_nlp, lemmatize_many
    from appeals.places import extract_places_many

    nlp_default, nlp_rules = build_nlp(with_ner=True), build_nlp(with_ner=False)
    return {
        "lemma only (`lemmatize_many`)": lemmatize_many,
        "masking, rules only (`mask_many(ner=False)`)": lambda t: mask_many(t, ner=False),
        "masking, default (rules + NER windows)": mask_many,
        "places (`extract_places_many`)": extract_places_many,
        "full layer, default (`analyze_many`: clean + mask with NER windows + lemmas + places)":
            lambda t: analyze_many(t, nlp_default),
        "full layer, rules only (no NER)": lambda t: analyze_many(t, nlp_rules),
    }


def run(data_dir: Path | None) -> str:
    with _one_core() as pinned:
        return _run(data_dir, pinned)


def _run(data_dir: Path | None, pinned: str) -> str:
    texts, source = load_texts(data_dir)
    n_warm = min(WARM_TEXTS, len(texts) // 2)
    warm, test = texts[:n_warm], texts[n_warm:n_warm + MEASURE_TEXTS]
    mean_len = sum(map(len, test)) / max(1, len(test))
    lines = ["## Language layer throughput", "",
             f"Texts: {source}, cleaned; caches warmed on the first {len(warm)} texts, measured on the next "
             f"{len(test)} (mean {mean_len:.0f} characters). One process, {pinned}, 1 BLAS/torch thread.", "",
             "| path | cold texts/s (CPU) | texts/s (wall) | texts/s (CPU) | target |", "|---|---|---|---|---|"]
    for name, func in _paths().items():
        _, cold = measure(func, warm)
        wall, cpu = measure(func, test)
        key = "lemma" if name.startswith("lemma") else "full" if name.startswith("full layer, default") else ""
        target = f"≥ {TARGETS[key]}/s" if key else ""
        lines.append(f"| {name} | {cold:.0f} | {wall:.0f} | {cpu:.0f} | {target} |")
    lines += ["", "Cold = the warming pass itself (first texts, empty caches, natasha loading included for "
              "the first path that uses it)."]
    return "\n".join(lines)
