"""Quality figures of a classifier: accuracy, F1, calibration error, auto-routing share, reports, plots.

Pure functions of labels and probabilities, shared by training (logged to MLflow) and evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score


def predicted(proba: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, confidences) of the top class of each row."""
    top = np.argmax(proba, axis=1)
    return classes[top], proba[np.arange(len(top)), top]


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: the gap between confidence and accuracy, averaged over equal-width bins."""
    if len(correct) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total / len(correct))


def classification_metrics(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """accuracy, macro_f1, weighted_f1, top3_accuracy and ece of probabilities `proba` against `y`."""
    y = np.asarray(y, dtype=object)
    labels, conf = predicted(proba, classes)
    top3 = classes[np.argsort(-proba, axis=1)[:, :3]]
    return {
        "accuracy": float(accuracy_score(y, labels)),
        "macro_f1": float(f1_score(y, labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y, labels, average="weighted", zero_division=0)),
        "top3_accuracy": float(np.mean([t in row for t, row in zip(y, top3, strict=True)])),
        "ece": expected_calibration_error(labels == y, conf),
        "n": float(len(y)),
    }


def routing_threshold(correct: np.ndarray, confidence: np.ndarray, precision: float = 0.95,
                      min_support: int = 30, z: float = 1.64) -> float:
    """The lowest confidence threshold whose auto-routed share is at least `precision` correct.

    Chosen on validation data and then applied unchanged to test data. The precision counted is the
    Wilson lower bound at `z` (1.64: one-sided 95 %), not the raw share: picking the lowest threshold
    that just reaches 95 % on validation is a lucky pick and came out at 93 % on test. Returns 1.01
    (route nothing) when no threshold qualifies on at least `min_support` appeals.
    """
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    hits = np.cumsum(correct[order])
    counts = np.arange(1, len(order) + 1)
    # A threshold routes every appeal at or above it, so only the last of a run of equal confidences
    # (calibrated confidences come in steps) is a threshold that can be applied.
    boundary = np.r_[ranked[1:] < ranked[:-1], True]
    ok = (wilson_lower(hits, counts, z) >= precision) & (counts >= min_support) & boundary
    if not ok.any():
        return 1.01
    return float(ranked[int(np.flatnonzero(ok)[-1])])


def wilson_lower(hits: np.ndarray, counts: np.ndarray, z: float) -> np.ndarray:
    """Lower end of the Wilson score interval of hits/counts."""
    p = hits / counts
    centre = p + z * z / (2 * counts)
    spread = z * np.sqrt(p * (1 - p) / counts + z * z / (4 * counts * counts))
    return np.asarray((centre - spread) / (1 + z * z / counts))


@dataclass
class RoutingResult:
    threshold: float
    share: float
    precision: float

    def as_metrics(self, prefix: str = "routing") -> dict[str, float]:
        return {f"{prefix}_threshold": self.threshold, f"{prefix}_share": self.share,
                f"{prefix}_precision": self.precision}


def routing_on(correct: np.ndarray, confidence: np.ndarray, threshold: float) -> RoutingResult:
    """Share of appeals at or above `threshold` and the precision among them."""
    sent = confidence >= threshold
    share = float(sent.mean()) if len(sent) else 0.0
    prec = float(correct[sent].mean()) if sent.any() else 0.0
    return RoutingResult(threshold=threshold, share=share, precision=prec)


def per_class_report(y: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, as a table."""
    report = classification_report(y, labels, output_dict=True, zero_division=0)
    rows = {k: v for k, v in report.items() if isinstance(v, dict)}
    return pd.DataFrame(rows).T.rename_axis("class").reset_index()


def plot_confusion(y: np.ndarray, labels: np.ndarray, path: Path, top: int = 30) -> Path:
    """A row-normalised confusion matrix of the `top` most frequent true classes, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = pd.Series(y).value_counts().index[:top].tolist()
    matrix = confusion_matrix(y, labels, labels=names).astype(float)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(6.0, 0.32 * len(names) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    short = [str(n)[:40] for n in names]
    ax.set_xticks(range(len(names)), short, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), short, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
