"""Batch scoring with the champions: the contract behind `appeals predict`.

Output columns (see the interfaces brief): id, topic, topic_proba, topic_group, topic_group_proba,
department, department_proba, topic_top3 (JSON list of [label, proba]), and, when an
`appeals-urgency` champion exists, urgency, urgency_proba and deadline (from appeals.urgency);
created_at and district are carried over when the input has them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from appeals.model_metrics import predicted
from appeals.shared_steps import SharedPipelines, prepare_texts, prepared_steps

TEXT_TASKS: tuple[str, ...] = ("topic", "topic_group", "department")
CARRIED: tuple[str, ...] = ("created_at", "district")
Models = dict[str, tuple[Any, str]]


def load_champions(tasks: tuple[str, ...] = TEXT_TASKS) -> Models:
    """{task: (pipeline, version)} for every task's champion (a readable error when one is missing)."""
    from appeals.registry import load_champion

    return {task: load_champion(task) for task in tasks}


def top_k_pairs(proba: np.ndarray, classes: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
    """Per row, the k best (label, probability) pairs, probabilities rounded to 4 places as stored
    (`topic_top3` of `appeals predict`, the service's answers and the store)."""
    order = np.argsort(-proba, axis=1)[:, :k]
    return [[(str(classes[j]), round(float(row[j]), 4)) for j in idx] for row, idx in zip(proba, order, strict=True)]


def top_k(proba: np.ndarray, classes: np.ndarray, k: int = 3) -> list[str]:
    """Per row, a JSON list of the k best [label, probability] pairs."""
    return [json.dumps(pairs, ensure_ascii=False) for pairs in top_k_pairs(proba, classes, k)]


def score_texts(models: Models, texts: list[str], shared: SharedPipelines | None = None,
                prepared: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Label and probability per task (plus the top-3 topics) for raw texts.

    Steps the models have in common (cleaning, masking, equal fitted features) run once per batch
    (appeals.shared_steps, the same mechanism the service uses); pass `shared` to build it once and
    `prepared` (`prepare_texts(texts)`) when the texts are already cleaned and masked.
    """
    import sklearn

    shared = shared or SharedPipelines({task: pipeline for task, (pipeline, _v) in models.items()})
    out: dict[str, Any] = {}
    # our own TF-IDF matrices, parameters checked at fit time: sklearn's per-call checks change nothing
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        probas = shared.predict_proba(texts, prepared_steps(prepared))
    for task, proba in probas.items():
        classes = np.asarray(models[task][0].classes_, dtype=object)
        labels, conf = predicted(proba, classes)
        out[task] = labels
        out[f"{task}_proba"] = np.round(conf, 4)
        if task == "topic":
            out["topic_top3"] = top_k(proba, classes)
    return pd.DataFrame(out)


def urgency_hook() -> Callable[..., pd.DataFrame] | None:
    """appeals.urgency's batch scorer `score_frame(frame, rule_masked)` (columns urgency, urgency_proba,
    deadline, aligned with `frame`) when an urgency champion exists; without it the columns stay empty."""
    from appeals import urgency
    from appeals.registry import champion_version

    return urgency.score_frame if champion_version("urgency") is not None else None


def batches(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


class _Scorer:
    """Scores one chunk: clean and mask once, the three models, urgency on the same masked texts."""

    def __init__(self, models: Models, hook: Callable[..., pd.DataFrame] | None) -> None:
        self.models, self.hook = models, hook
        self.shared = SharedPipelines({task: pipeline for task, (pipeline, _v) in models.items()})

    def __call__(self, chunk: pd.DataFrame) -> pd.DataFrame:
        texts = [str(t) for t in chunk["text"]]
        prepared = prepare_texts(texts)
        scored = score_texts(self.models, texts, self.shared, prepared)
        scored.insert(0, "id", chunk["id"].to_numpy())
        extra = (self.hook(chunk.reset_index(drop=True), prepared["rule_masked"]) if self.hook is not None
                 else pd.DataFrame())
        for col in ("urgency", "urgency_proba", "deadline"):
            scored[col] = extra[col].to_numpy() if col in extra.columns else None
        for col in CARRIED:
            if col in chunk.columns and chunk[col].notna().any():
                scored[col] = chunk[col].to_numpy()
        return scored


_WORKER_SCORER: _Scorer | None = None  # set in the parent before forking; each worker inherits it


def _score_in_worker(chunk: pd.DataFrame) -> pd.DataFrame:
    assert _WORKER_SCORER is not None
    return _WORKER_SCORER(chunk)


def predict_frame(frame: pd.DataFrame, models: Models, batch_size: int = 2000,
                  advance: Callable[[int], None] | None = None, jobs: int = 1) -> pd.DataFrame:
    """The contract table for a loaded frame (columns id, text, ...): one row per input row.

    With `jobs` > 1 (on a system that can fork) chunks are scored by that many worker processes,
    which inherit the loaded models; the output is the same, in the input's order.
    """
    global _WORKER_SCORER
    import multiprocessing

    scorer = _Scorer(models, urgency_hook())
    jobs = max(1, min(jobs, -(-len(frame) // 200)))  # no process for fewer than 200 appeals
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor

        size = max(200, min(batch_size, -(-len(frame) // (4 * jobs))))  # about four chunks per worker
        _WORKER_SCORER = scorer
        try:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                pieces = []
                for scored in pool.map(_score_in_worker, batches(frame, size)):
                    pieces.append(scored)
                    if advance is not None:
                        advance(len(scored))
        finally:
            _WORKER_SCORER = None
    else:
        pieces = []
        for chunk in batches(frame, batch_size):
            pieces.append(scorer(chunk))
            if advance is not None:
                advance(len(chunk))
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=["id"])
