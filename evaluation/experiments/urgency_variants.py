"""Urgency variants tried against the shipped combination, by the same 5-fold CV on dev.csv.

Run: `python -m evaluation.experiments.urgency_variants` (about 3 minutes on 2 cores). Each variant is
tuned inside the folds on the weak-only classifier's view of them, as `appeals.urgency_train.cross_validate`
tuned blend and threshold until it moved to out-of-fold gold-trained models (`gold_oof_proba`):
- `prior weights`: per-level multipliers for `low` and `high` chosen with blend and threshold;
- `gold weight 15`: dev rows weigh 15 instead of 5 in the classifier's training;
- `stacked LR`: a logistic regression over the classifier's and the rules' distributions (and, in the
  second variant, simple text statistics) trained on the four gold folds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold

from appeals.labelmodel import LEVELS, vote_distribution
from appeals.urgency_config import load_urgency_config
from appeals.urgency_data import CORRECTION_WEIGHT, load_dev
from appeals.urgency_train import _objective, _subset, fit_model, prepare_rows, prepare_training

QUESTION = re.compile(r"(?i)\b(подскажите|когда|где|как|почему|зачем|сколько)\b")


def _summary(name: str, y: np.ndarray, pred: np.ndarray) -> str:
    return (f"{name}: macro-F1 {f1_score(y, pred, labels=list(LEVELS), average='macro'):.3f}, critical recall "
            f"{recall_score(y == 'critical', pred == 'critical'):.2f}, precision "
            f"{precision_score(y == 'critical', pred == 'critical'):.2f}")


def main(data_dir: Path) -> None:
    cfg = load_urgency_config()
    dev = load_dev(data_dir, cfg)
    weak = prepare_training(cfg, data_dir, dev)
    base = fit_model(cfg, weak)
    contexts, scores = base.prepare(dev)
    y = dev["urgency"].to_numpy()
    levels = np.array(LEVELS)
    base_proba = base.classifier_proba(contexts)
    folds = list(StratifiedKFold(n_splits=cfg.combine.cv_folds, shuffle=True,
                                 random_state=cfg.data.seed).split(dev, y))

    def weighted(p: np.ndarray, w_low: float, w_high: float) -> np.ndarray:
        q = p * np.array([1.0, w_high, 1.0, w_low])
        return q / q.sum(axis=1, keepdims=True)

    def tuned(gold_weight: float, grid: list[tuple[float, float]], name: str) -> None:
        gold = prepare_rows(base, dev, gold_weight)
        pred = np.empty(len(dev), dtype=object)
        for train, test in folds:
            best = None
            for blend in cfg.combine.blend_grid:
                p = base.combine([contexts[i] for i in train], scores[train], base_proba[train], blend=blend)
                for w_low, w_high in grid:
                    q = weighted(p, w_low, w_high)
                    for threshold in cfg.combine.threshold_grid:
                        value = _objective(y[train], levels[base.decide(q, threshold)], cfg.combine)
                        if best is None or value > best[0]:
                            best = (value, blend, w_low, w_high, threshold)
            assert best is not None
            _, blend, w_low, w_high, threshold = best
            model = fit_model(cfg, weak.plus(_subset(gold, train)))
            ctx = [contexts[i] for i in test]
            p = weighted(model.combine(ctx, scores[test], model.classifier_proba(ctx), blend=blend), w_low, w_high)
            pred[test] = levels[model.decide(p, threshold)]
        print(_summary(name, y, pred.astype(str)), flush=True)

    grid = [(lo, hi) for lo in (0.8, 1.0, 1.25, 1.5, 2.0) for hi in (0.8, 1.0, 1.25, 1.5)]
    tuned(CORRECTION_WEIGHT, [(1.0, 1.0)], "shipped combination")
    tuned(CORRECTION_WEIGHT, grid, "prior weights")
    tuned(15.0, [(1.0, 1.0)], "gold weight 15")
    tuned(15.0, grid, "gold weight 15 + prior weights")

    texts = dev["text"].astype(str).tolist()
    stats = np.array([[np.log1p(len(t.split())), "?" in t, "!" in t, len(t.split()) < 12, bool(QUESTION.search(t))]
                      for t in texts], dtype=float)
    rules = vote_distribution(scores)
    fired = (scores.sum(axis=1) > 0)[:, None].astype(float)
    gold = prepare_rows(base, dev, CORRECTION_WEIGHT)
    for with_stats in (False, True):
        pred = np.empty(len(dev), dtype=object)
        for train, test in folds:
            model = fit_model(cfg, weak.plus(_subset(gold, train)))

            def features(idx: np.ndarray, clf: np.ndarray, with_stats: bool = with_stats) -> np.ndarray:
                parts = [np.log(clf + 1e-3), rules[idx], fired[idx]]
                return np.hstack([*parts, stats[idx]] if with_stats else parts)

            stack = LogisticRegression(C=3.0, max_iter=2000, class_weight="balanced")
            stack.fit(features(train, base.classifier_proba([contexts[i] for i in train])), y[train])
            p = stack.predict_proba(features(test, model.classifier_proba([contexts[i] for i in test])))
            p = p[:, [list(stack.classes_).index(level) for level in LEVELS]]
            pred[test] = levels[np.where(p[:, 0] >= 0.3, 0, p.argmax(axis=1))]
        print(_summary("stacked LR" + (" + text statistics" if with_stats else ""), y, pred.astype(str)), flush=True)


if __name__ == "__main__":
    main(Path(os.environ.get("APPEALS_DATA_DIR", "../shared/data")))
