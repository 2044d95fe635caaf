"""Candidates made of several fitted models: topic-derived topic groups and blends of families.

Each topic belongs to exactly one topic group, so a topic model also predicts the group:
P(group) = Σ P(topic) over the group's topics. A blend averages the calibrated probabilities of
members that may use different feature sets. Both are scored on validation like any family, so the
selection decides whether direct, derived or combined prediction wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from appeals.model_metrics import classification_metrics


@dataclass
class Member:
    """A fitted calibrated model on one feature set; `mapping` turns its classes into the task's."""

    feature_key: str
    model: Any
    weight: float = 1.0
    mapping: np.ndarray | None = None


@dataclass
class Candidate:
    """One candidate on one task: its members, classes and validation figures."""

    task: str
    family: str
    classes: np.ndarray
    members: list[Member]
    val_proba: np.ndarray
    val_metrics: dict[str, float]
    seconds: float = 0.0
    parts: list[str] = field(default_factory=list)


def member_proba(member: Member, X: Any) -> np.ndarray:
    proba = member.model.predict_proba(X)
    return proba @ member.mapping if member.mapping is not None else proba


def blend_proba(members: list[Member], matrices: list[Any]) -> np.ndarray:
    total = sum(m.weight for m in members)
    probas = [m.weight * member_proba(m, X) for m, X in zip(members, matrices, strict=True)]
    return np.asarray(np.sum(probas, axis=0) / total)


class Blend(ClassifierMixin, BaseEstimator):
    """Weighted mean of member pipelines' probabilities (each maps masked texts to its classes)."""

    def __init__(self, members: list[Any] | None = None, weights: list[float] | None = None,
                 mappings: list[Any] | None = None, classes: Any = None) -> None:
        self.members = members
        self.weights = weights
        self.mappings = mappings
        self.classes = classes

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)

    def fit(self, X: Any, y: Any = None) -> Blend:
        return self  # members are fitted during training; a Blend only combines them

    def __sklearn_is_fitted__(self) -> bool:
        return self.members is not None

    def predict_proba(self, X: Any) -> np.ndarray:
        members, weights, mappings = self.members or [], self.weights or [], self.mappings or []
        out = np.zeros((len(X), len(self.classes)))
        for member, weight, mapping in zip(members, weights, mappings, strict=True):
            proba = member.predict_proba(X)
            out += weight * (proba @ mapping if mapping is not None else proba)
        return out / sum(weights)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def candidate_test_proba(cand: Candidate, sets: dict[str, Any]) -> np.ndarray:
    return blend_proba(cand.members, [sets[m.feature_key].test for m in cand.members])


def candidate_pipeline(cand: Candidate, sets: dict[str, Any]) -> Pipeline:
    """The artifact of a candidate: raw texts in, `predict_proba` and `classes_` out."""
    from appeals.models import assemble, build_preprocess

    if len(cand.members) == 1 and cand.members[0].mapping is None:
        only = cand.members[0]
        return assemble(sets[only.feature_key].union, only.model)
    subs = [Pipeline([("features", sets[m.feature_key].union), ("classifier", m.model)])
            for m in cand.members]
    blend = Blend(subs, [m.weight for m in cand.members], [m.mapping for m in cand.members],
                  list(cand.classes))
    return Pipeline([*build_preprocess(), ("classifier", blend)])


def group_mapping(topic_classes: np.ndarray, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(group classes, 0/1 matrix topics × groups) from the topic → group pairs seen in training."""
    pairs = frame.dropna(subset=["topic", "topic_group"]).drop_duplicates("topic")
    to_group = dict(zip(pairs["topic"], pairs["topic_group"], strict=True))
    groups = np.array(sorted(set(frame["topic_group"].dropna())), dtype=object)
    index = {g: i for i, g in enumerate(groups)}
    matrix = np.zeros((len(topic_classes), len(groups)))
    for row, topic in enumerate(topic_classes):
        if topic in to_group:
            matrix[row, index[to_group[topic]]] = 1.0
    return groups, matrix


def _scored(task: str, family: str, classes: np.ndarray, members: list[Member], proba: np.ndarray,
            y_val: pd.Series) -> Candidate:
    rows = y_val.notna().to_numpy()
    metrics = classification_metrics(y_val[rows].to_numpy(), proba[rows], classes)
    return Candidate(task, family, classes, members, proba, metrics)


def derived_candidates(topics: dict[str, Candidate], groups: dict[str, Candidate], train: pd.DataFrame,
                       y_val: pd.Series, best_of: Any) -> dict[str, Candidate]:
    """Topic-group candidates from the best topic model: derived alone, and blended with the best direct."""
    if not topics:
        return {}
    topic = best_of(topics)
    if len(topic.members) != 1:
        return {}
    classes, mapping = group_mapping(topic.classes, train)
    base = topic.members[0]
    derived = Member(base.feature_key, base.model, 1.0, mapping)
    out = {f"derived<{topic.family}>": _scored("topic_group", f"derived<{topic.family}>", classes,
                                                [derived], topic.val_proba @ mapping, y_val)}
    if groups:
        direct = best_of(groups)
        if list(direct.classes) == list(classes) and len(direct.members) == 1:
            name = f"combined<{direct.family}+{topic.family}>"
            proba = (direct.val_proba + topic.val_proba @ mapping) / 2
            out[name] = _scored("topic_group", name, classes, [direct.members[0], derived], proba, y_val)
    return out


def blend_candidates(task: str, cands: dict[str, Candidate], y_val: pd.Series,
                     best_of: Any) -> dict[str, Candidate]:
    """The two best single-model candidates of a task averaged with equal weights."""
    singles = {n: c for n, c in cands.items() if len(c.members) == 1 and c.members[0].mapping is None}
    if len(singles) < 2:
        return {}
    first = best_of(singles)
    second = best_of({n: c for n, c in singles.items() if n != first.family})
    if list(first.classes) != list(second.classes):
        return {}
    name = f"blend<{first.family}+{second.family}>"
    proba = (first.val_proba + second.val_proba) / 2
    return {name: _scored(task, name, first.classes, [first.members[0], second.members[0]], proba, y_val)}
