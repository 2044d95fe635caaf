"""The urgency model: rules and a classifier trained on their weak labels, combined per appeal.

Input is a DataFrame with `text` and optionally `created_at` (or a plain list of texts: date
unknown). For each appeal the model
1. lemmatises the text and runs the labelling functions with the appeal's month (the season matters:
   «нет отопления» is critical in January, not in July);
2. asks the classifier (TF-IDF over tone-neutral, negation-marked lemmas + logistic regression,
   trained on weak labels of ~20k real appeals) for a distribution over the four levels;
3. blends the two: `blend * classifier + (1 - blend) * rule votes` (the classifier alone where no
   rule fires); when a normal/low stage was fitted (character n-grams over appeals that people
   labelled), splits the blend's normal + low share between those two levels by the stage's
   probability; caps out-of-season heating complaints and denied dangers («запаха газа нет»), and
   predicts `critical` whenever its probability reaches `critical_threshold` (tuned for recall),
   otherwise the most probable level. Tone («СРОЧНО!!!») is dropped before both rules and classifier.
An unknown month counts as inside the heating season (training/configs/urgency.toml explains why).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from appeals.labelmodel import LEVELS, all_labelling_functions, build_contexts, vote_distribution, vote_matrix
from appeals.labelmodel import vote_scores as _vote_scores
from appeals.urgency_rules import Context, negated

CRITICAL = 0


def as_frame(X: Any) -> pd.DataFrame:
    """Accept a DataFrame with `text` (and maybe `created_at`), or a sequence of texts."""
    if isinstance(X, pd.DataFrame):
        if "text" not in X.columns:
            raise ValueError(f"urgency input needs a 'text' column; got columns {list(X.columns)}")
        frame = X
    else:
        frame = pd.DataFrame({"text": list(X)})
    if "created_at" not in frame.columns:
        frame = frame.assign(created_at=None)
    return frame


def parse_moment(value: Any) -> datetime | None:
    """A `created_at` value (datetime, Timestamp, ISO string, empty) as a datetime, None if unknown.

    Time zones are kept as given (naive stays naive: the deployment's local time)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def months_of(values: Iterable[Any]) -> list[int | None]:
    """Month of each `created_at` (local to the value as given); None where unknown or unreadable."""
    return [None if (m := parse_moment(v)) is None else m.month for v in values]


def classifier_tokens(ctx: Context, tone_words: frozenset[str]) -> str:
    """What the classifier reads: lemmas with «не» glued, negated nouns marked, tone words dropped."""
    out = []
    for i, tok in enumerate(ctx.tokens):
        if tok in tone_words:
            continue
        out.append(f"не_{tok}" if not tok.startswith(("не_", "ни_")) and negated(ctx, i) else tok)
    return " ".join(out)


def build_classifier(word_ngram_max: int = 2, min_df: int = 2, max_features: int = 200_000, C: float = 2.0,
                     class_weight: str | None = "balanced", max_iter: int = 2000, tol: float = 1e-3) -> Any:
    """TF-IDF (word n-grams over prepared lemma strings) + multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from appeals.char_ngrams import WordTfidf

    vectorizer = WordTfidf(ngram_range=(1, word_ngram_max), min_df=min_df, max_features=max_features,
                           sublinear_tf=True, token_pattern=r"\S+", lowercase=False)
    model = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, tol=tol)
    # the step names make_pipeline gave before WordTfidf, so every urgency model names its steps alike
    return Pipeline([("tfidfvectorizer", vectorizer), ("logisticregression", model)])


class UrgencyModel(ClassifierMixin, BaseEstimator):
    """Rules + weak-label classifier for the four urgency levels (see the module docstring)."""

    def __init__(self, heating_months: Sequence[int] = (1, 2, 3, 4, 5, 9, 10, 11, 12),
                 lf_weights: Mapping[str, float] | None = None, tone_words: Sequence[str] = ("срочно",),
                 classifier_params: Mapping[str, Any] | None = None, blend: float = 0.5,
                 critical_threshold: float = 0.35, off_season_heating_level: str = "normal",
                 mask_ner: bool = False) -> None:
        self.heating_months = heating_months
        self.lf_weights = lf_weights
        self.tone_words = tone_words
        self.classifier_params = classifier_params
        self.blend = blend
        self.critical_threshold = critical_threshold
        self.off_season_heating_level = off_season_heating_level
        self.mask_ner = mask_ner

    # --------------------------------------------------------------------- preparation

    def prepare(self, X: Any) -> tuple[list[Context], np.ndarray]:
        """Contexts and rule vote scores of a batch (reused by tuning, which calls it once)."""
        from appeals.masking import mask_many
        from appeals.text import clean_text

        frame = as_frame(X)
        # Masked first: the fitted vocabulary is stored with the model and must hold no personal data.
        texts = mask_many([clean_text(str(t)) for t in frame["text"]], ner=self.masks_with_ner)
        return self.prepare_masked(texts, frame["created_at"])

    @property
    def masks_with_ner(self) -> bool:
        return bool(getattr(self, "mask_ner", False))  # models saved before the option have no attribute

    def prepare_masked(self, texts: Sequence[str], created_at: Iterable[Any]) -> tuple[list[Context], np.ndarray]:
        """`prepare` for texts already cleaned and masked as `prepare` masks them (`masks_with_ner`)."""
        from appeals.nlp import lemmatize_many

        contexts = build_contexts(list(texts), lemmatize_many(texts), months_of(created_at), self.heating_months)
        lfs = all_labelling_functions()
        scores = _vote_scores(vote_matrix(contexts, lfs), lfs, self._weights())
        return contexts, scores

    def _weights(self) -> Mapping[str, float]:
        return self.lf_weights or {"critical": 3.0, "high": 2.0, "normal": 1.0, "low": 1.0}

    def classifier_input(self, contexts: Sequence[Context]) -> list[str]:
        tone = frozenset(self.tone_words)
        return [classifier_tokens(ctx, tone) for ctx in contexts]

    # --------------------------------------------------------------------- sklearn API

    def fit(self, X: Any, y: Sequence[str], sample_weight: Sequence[float] | None = None) -> UrgencyModel:
        """Train the classifier on texts (+ dates) and their (weak or corrected) levels."""
        contexts, _ = self.prepare(X)
        return self.fit_inputs(self.classifier_input(contexts), y, sample_weight)

    def fit_inputs(self, inputs: Sequence[str], y: Sequence[str],
                   sample_weight: Sequence[float] | np.ndarray | None = None) -> UrgencyModel:
        """Train the classifier on already prepared inputs (`classifier_input`), for repeated fits."""
        unknown = sorted(set(y) - set(LEVELS))
        if unknown:
            raise ValueError(f"urgency labels must be among {LEVELS}; found {unknown}")
        self.classifier_ = build_classifier(**dict(self.classifier_params or {}))
        fit_params = {} if sample_weight is None else {
            "logisticregression__sample_weight": np.asarray(sample_weight, dtype=float)}
        self.classifier_.fit(list(inputs), list(y), **fit_params)
        self.classes_ = np.array(LEVELS)
        return self

    def fit_low_stage(self, texts: Sequence[str], labels: Sequence[str], C: float = 2.0,
                      max_features: int = 200_000, ngram_max: int = 4) -> UrgencyModel:
        """Fit the normal/low stage on cleaned, masked texts (`Context.text`) labelled normal or low.

        The rules and the weak-label classifier read words; whether an appeal asks only for
        information or asks for something to be done shows in its form (questions, «подскажите»,
        «прошу»), which character n-grams catch. Trained on levels people gave, not on weak labels."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        bad = sorted(set(labels) - {"normal", "low"})
        if bad:
            raise ValueError(f"the normal/low stage learns only normal and low; got {bad}")
        from appeals.char_ngrams import CharNgramTfidf

        vectorizer = CharNgramTfidf(ngram_range=(2, ngram_max), min_df=2, sublinear_tf=True,
                                    max_features=max_features)
        stage = make_pipeline(vectorizer, LogisticRegression(C=C, class_weight="balanced", max_iter=3000))
        self.low_stage_ = stage.fit(list(texts), list(labels))
        return self

    def low_share(self, contexts: Sequence[Context]) -> np.ndarray | None:
        """The stage's probability of `low` against `normal` per appeal (None without a stage)."""
        stage = getattr(self, "low_stage_", None)  # models saved before the stage have none
        if stage is None:
            return None
        from appeals.shared_steps import pipeline_proba

        classes = list(stage.classes_)
        return pipeline_proba(stage, [ctx.text for ctx in contexts])[:, classes.index("low")]

    def classifier_proba(self, contexts: Sequence[Context]) -> np.ndarray:
        """Classifier probabilities in LEVELS order (zeros for a level it never saw)."""
        from appeals.shared_steps import pipeline_proba

        raw = pipeline_proba(self.classifier_, self.classifier_input(contexts))
        out = np.zeros((len(contexts), len(LEVELS)))
        for k, label in enumerate(self.classifier_.classes_):
            out[:, LEVELS.index(label)] = raw[:, k]
        return out

    def combine(self, contexts: Sequence[Context], scores: np.ndarray, clf_proba: np.ndarray,
                blend: float | None = None, low: np.ndarray | None = None) -> np.ndarray:
        """Blend classifier and rule distributions, then cap off-season heating complaints.

        `low`: the normal/low stage's `low_share` of these contexts when the caller has it already
        (tuning combines the same rows once per blend); computed here otherwise."""
        blend = self.blend if blend is None else blend
        rules = vote_distribution(scores)
        fired = scores.sum(axis=1) > 0
        proba = np.where(fired[:, None], blend * clf_proba + (1 - blend) * rules, clf_proba)
        low = self.low_share(contexts) if low is None else low
        if low is not None:
            normal_at, low_at = LEVELS.index("normal"), LEVELS.index("low")
            share = proba[:, normal_at] + proba[:, low_at]
            proba[:, normal_at], proba[:, low_at] = share * (1 - low), share * low
        cap = LEVELS.index(self.off_season_heating_level)
        for i in np.flatnonzero(off_season_heating_only(contexts, scores)):
            moved = proba[i, :cap].sum()
            proba[i, :cap] = 0.0
            proba[i, cap] += moved
        for i in np.flatnonzero(negated_danger_only(contexts, scores)):
            # «запаха газа нет»: the words of a danger, denied; its critical share goes to the runner-up.
            runner_up = 1 + int(proba[i, 1:].argmax())
            proba[i, runner_up] += proba[i, CRITICAL]
            proba[i, CRITICAL] = 0.0
        return proba

    def predict_proba(self, X: Any) -> np.ndarray:
        contexts, scores = self.prepare(X)
        return self.combine(contexts, scores, self.classifier_proba(contexts))

    def predict_proba_masked(self, texts: Sequence[str], created_at: Iterable[Any]) -> np.ndarray:
        """`predict_proba` for texts already cleaned and masked (see `prepare_masked`); no table needed."""
        contexts, scores = self.prepare_masked(texts, created_at)
        return self.combine(contexts, scores, self.classifier_proba(contexts))

    def decide(self, proba: np.ndarray, critical_threshold: float | None = None) -> np.ndarray:
        """Level index per appeal: critical at or above the threshold, else the most probable level."""
        threshold = self.critical_threshold if critical_threshold is None else critical_threshold
        best = proba.argmax(axis=1)
        return np.where(proba[:, CRITICAL] >= threshold, CRITICAL, best)

    def predict(self, X: Any) -> np.ndarray:
        return np.array(LEVELS)[self.decide(self.predict_proba(X))]


DANGER_WORDS = frozenset({"газ", "запах", "пахнуть", "дым", "пожар", "возгорание", "задымление", "гореть",
                          "искрить", "утечка", "взрыв", "угроза", "опасность", "авария"})


def negated_danger_only(contexts: Sequence[Context], scores: np.ndarray) -> np.ndarray:
    """Appeals with no critical rule firing whose danger words all appear denied («газом не пахнет»)."""
    flags = np.zeros(len(contexts), dtype=bool)
    for i, ctx in enumerate(contexts):
        if scores[i, CRITICAL] > 0:
            continue
        plain = [j for j, tok in enumerate(ctx.tokens) if tok in DANGER_WORDS]
        glued = [tok for tok in ctx.tokens if tok.startswith("не_") and tok[3:] in DANGER_WORDS]
        flags[i] = (bool(plain) or bool(glued)) and all(negated(ctx, j) for j in plain)
    return flags


def off_season_heating_only(contexts: Sequence[Context], scores: np.ndarray) -> np.ndarray:
    """Appeals out of season whose only danger sign is missing heating (they are capped)."""
    from appeals.urgency_lfs import cr_no_heating

    flags = np.zeros(len(contexts), dtype=bool)
    for i, ctx in enumerate(contexts):
        if ctx.in_heating_season or scores[i, CRITICAL] > 0:
            continue
        flags[i] = cr_no_heating.fires(replace(ctx, in_heating_season=True))
    return flags


# ----------------------------------------------------------------------------- using the model


def load_urgency_model() -> tuple[UrgencyModel, str]:
    """The registered champion `appeals-urgency` and its version (a readable error when none)."""
    from appeals.registry import load_champion

    model, version = load_champion("urgency")
    return model, version


def urgency_proba(model: Any, texts: Sequence[str], created_at: Sequence[Any] | None = None,
                  rule_masked: Sequence[str] | None = None) -> np.ndarray:
    """The urgency model's probabilities for raw texts (+ dates; items may be None).

    `rule_masked`: the same texts already cleaned and rule-masked (`appeals.shared_steps.prepare_texts`),
    reused when the model masks that way, so batch scoring and the service mask each text once.
    """
    dates = list(created_at) if created_at is not None else [None] * len(texts)
    if rule_masked is not None and hasattr(model, "predict_proba_masked") and not model.masks_with_ner:
        return np.asarray(model.predict_proba_masked(list(rule_masked), dates))
    return np.asarray(model.predict_proba(pd.DataFrame({"text": list(texts), "created_at": dates})))


def predict_urgency(model: UrgencyModel, texts: Sequence[str], created_at: Sequence[Any] | None = None,
                    rule_masked: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """(level, probability of that level) per text; `created_at` items may be None (date unknown);
    `rule_masked` as in `urgency_proba`."""
    proba = urgency_proba(model, texts, created_at, rule_masked)
    levels = model.decide(proba)
    return [(LEVELS[k], float(proba[i, k])) for i, k in enumerate(levels)]


def add_urgency_columns(frame: pd.DataFrame, model: UrgencyModel, policy: Any | None = None,
                        rule_masked: Sequence[str] | None = None) -> pd.DataFrame:
    """A copy of `frame` (columns text[, created_at]) with `urgency`, `urgency_proba` and `deadline`.

    `deadline` is an ISO timestamp in the policy's time zone where `created_at` is given and the level
    has a reaction time, else empty. `policy` is an `appeals.deadlines.DeadlinePolicy` (default: the
    one in training/configs/urgency.toml).
    """
    from appeals.deadlines import deadline

    if policy is None:
        from appeals.urgency_config import load_urgency_config

        policy = load_urgency_config().deadline
    created = frame["created_at"] if "created_at" in frame.columns else pd.Series([None] * len(frame))
    results = predict_urgency(model, frame["text"].astype(str).tolist(), created.tolist(), rule_masked)
    out = frame.copy()
    out["urgency"] = [level for level, _ in results]
    out["urgency_proba"] = [round(p, 4) for _, p in results]
    moments = [parse_moment(v) for v in created]
    out["deadline"] = [
        None if moment is None or (due := deadline(moment, level, policy)) is None else due.isoformat()
        for moment, (level, _) in zip(moments, results, strict=True)
    ]
    return out


@lru_cache(maxsize=1)
def _champion() -> UrgencyModel:
    return load_urgency_model()[0]


def score_frame(frame: pd.DataFrame, rule_masked: Sequence[str] | None = None) -> pd.DataFrame:
    """`appeals predict`'s hook: urgency, urgency_proba, deadline of each row (text[, created_at]),
    aligned with `frame`, from the `appeals-urgency` champion (loaded once per process)."""
    columns = [c for c in ("text", "created_at") if c in frame.columns]
    scored = add_urgency_columns(frame[columns].reset_index(drop=True), _champion(), rule_masked=rule_masked)
    return scored[["urgency", "urgency_proba", "deadline"]]
