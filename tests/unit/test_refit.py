"""Refitting a chosen candidate on train + validation (appeals.training.refit_on_train_val)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.svm import LinearSVC

from appeals.ensemble import Candidate, Member
from appeals.models import CalibratedModel
from appeals.training import FeatureSet, refit_on_train_val
from appeals.training_data import Parts


def _parts_and_sets() -> tuple[Parts, dict[str, FeatureSet]]:
    rng = np.random.default_rng(0)
    train_x, val_x = rng.normal(size=(40, 5)), rng.normal(size=(20, 5))
    train = pd.DataFrame({"department": np.where(train_x[:, 0] > 0, "a", "b")})
    val = pd.DataFrame({"department": np.where(val_x[:, 1] > 0, "a", "b")})  # a different rule
    val.loc[0, "department"] = None  # unlabelled rows are left out
    parts = Parts("toy", "0" * 64, train, val, val.iloc[:0])
    return parts, {"k": FeatureSet(None, train_x, val_x, val_x[:0])}


def _candidate(parts: Parts, sets: dict[str, FeatureSet], mapping: np.ndarray | None = None) -> Candidate:
    model = CalibratedModel(LinearSVC(C=1.0), temperature=0.5)
    model.fit(sets["k"].train, parts.train["department"].to_numpy())
    member = Member("k", model, 1.0, mapping)
    return Candidate("department", "toy", model.classes_, [member], np.zeros((20, 2)), {"accuracy": 0.5})


def test_refit_uses_train_and_labelled_validation_rows_and_keeps_calibration() -> None:
    parts, sets = _parts_and_sets()
    cand = _candidate(parts, sets)
    before = cand.members[0].model.estimator.coef_.copy()
    refitted = refit_on_train_val(cand, sets, parts)
    model = refitted.members[0].model
    expected = LinearSVC(C=1.0).fit(np.vstack([sets["k"].train, sets["k"].val[1:]]),
                                    pd.concat([parts.train["department"], parts.val["department"][1:]]))
    np.testing.assert_allclose(model.estimator.coef_, expected.coef_, rtol=1e-6)
    np.testing.assert_array_equal(cand.members[0].model.estimator.coef_, before)  # original untouched
    assert model.temperature == 0.5 and list(model.classes_) == list(cand.classes)
    assert refitted.val_metrics == cand.val_metrics and refitted.family == cand.family


@pytest.mark.parametrize("mapping", [np.eye(2)])
def test_members_mapping_another_tasks_classes_are_kept(mapping: np.ndarray) -> None:
    parts, sets = _parts_and_sets()
    cand = _candidate(parts, sets, mapping)
    assert refit_on_train_val(cand, sets, parts).members[0].model is cand.members[0].model


def test_validation_rows_of_a_class_unseen_in_training_are_left_out() -> None:
    """A small dataset's validation part can hold a class the training part lacks; the refitted model
    keeps the candidate's classes (its temperature and confidence map were fitted for them)."""
    parts, sets = _parts_and_sets()
    parts.val.loc[1:3, "department"] = "c"
    cand = _candidate(parts, sets)
    model = refit_on_train_val(cand, sets, parts).members[0].model
    assert list(model.classes_) == ["a", "b"]
    expected = LinearSVC(C=1.0).fit(np.vstack([sets["k"].train, sets["k"].val[4:]]),
                                    pd.concat([parts.train["department"], parts.val["department"][4:]]))
    np.testing.assert_allclose(model.estimator.coef_, expected.coef_, rtol=1e-6)
