"""Combining the urgency labelling functions into training labels, and reporting on them.

The combination is a documented weighted vote, not a learned generative model: each function that
fires adds its weight (training/configs/urgency.toml, `[lf_weights]`) to its level; the label is the
level with the largest sum (danger signs weigh more, so the rubric's «several problems: the most
urgent one» holds), an exact tie going to the less urgent level (the rubric's «choose the higher one
only if the text states the danger»). Where no function fires the appeal gets no weak label and is left out of
the classifier's training set. The normalised sums serve as soft labels (`vote_distribution`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from appeals.schema import URGENCY_LEVELS
from appeals.urgency_rules import Context, LabellingFunction, make_context

LEVELS: tuple[str, ...] = URGENCY_LEVELS  # most urgent first
NO_VOTE = -1


def all_labelling_functions() -> tuple[LabellingFunction, ...]:
    """Every labelling function, critical first (the order of reports)."""
    from appeals import urgency_lfs, urgency_lfs_routine

    found: list[LabellingFunction] = []
    for module in (urgency_lfs, urgency_lfs_routine):
        found += [v for v in vars(module).values() if isinstance(v, LabellingFunction)]
    return tuple(sorted(found, key=lambda f: LEVELS.index(f.level)))


def build_contexts(texts: Sequence[str], lemmas: Sequence[str], months: Sequence[int | None],
                   heating_months: Iterable[int]) -> list[Context]:
    """One `Context` per appeal (texts, their lemma strings and months, aligned)."""
    heating = tuple(heating_months)
    return [make_context(t, lem, m, heating) for t, lem, m in zip(texts, lemmas, months, strict=True)]


def vote_matrix(contexts: Sequence[Context], lfs: Sequence[LabellingFunction]) -> np.ndarray:
    """(appeals × functions) matrix of level indexes, NO_VOTE where a function abstains."""
    votes = np.full((len(contexts), len(lfs)), NO_VOTE, dtype=np.int8)
    levels = [LEVELS.index(func.level) for func in lfs]
    # Appeal by appeal, so the appeal's token set (built once, cached) serves every function.
    for i, ctx in enumerate(contexts):
        for j, func in enumerate(lfs):
            if func.fires(ctx):
                votes[i, j] = levels[j]
    return votes


def _weights(lfs: Sequence[LabellingFunction], weights: Mapping[str, float]) -> np.ndarray:
    missing = [f.name for f in lfs if f.name not in weights and f.level not in weights]
    if missing:
        raise ValueError(f"urgency config [lf_weights]: no weight for {missing}; add them or a per-level "
                         f"default (critical = 3.0, …)")
    return np.array([weights.get(f.name, weights.get(f.level, 0.0)) for f in lfs], dtype=float)


def vote_scores(votes: np.ndarray, lfs: Sequence[LabellingFunction], weights: Mapping[str, float]) -> np.ndarray:
    """(appeals × levels) sums of the weights of the functions voting for each level."""
    w = _weights(lfs, weights)
    scores = np.zeros((votes.shape[0], len(LEVELS)))
    for k in range(len(LEVELS)):
        scores[:, k] = ((votes == k) * w).sum(axis=1)
    return scores


def combine_votes(votes: np.ndarray, lfs: Sequence[LabellingFunction],
                  weights: Mapping[str, float]) -> list[str | None]:
    """The weak label of each appeal (None where every function abstained)."""
    scores = vote_scores(votes, lfs, weights)
    # The rubric: «when two levels fit, choose the higher one only if the text states the danger or the
    # ongoing failure; otherwise the lower». A danger function's weight already states it, so an exact
    # tie goes to the less urgent level (argmax over the reversed columns takes the last maximum).
    best = len(LEVELS) - 1 - scores[:, ::-1].argmax(axis=1)
    return [LEVELS[b] if scores[i].sum() > 0 else None for i, b in enumerate(best)]


def vote_distribution(scores: np.ndarray) -> np.ndarray:
    """Scores normalised per appeal into a distribution over levels (zeros where nothing fired)."""
    total = scores.sum(axis=1, keepdims=True)
    return np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)


def lf_summary(votes: np.ndarray, lfs: Sequence[LabellingFunction],
               gold: Sequence[str] | None = None) -> pd.DataFrame:
    """Coverage, overlap and conflict of each function; with gold labels also its accuracy where it fires.

    overlap: share of appeals where this function and at least one other fire;
    conflict: share where another function votes for a different level.
    """
    fired = votes != NO_VOTE
    rows = []
    for j, func in enumerate(lfs):
        mine = fired[:, j]
        others = np.delete(fired, j, axis=1)
        other_votes = np.delete(votes, j, axis=1)
        disagree = (others & (other_votes != votes[:, [j]])).any(axis=1)
        row = {"function": func.name, "level": func.level, "fires": int(mine.sum()),
               "coverage": float(mine.mean()) if len(mine) else 0.0,
               "overlap": float((mine & others.any(axis=1)).mean()) if len(mine) else 0.0,
               "conflict": float((mine & disagree).mean()) if len(mine) else 0.0}
        if gold is not None:
            hits = np.asarray(gold, dtype=object)[mine]
            row["accuracy"] = float((hits == func.level).mean()) if len(hits) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def coverage_total(votes: np.ndarray) -> float:
    """Share of appeals on which at least one function votes."""
    return float((votes != NO_VOTE).any(axis=1).mean()) if len(votes) else 0.0
