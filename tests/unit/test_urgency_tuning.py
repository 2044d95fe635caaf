"""Blend and threshold are tuned on what gold-trained models say about gold rows they did not learn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import appeals.urgency_train as urgency_train
from appeals.labelmodel import LEVELS
from appeals.urgency_config import load_urgency_config
from appeals.urgency_train import Prepared, gold_oof_proba


class _Recorder:
    """Stands in for a fitted model: its 'probability' of a row is 1 where it learned from that row."""

    def __init__(self, seen: set[str]) -> None:
        self.seen = seen

    def classifier_proba(self, contexts: list[str]) -> np.ndarray:
        return np.array([[float(c in self.seen)] * len(LEVELS) for c in contexts])


def _rows(texts: list[str], labels: list[str]) -> Prepared:
    return Prepared(texts, labels, np.ones(len(texts)), pd.DataFrame({"text": texts}))


@pytest.mark.parametrize("subset", [False, True])
def test_every_row_is_scored_by_a_model_that_did_not_learn_it(monkeypatch: pytest.MonkeyPatch, subset: bool) -> None:
    cfg = load_urgency_config()
    labels = [LEVELS[i % len(LEVELS)] for i in range(40)]
    gold = _rows([f"g{i}" for i in range(40)], labels)
    weak = _rows(["w0", "w1"], ["normal", "low"])
    fits: list[set[str]] = []

    def fake_fit(_cfg, rows: Prepared) -> _Recorder:
        fits.append(set(rows.inputs))
        return _Recorder(set(rows.inputs))

    monkeypatch.setattr(urgency_train, "fit_model", fake_fit)
    rows = np.arange(0, 40, 2) if subset else np.arange(40)
    proba = gold_oof_proba(cfg, weak, gold, gold.inputs, np.array(labels), rows)
    assert proba.shape == (len(rows), len(LEVELS))
    assert not proba.any()  # no row was in the training rows of the model that scored it
    assert len(fits) == cfg.combine.cv_folds - 1
    for seen in fits:  # each model learned the weak rows and the other folds' gold rows of `rows` only
        assert {"w0", "w1"} <= seen
        assert seen - {"w0", "w1"} <= {f"g{i}" for i in rows}
        assert len(seen - {"w0", "w1"}) == len(rows) - len(rows) // (cfg.combine.cv_folds - 1)
