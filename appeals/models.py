"""Model families: feature sets and classifiers built from config, calibration, and the assembled pipeline.

A family is data (`FamilySpec` in the training config): which features (TF-IDF on words or lemmas,
character n-grams, places, navec vectors) and which linear classifier. Families that share a feature
set share one fitted vectoriser during training (`feature_key`), so comparing many candidates costs
one vectorisation. Probabilities are calibrated by temperature scaling on the validation part.
"""

from __future__ import annotations

import json
import weakref
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from appeals.char_ngrams import CharNgramTfidf, WordTfidf
from appeals.features import (
    CleanTransformer,
    LemmaTransformer,
    MaskTransformer,
    NavecTransformer,
    PlaceTransformer,
    TransferTransformer,
)


class WordSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    lemmas: bool = False
    ngram_max: int = 2
    min_df: int = 2
    max_features: int | None = 60_000
    weight: float = 1.0


class CharSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    ngram_min: int = 2
    ngram_max: int = 5
    min_df: int = 3
    max_features: int | None = 80_000
    weight: float = 1.0


class FamilySpec(BaseModel):
    """One candidate family: features plus classifier; `tasks` limits where it is tried."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    word: WordSpec = WordSpec()
    char: CharSpec = CharSpec()
    places_weight: float = 0.0
    navec_weight: float = 0.0
    # Another config's model as features (appeals.features.TransferTransformer): its `transfer_task`
    # probabilities, weighted `transfer_weight` (0: off).
    transfer_weight: float = 0.0
    transfer_source: str = "perm"
    transfer_task: str = "topic_group"
    classifier: Literal["svm", "logreg", "sgd", "cnb"] = "svm"
    C: float = 0.3
    alpha: float = 1e-5
    class_weight: Literal["none", "balanced"] = "none"
    max_weights: int = 2_000_000
    tasks: list[str] | None = None

    def feature_key(self) -> str:
        """Identical for families whose feature sets are identical (they share one fitted union)."""
        return json.dumps(self.model_dump(include={"word", "char", "places_weight", "navec_weight", "transfer_weight",
                                                    "transfer_source", "transfer_task"}),
                          sort_keys=True)


def build_preprocess() -> list[tuple[str, Any]]:
    """The first steps of every fitted model: the project's own cleaning and masking."""
    return [("clean", CleanTransformer()), ("mask", MaskTransformer())]


def build_features(spec: FamilySpec) -> FeatureUnion:
    """The feature union of a family (input: cleaned and masked texts)."""
    parts: list[tuple[str, Any]] = []
    weights: dict[str, float] = {}
    if spec.word.enabled:
        word = WordTfidf(ngram_range=(1, spec.word.ngram_max), min_df=spec.word.min_df,
                         max_features=spec.word.max_features, sublinear_tf=True, dtype=np.float32)
        steps = [("lemma", LemmaTransformer()), ("tfidf", word)] if spec.word.lemmas else [("tfidf", word)]
        parts.append(("word", Pipeline(steps)))
        weights["word"] = spec.word.weight
    if spec.char.enabled:
        char = CharNgramTfidf(ngram_range=(spec.char.ngram_min, spec.char.ngram_max), min_df=spec.char.min_df,
                              max_features=spec.char.max_features, sublinear_tf=True, dtype=np.float32)
        parts.append(("char", char))
        weights["char"] = spec.char.weight
    if spec.places_weight > 0:
        places = CountVectorizer(token_pattern=r"\S+", lowercase=False, binary=True, dtype=np.float32)
        parts.append(("places", Pipeline([("extract", PlaceTransformer()), ("onehot", places)])))
        weights["places"] = spec.places_weight
    if spec.navec_weight > 0:
        parts.append(("navec", NavecTransformer()))
        weights["navec"] = spec.navec_weight
    if spec.transfer_weight > 0:
        parts.append(("transfer", TransferTransformer(spec.transfer_source, spec.transfer_task)))
        weights["transfer"] = spec.transfer_weight
    if not parts:
        raise ValueError("a model family needs at least one feature set (word, char, places or navec)")
    return FeatureUnion(parts, transformer_weights=weights)


def compact_features(union: FeatureUnion) -> FeatureUnion:
    """Store fitted vocabularies with Python ints (numpy scalars make the artifact larger and slower)."""
    for _, part in union.transformer_list:
        steps = part.steps if isinstance(part, Pipeline) else [("", part)]
        for _, step in steps:
            vocab = getattr(step, "vocabulary_", None)
            if isinstance(vocab, dict):
                step.vocabulary_ = {term: int(index) for term, index in vocab.items()}
    return union


def build_classifier(spec: FamilySpec, seed: int = 42) -> Any:
    """The (uncalibrated) classifier of a family."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    weight = None if spec.class_weight == "none" else "balanced"
    if spec.classifier == "svm":
        return LinearSVC(C=spec.C, class_weight=weight, random_state=seed)
    if spec.classifier == "logreg":
        return LogisticRegression(C=spec.C, class_weight=weight, max_iter=300, random_state=seed)
    if spec.classifier == "sgd":
        return SGDClassifier(loss="modified_huber", alpha=spec.alpha, class_weight=weight,
                             random_state=seed, n_jobs=2)
    return ComplementNB(alpha=spec.alpha)


def prune_weights(estimator: Any, max_weights: int) -> Any:
    """Keep the `max_weights` largest |weights| of a linear model (spread evenly over classes), stored
    as a sparse float32 matrix: a 195-class model over 140k features is 220 MB dense, about 15 MB
    pruned, and its predictions barely move (the dropped weights are the smallest)."""
    from scipy import sparse

    coef = getattr(estimator, "coef_", None)
    if coef is None or sparse.issparse(coef) or coef.size <= max_weights:
        return estimator
    per_row = max(1, max_weights // coef.shape[0])
    keep = np.argpartition(-np.abs(coef), per_row - 1, axis=1)[:, :per_row]
    rows = np.repeat(np.arange(coef.shape[0]), per_row)
    values = coef[rows, keep.ravel()].astype(np.float32)
    # CSC, so that the coef_.T used by decision_function is CSR: no conversion on every call
    estimator.coef_ = sparse.csc_matrix((values, (rows, keep.ravel())), shape=coef.shape)
    return estimator


# Pruned weights (`prune_weights`) of models with few classes are multiplied as a dense array: a
# sparse x sparse product spends its time on the bookkeeping of rows that hold a weight for almost
# every class (department, 10 classes: 49 -> 9 ms for 1,362 appeals; the same sums in the same order).
# Kept per estimator while it lives, never pickled with it; a topic model's 195 classes would take 100 MB.
DENSE_COEF_BYTES = 32 * 2**20
_DENSE_COEF: weakref.WeakKeyDictionary[Any, tuple[Any, np.ndarray]] = weakref.WeakKeyDictionary()


def _coef_t(estimator: Any, X: Any) -> Any:
    coef = estimator.coef_
    if coef.ndim != 2:
        return coef
    if not (hasattr(coef, "toarray") and coef.dtype == X.dtype and coef.size and
            coef.shape[0] * coef.shape[1] * coef.dtype.itemsize <= DENSE_COEF_BYTES):
        return coef.T
    cached = _DENSE_COEF.get(estimator)
    if cached is None or cached[0] is not coef:  # refitted since: computed again
        cached = _DENSE_COEF[estimator] = (coef, np.ascontiguousarray(coef.T.toarray()))
    return cached[1]


def linear_scores(estimator: Any, X: Any) -> np.ndarray:
    """`estimator.decision_function(X)` of a fitted linear classifier; for a CSR matrix of floats of the fitted
    width the same product without scikit-learn's input checks (about 0.25 ms a call here, as much as the
    product for one appeal)."""
    from scipy import sparse
    from sklearn.linear_model._base import LinearClassifierMixin
    from sklearn.utils.extmath import safe_sparse_dot

    if not (isinstance(estimator, LinearClassifierMixin) and sparse.issparse(X) and X.format == "csr"
            and X.dtype in (np.float32, np.float64) and X.shape[0]
            and X.shape[1] == getattr(estimator, "n_features_in_", -1)):
        return estimator.decision_function(X)  # type: ignore[no-any-return]
    scores = safe_sparse_dot(X, _coef_t(estimator, X), dense_output=True) + estimator.intercept_
    return scores.reshape(-1) if scores.ndim > 1 and scores.shape[1] == 1 else scores  # type: ignore[no-any-return]


def raw_scores(estimator: Any, X: Any) -> np.ndarray:
    """Per-class scores (decision function, or log-probabilities), shape (n, n_classes)."""
    if hasattr(estimator, "decision_function") and not hasattr(estimator, "feature_log_prob_"):
        scores = np.asarray(linear_scores(estimator, X), dtype=np.float64)
    else:
        scores = np.log(np.clip(estimator.predict_proba(X), 1e-12, None))
    if scores.ndim == 1:  # binary: one margin for the positive class
        scores = np.column_stack([-scores / 2, scores / 2])
    return scores


class CalibratedModel(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose scores become probabilities by softmax(scores / temperature).

    The temperature is fitted on held-out data (the validation part) by minimising log-loss, so the
    probabilities are honest where the service compares them with routing thresholds.
    """

    def __init__(self, estimator: Any = None, temperature: float = 1.0, max_weights: int = 0) -> None:
        self.estimator = estimator
        self.temperature = temperature
        self.max_weights = max_weights

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def fit(self, X: Any, y: Any) -> CalibratedModel:
        self.estimator.fit(X, y)
        if self.max_weights:
            prune_weights(self.estimator, self.max_weights)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self.estimator, "classes_")

    def calibrate(self, X: Any, y: Any) -> CalibratedModel:
        """Choose the temperature that minimises log-loss of `y` (labels unseen in training: skipped)."""
        self.temperature = fit_temperature(raw_scores(self.estimator, X), np.asarray(y), self.classes_)
        return self

    def scores(self, X: Any) -> np.ndarray:
        return raw_scores(self.estimator, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return softmax(self.scores(X) / self.temperature, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.scores(X), axis=1)]


def fit_temperature(scores: np.ndarray, y: np.ndarray, classes: np.ndarray) -> float:
    """The temperature in [0.01, 100] minimising the mean negative log-likelihood of `y`."""
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([label in index for label in y])
    if not known.any():
        return 1.0
    rows = scores[known]
    cols = np.array([index[label] for label in y[known]])

    def nll(log_t: float) -> float:
        logp = log_softmax(rows / np.exp(log_t), axis=1)
        return float(-logp[np.arange(len(cols)), cols].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


def assemble(features: Any, classifier: Any) -> Pipeline:
    """The artifact: raw texts → clean → mask → fitted features → fitted calibrated classifier."""
    return Pipeline([*build_preprocess(), ("features", features), ("classifier", classifier)])


def fit_confidence_map(correct: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic map from top-label confidence to observed accuracy (fitted on validation data)."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(confidence, correct.astype(float))
    return np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float)


def apply_confidence_map(proba: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Replace each row's top probability by its mapped value and rescale the rest to sum to one.

    The top class stays on top, so labels never change; only how sure the model says it is.
    """
    rows = np.arange(len(proba))
    top = np.argmax(proba, axis=1)
    conf = proba[rows, top]
    rest = np.where(np.arange(proba.shape[1]) == top[:, None], 0.0, proba)
    second = rest.max(axis=1) if proba.shape[1] > 1 else np.zeros(len(proba))
    floor = second / np.maximum(1.0 - conf + second, 1e-12)
    new = np.minimum(np.maximum(np.interp(conf, xs, ys), floor + 1e-9), 1.0)
    scale = (1.0 - new) / np.maximum(1.0 - conf, 1e-12)
    out = rest * scale[:, None]
    out[rows, top] = new
    return out


class TopLabelCalibrated(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose top-label confidence is mapped to validation accuracy (isotonic).

    Temperature scaling alone left the 195-topic SVM under-confident by about 0.15 (ECE); the map
    makes "0.9" mean "right nine times in ten" on held-out data, which routing thresholds rely on.
    """

    def __init__(self, estimator: Any = None, xs: Any = None, ys: Any = None) -> None:
        self.estimator = estimator
        self.xs = xs
        self.ys = ys

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_, dtype=object)

    def fit(self, X: Any, y: Any = None) -> TopLabelCalibrated:
        return self  # fitted during training from validation probabilities

    def __sklearn_is_fitted__(self) -> bool:
        return self.xs is not None

    def predict_proba(self, X: Any) -> np.ndarray:
        return apply_confidence_map(self.estimator.predict_proba(X), self.xs, self.ys)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
