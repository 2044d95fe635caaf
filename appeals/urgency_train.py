"""Training and honest evaluation of the urgency model.

- `prepare_training`: weak labels on the unlabelled real appeals (dev texts removed), prepared once
  (with `data.annotations_in_training`, the project's annotated appeals replace their weak labels);
- `fit_model`: the classifier on weak labels (+ gold rows, e.g. corrections or dev folds, weighted);
- `tune`: the blend weight and the critical threshold on labelled rows (grid from the config), read
  through `gold_oof_proba`: what a model that learned from the other gold rows says about each row;
- `cross_validate`: 5-fold CV on dev.csv; in each fold everything tuned or trained on gold uses the
  other four folds only, and the held-out fold is scored (its predictions are collected);
- `train_final`: the model shipped (weak labels + all of dev.csv, params tuned on all of dev.csv).

Blend and threshold are applied to a model trained with gold rows, which is surer of itself on
texts like them than the weak-only classifier; tuning them on the weak-only classifier's view set
the critical threshold for the wrong model (macro-F1 0.657, critical precision 0.68 against 0.681
and 0.71 with out-of-fold gold models, evaluation/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import StratifiedKFold

from appeals.labelmodel import LEVELS
from appeals.text import normalize_for_dedup
from appeals.urgency import UrgencyModel
from appeals.urgency_config import CombineConfig, UrgencyConfig
from appeals.urgency_data import (
    CORRECTION_WEIGHT,
    annotations_path,
    load_annotations,
    load_dev,
    load_unlabelled,
    merge_corrections,
    weak_votes,
)


def model_from_config(cfg: UrgencyConfig) -> UrgencyModel:
    """An unfitted UrgencyModel with every setting from the config."""
    return UrgencyModel(heating_months=tuple(cfg.season.heating_months), lf_weights=dict(cfg.lf_weights),
                        tone_words=tuple(cfg.classifier.tone_words),
                        classifier_params=cfg.classifier.model_dump(exclude={"tone_words", "mask_ner"}),
                        blend=cfg.combine.blend, critical_threshold=cfg.combine.critical_threshold,
                        off_season_heating_level=cfg.combine.off_season_heating_level,
                        mask_ner=cfg.classifier.mask_ner)


@dataclass
class Prepared:
    """Rows ready for the classifier: its input strings, labels and sample weights.

    `person`: the level was given by a person (dev.csv, annotations, corrections), not by the rules;
    `masked`: the cleaned, masked text of each such row (what the normal/low stage reads). A row of
    weight 0 serves the normal/low stage only."""

    inputs: list[str]
    labels: list[str]
    weights: np.ndarray
    frame: pd.DataFrame = field(repr=False)
    votes: np.ndarray | None = field(default=None, repr=False)
    masked: list[str] | None = field(default=None, repr=False)
    person: np.ndarray | None = field(default=None, repr=False)

    def masked_texts(self) -> list[str]:
        return self.masked if self.masked is not None else [""] * len(self.labels)

    def by_person(self) -> np.ndarray:
        return self.person if self.person is not None else np.zeros(len(self.labels), dtype=bool)

    def weak_labels(self) -> list[str]:
        """The levels the rules gave (rows no person labelled)."""
        return [label for label, person in zip(self.labels, self.by_person(), strict=True) if not person]

    def weak_count(self) -> int:
        return len(self.labels) - int(self.by_person().sum())

    def plus(self, other: Prepared) -> Prepared:
        return Prepared(self.inputs + other.inputs, self.labels + other.labels,
                        np.concatenate([self.weights, other.weights]),
                        pd.concat([self.frame, other.frame], ignore_index=True),
                        masked=self.masked_texts() + other.masked_texts(),
                        person=np.concatenate([self.by_person(), other.by_person()]))


def prepare_rows(model: UrgencyModel, frame: pd.DataFrame, weight: float) -> Prepared:
    """Rows whose level a person gave (gold, annotations, corrections)."""
    contexts, _ = model.prepare(frame)
    return Prepared(model.classifier_input(contexts), frame["urgency"].tolist(),
                    np.full(len(frame), weight), frame.reset_index(drop=True),
                    masked=[ctx.text for ctx in contexts], person=np.ones(len(frame), dtype=bool))


def prepare_training(cfg: UrgencyConfig, data_dir: Path | None, dev: pd.DataFrame) -> Prepared:
    """Weak-labelled unlabelled appeals, with every dev text removed first.

    The vote matrix over all unlabelled appeals (labelled or not) is kept in `votes` for reports."""
    model = model_from_config(cfg)
    frame = load_unlabelled(data_dir, cfg, exclude=dev["text"].tolist())
    contexts, votes, labels = weak_votes(frame, model)
    keep = [i for i, label in enumerate(labels) if label is not None]
    inputs = model.classifier_input([contexts[i] for i in keep])
    weak = frame.iloc[keep].assign(urgency=[labels[i] for i in keep], weight=1.0, origin="weak")
    rows = Prepared(inputs, weak["urgency"].tolist(), np.ones(len(keep)), weak.reset_index(drop=True),
                    votes=votes)
    if cfg.data.annotations and (cfg.data.annotations_in_training or cfg.low_stage.enabled):
        annotated = prepare_annotated(cfg, data_dir, dev)
        if cfg.data.annotations_in_training:
            # A person's level replaces the rules' vote on the same text.
            rows = without_texts(rows, annotated.frame["text"].tolist())
        rows = rows.plus(annotated)
        rows.votes = votes
    return rows


def prepare_annotated(cfg: UrgencyConfig, data_dir: Path | None, dev: pd.DataFrame) -> Prepared:
    """The project's annotated real appeals (data.annotations, dev texts removed) as rows weighted
    `data.annotation_weight` for the classifier, or 0 (the normal/low stage only) unless
    `data.annotations_in_training`."""
    annotated = load_annotations(data_dir, cfg, exclude=dev["text"].tolist()).assign(origin="annotated")
    rows = prepare_rows(model_from_config(cfg), annotated, cfg.data.annotation_weight)
    if not cfg.data.annotations_in_training:
        rows.weights = np.zeros(len(rows.labels))
    return rows


def fit_model(cfg: UrgencyConfig, rows: Prepared) -> UrgencyModel:
    """The classifier on the rows of positive weight; with `low_stage.enabled`, the normal/low stage
    on every row whose level (normal or low) a person gave."""
    model = model_from_config(cfg)
    main = np.flatnonzero(rows.weights > 0)
    model.fit_inputs([rows.inputs[i] for i in main], [rows.labels[i] for i in main], rows.weights[main])
    if cfg.low_stage.enabled:
        labels = np.asarray(rows.labels)
        stage = np.flatnonzero(rows.by_person() & np.isin(labels, ["normal", "low"]))
        texts = rows.masked_texts()
        if len(stage) >= cfg.low_stage.min_rows and len(set(labels[stage])) == 2:
            model.fit_low_stage([texts[i] for i in stage], labels[stage].tolist(), C=cfg.low_stage.C,
                                max_features=cfg.low_stage.max_features, ngram_max=cfg.low_stage.ngram_max)
    return model


def _objective(y: np.ndarray, pred: np.ndarray, combine: CombineConfig) -> tuple[bool, bool, float]:
    """Compared as a tuple: critical recall floor met first (a missed emergency costs most), then the
    precision floor, then macro-F1; below the recall floor, recall itself is what is maximised."""
    from sklearn.metrics import precision_score

    macro = f1_score(y, pred, labels=list(LEVELS), average="macro", zero_division=0)
    recall = recall_score(y == "critical", pred == "critical", zero_division=0)
    precision = precision_score(y == "critical", pred == "critical", zero_division=0)
    recall_ok = bool(recall >= combine.critical_recall_floor)
    return recall_ok, bool(precision >= combine.critical_precision_floor), float(macro if recall_ok else recall)


def tune(model: UrgencyModel, contexts: list, scores: np.ndarray, clf_proba: np.ndarray, y: np.ndarray,
         combine: CombineConfig) -> tuple[float, float]:
    """(blend, critical_threshold) best on these rows by `_objective` (grids from the config)."""
    best: tuple[tuple[bool, bool, float], float, float] | None = None
    levels = np.array(LEVELS)
    low = model.low_share(contexts)  # the same for every blend
    for blend in combine.blend_grid:
        proba = model.combine(contexts, scores, clf_proba, blend=blend, low=low)
        for threshold in combine.threshold_grid:
            value = _objective(y, levels[model.decide(proba, threshold)], combine)
            if best is None or value > best[0]:
                best = (value, blend, threshold)
    assert best is not None, "the blend and threshold grids in the urgency config are empty"
    return best[1], best[2]


def gold_oof_proba(cfg: UrgencyConfig, weak: Prepared, gold: Prepared, contexts: list, y: np.ndarray,
                   rows: np.ndarray) -> np.ndarray:
    """Classifier probabilities for gold `rows`, each from a model trained on the weak rows plus the
    gold rows of the other folds of `rows` (cv_folds - 1 folds, stratified): the model the tuned
    parameters will be applied to, seen on rows it did not learn from."""
    out = np.zeros((len(rows), len(LEVELS)))
    inner = StratifiedKFold(n_splits=max(cfg.combine.cv_folds - 1, 2), shuffle=True, random_state=cfg.data.seed)
    for fit_at, held_at in inner.split(rows, y[rows]):
        model = fit_model(cfg, weak.plus(_subset(gold, rows[fit_at])))
        out[held_at] = model.classifier_proba([contexts[i] for i in rows[held_at]])
    return out


@dataclass
class CVResult:
    """Out-of-fold predictions on dev.csv and the parameters chosen in each fold."""

    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray
    folds: list[dict[str, Any]]
    weak_rows: int


def cross_validate(cfg: UrgencyConfig, data_dir: Path | None, gold_in_training: bool = True,
                   weak: Prepared | None = None) -> CVResult:
    """5-fold CV on dev.csv: train (weak + 4 gold folds) and tune on 4 folds, predict the 5th."""
    dev = load_dev(data_dir, cfg)
    weak = weak if weak is not None else prepare_training(cfg, data_dir, dev)
    base = fit_model(cfg, weak)
    contexts, scores = base.prepare(dev)
    gold = prepare_rows(base, dev, CORRECTION_WEIGHT)
    y = dev["urgency"].to_numpy()
    pred = np.empty(len(dev), dtype=object)
    proba = np.zeros((len(dev), len(LEVELS)))
    folds: list[dict[str, Any]] = []
    splitter = StratifiedKFold(n_splits=cfg.combine.cv_folds, shuffle=True, random_state=cfg.data.seed)
    base_proba = base.classifier_proba(contexts)
    for k, (train_idx, test_idx) in enumerate(splitter.split(dev, y)):
        # Tuning reads out-of-fold predictions within the four folds: of gold-trained models when the
        # applied model learns from gold, else of the weak-only classifier (out-of-sample either way).
        tune_proba = (gold_oof_proba(cfg, weak, gold, contexts, y, train_idx) if gold_in_training
                      else base_proba[train_idx])
        blend, threshold = tune(base, [contexts[i] for i in train_idx], scores[train_idx],
                                tune_proba, y[train_idx], cfg.combine)
        model = base
        if gold_in_training:
            model = fit_model(cfg, weak.plus(_subset(gold, train_idx)))
        test_ctx = [contexts[i] for i in test_idx]
        p = model.combine(test_ctx, scores[test_idx], model.classifier_proba(test_ctx), blend=blend)
        proba[test_idx] = p
        pred[test_idx] = np.array(LEVELS)[model.decide(p, threshold)]
        folds.append({"fold": k, "blend": blend, "critical_threshold": threshold})
    return CVResult(y=y, pred=pred.astype(str), proba=proba, folds=folds, weak_rows=weak.weak_count())


def _subset(rows: Prepared, idx: np.ndarray) -> Prepared:
    masked = rows.masked_texts()
    return Prepared([rows.inputs[i] for i in idx], [rows.labels[i] for i in idx], rows.weights[idx],
                    rows.frame.iloc[idx].reset_index(drop=True), masked=[masked[i] for i in idx],
                    person=rows.by_person()[idx])


def without_texts(rows: Prepared, texts: list[str]) -> Prepared:
    """`rows` minus those whose normalised text is among `texts` (a gold label replaces a weak one)."""
    keys = {normalize_for_dedup(t) for t in texts}
    keep = [i for i, t in enumerate(rows.frame["text"]) if normalize_for_dedup(str(t)) not in keys]
    return _subset(rows, np.array(keep, dtype=int))


def train_final(cfg: UrgencyConfig, data_dir: Path | None, weak: Prepared | None = None,
                corrections: pd.DataFrame | None = None) -> UrgencyModel:
    """The shipped model: weak labels + all gold (dev.csv, then operator corrections on top), with
    blend and threshold tuned on dev.csv."""
    dev = load_dev(data_dir, cfg)
    weak = weak if weak is not None else prepare_training(cfg, data_dir, dev)
    base = fit_model(cfg, weak)
    contexts, scores = base.prepare(dev)
    y = dev["urgency"].to_numpy()
    oof = gold_oof_proba(cfg, weak, prepare_rows(base, dev, CORRECTION_WEIGHT), contexts, y, np.arange(len(dev)))
    blend, threshold = tune(base, contexts, scores, oof, y, cfg.combine)
    gold = dev[["text", "urgency"]].assign(created_at=None, weight=CORRECTION_WEIGHT, origin="dev")
    if corrections is not None and len(corrections):
        gold = merge_corrections(gold, corrections)
    rows = without_texts(weak, gold["text"].tolist()).plus(prepare_rows(base, gold, CORRECTION_WEIGHT))
    model = fit_model(cfg, rows)
    return model.set_params(blend=blend, critical_threshold=threshold)


def annotated_cv(cfg: UrgencyConfig, data_dir: Path | None,
                 weak: Prepared | None = None) -> tuple[CVResult, pd.DataFrame]:
    """The shipped recipe scored on the project's annotated appeals (a random sample of real ones), and
    those appeals (the annotation file's columns, e.g. its batch) in the order of the result.

    Blend and threshold are tuned on dev.csv as `train_final` does; each annotated appeal is then
    predicted by a model trained on the weak rows (annotated texts removed), all of dev.csv and the
    annotated appeals of the other folds (for the normal/low stage; for the classifier too when
    `data.annotations_in_training`)."""
    dev = load_dev(data_dir, cfg)
    weak = weak if weak is not None else prepare_training(cfg, data_dir, dev)
    annotated = prepare_annotated(cfg, data_dir, dev)
    shipped = train_final(cfg, data_dir, weak=weak)
    pool = without_texts(weak, annotated.frame["text"].tolist())
    pool = pool.plus(prepare_rows(shipped, dev.assign(created_at=None), CORRECTION_WEIGHT))
    y = np.asarray(annotated.labels)
    pred = np.empty(len(y), dtype=object)
    proba = np.zeros((len(y), len(LEVELS)))
    splitter = StratifiedKFold(n_splits=cfg.combine.cv_folds, shuffle=True, random_state=cfg.data.seed)
    for train_idx, test_idx in splitter.split(y, y):
        # The other folds' annotations: classifier rows when in training, the normal/low stage's always.
        model = fit_model(cfg, pool.plus(_subset(annotated, train_idx))).set_params(
            blend=shipped.blend, critical_threshold=shipped.critical_threshold)
        part = annotated.frame.iloc[test_idx]
        proba[test_idx] = model.predict_proba(part)
        pred[test_idx] = np.array(LEVELS)[model.decide(proba[test_idx])]
    folds = [{"blend": shipped.blend, "critical_threshold": shipped.critical_threshold}]
    result = CVResult(y=y, pred=pred.astype(str), proba=proba, folds=folds, weak_rows=pool.weak_count())
    return result, annotated.frame


def level_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 and the critical figures of predictions `pred` against levels `y`."""
    from sklearn.metrics import accuracy_score, precision_score

    crit_true, crit_pred = y == "critical", pred == "critical"
    return {
        "test_accuracy": float(accuracy_score(y, pred)),
        "test_macro_f1": float(f1_score(y, pred, labels=list(LEVELS), average="macro", zero_division=0)),
        "test_critical_recall": float(recall_score(crit_true, crit_pred, zero_division=0)),
        "test_critical_precision": float(precision_score(crit_true, crit_pred, zero_division=0)),
        "test_critical_to_low": float((crit_true & (pred == "low")).sum()),
    }


def cv_metrics(result: CVResult) -> dict[str, float]:
    """The figures the gates and RESULTS.md read, from out-of-fold predictions on dev.csv."""
    return {**level_metrics(result.y, result.pred), "weak_rows": float(result.weak_rows)}


def run_params(model: UrgencyModel, cfg: UrgencyConfig) -> dict[str, Any]:
    """What an MLflow run records of how the model was made: tuned values, the normal/low stage and
    the annotation file it learned from (with a hash of its content, as the file can change)."""
    import hashlib

    params: dict[str, Any] = {
        "blend": model.blend, "critical_threshold": model.critical_threshold,
        "low_stage": getattr(model, "low_stage_", None) is not None,
        "low_stage_C": cfg.low_stage.C, "low_stage_ngram_max": cfg.low_stage.ngram_max,
        "annotations": cfg.data.annotations or "none",
        "annotations_in_training": cfg.data.annotations_in_training,
    }
    path = annotations_path(cfg)
    if path is not None:
        params["annotations_sha256"] = (hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                                        if path.exists() else "missing")
    return params


def log_and_register(model: UrgencyModel, metrics: dict[str, float], cfg: UrgencyConfig,
                     params: dict[str, Any], register: bool = True) -> str | None:
    """Log the model with its CV figures in MLflow and register it as `appeals-urgency`."""
    import hashlib

    import mlflow

    from appeals import registry

    registry.use_experiment(cfg.mlflow.experiment)  # artifacts beside the database, not in ./mlruns
    dataset = "+".join(cfg.data.datasets) + f"+{cfg.data.dev_path}"
    with mlflow.start_run(run_name="urgency"):
        mlflow.log_params({**params, **run_params(model, cfg)})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"task": "urgency", "dataset": dataset,
                         "dataset_hash": hashlib.sha256(dataset.encode()).hexdigest()[:16],
                         "evaluation": f"{cfg.combine.cv_folds}-fold CV on {cfg.data.dev_path}"})
        examples = ["Нет отопления в доме, дети мерзнут", "Подскажите, когда придет пособие?"]
        return registry.log_model("urgency", model, examples, register=register)
