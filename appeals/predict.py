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
from appeals.shared_steps import SharedPipelines

TEXT_TASKS: tuple[str, ...] = ("topic", "topic_group", "department")
CARRIED: tuple[str, ...] = ("created_at", "district")
Models = dict[str, tuple[Any, str]]


def load_champions(tasks: tuple[str, ...] = TEXT_TASKS) -> Models:
    """{task: (pipeline, version)} for every task's champion (a readable error when one is missing)."""
    from appeals.registry import load_champion

    return {task: load_champion(task) for task in tasks}


def top_k(proba: np.ndarray, classes: np.ndarray, k: int = 3) -> list[str]:
    """Per row, a JSON list of the k best [label, probability] pairs."""
    order = np.argsort(-proba, axis=1)[:, :k]
    return [json.dumps([[str(classes[j]), round(float(row[j]), 4)] for j in idx], ensure_ascii=False)
            for row, idx in zip(proba, order, strict=True)]


def score_texts(models: Models, texts: list[str], shared: SharedPipelines | None = None) -> pd.DataFrame:
    """Label and probability per task (plus the top-3 topics) for raw texts.

    Steps the models have in common (cleaning, masking, equal fitted features) run once per batch
    (appeals.shared_steps, the same mechanism the service uses); pass `shared` to build it once.
    """
    shared = shared or SharedPipelines({task: pipeline for task, (pipeline, _v) in models.items()})
    out: dict[str, Any] = {}
    for task, proba in shared.predict_proba(texts).items():
        classes = np.asarray(models[task][0].classes_, dtype=object)
        labels, conf = predicted(proba, classes)
        out[task] = labels
        out[f"{task}_proba"] = np.round(conf, 4)
        if task == "topic":
            out["topic_top3"] = top_k(proba, classes)
    return pd.DataFrame(out)


def urgency_hook() -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """appeals.urgency's batch scorer, when that module and an urgency champion exist.

    The urgency helper provides `appeals.urgency.score_frame(frame) -> DataFrame` with columns
    urgency, urgency_proba, deadline (aligned with `frame`); without it the columns stay empty.
    """
    try:
        from appeals import urgency  # type: ignore[attr-defined]
    except ImportError:
        return None
    scorer = getattr(urgency, "score_frame", None)
    if scorer is None:
        return None
    from appeals.registry import champion_version

    return scorer if champion_version("urgency") is not None else None


def batches(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


def predict_frame(frame: pd.DataFrame, models: Models, batch_size: int = 2000,
                  advance: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The contract table for a loaded frame (columns id, text, ...): one row per input row."""
    hook = urgency_hook()
    shared = SharedPipelines({task: pipeline for task, (pipeline, _v) in models.items()})
    pieces = []
    for chunk in batches(frame, batch_size):
        scored = score_texts(models, [str(t) for t in chunk["text"]], shared)
        scored.insert(0, "id", chunk["id"].to_numpy())
        extra = hook(chunk.reset_index(drop=True)) if hook is not None else pd.DataFrame()
        for col in ("urgency", "urgency_proba", "deadline"):
            scored[col] = extra[col].to_numpy() if col in extra.columns else None
        for col in CARRIED:
            if col in chunk.columns and chunk[col].notna().any():
                scored[col] = chunk[col].to_numpy()
        pieces.append(scored)
        if advance is not None:
            advance(len(chunk))
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=["id"])
