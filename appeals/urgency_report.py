"""Reports on the urgency labelling functions and predictions (used by the CLI and `make eval`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from appeals.labelmodel import (
    LEVELS,
    all_labelling_functions,
    combine_votes,
    coverage_total,
    lf_summary,
    vote_matrix,
)
from appeals.urgency_config import UrgencyConfig
from appeals.urgency_train import model_from_config


def votes_of(cfg: UrgencyConfig, frame: pd.DataFrame) -> np.ndarray:
    """The (appeals × functions) vote matrix of a frame with text[, created_at]."""
    model = model_from_config(cfg)
    contexts, _ = model.prepare(frame)
    return vote_matrix(contexts, all_labelling_functions())


def lf_report(cfg: UrgencyConfig, unlabelled: pd.DataFrame, dev: pd.DataFrame) -> pd.DataFrame:
    """Per function: coverage/overlap/conflict on the unlabelled appeals and on dev, accuracy on dev."""
    lfs = all_labelling_functions()
    on_unlabelled = lf_summary(votes_of(cfg, unlabelled), lfs)
    on_dev = lf_summary(votes_of(cfg, dev), lfs, dev["urgency"].tolist())
    report = on_unlabelled[["function", "level", "coverage", "overlap", "conflict"]].copy()
    for column in ("coverage", "conflict", "accuracy"):
        report[f"dev_{column}"] = on_dev[column]
    return report


def weak_label_summary(cfg: UrgencyConfig, frame: pd.DataFrame) -> dict[str, float]:
    """Share of appeals with a weak label and the share of each level among them."""
    lfs = all_labelling_functions()
    votes = votes_of(cfg, frame)
    labels = pd.Series(combine_votes(votes, lfs, cfg.lf_weights)).dropna()
    shares = labels.value_counts(normalize=True)
    return {"covered": coverage_total(votes), **{lvl: float(shares.get(lvl, 0.0)) for lvl in LEVELS}}


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (floats rounded)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = []
    for row in frame.itertuples(index=False):
        cells = [f"{v:.{digits}f}" if isinstance(v, float) and not np.isnan(v) else
                 ("" if isinstance(v, float) else str(v)) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def confusion_table(y: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """Confusion matrix with gold levels as rows and predicted levels as columns."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y, pred, labels=list(LEVELS))
    frame = pd.DataFrame(matrix, columns=[f"→ {lvl}" for lvl in LEVELS])
    frame.insert(0, "gold", list(LEVELS))
    return frame
