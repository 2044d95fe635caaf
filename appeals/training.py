"""The training workflow: load → split → fit candidate families → calibrate → select → evaluate.

`fit_tasks` is pure (no MLflow): it returns, per task, every candidate's validation figures and the
winner as an assembled pipeline with its test figures. `train` adds the MLflow side (appeals.tracking)
and is what `appeals train` runs; the evaluation calls `fit_tasks` on its own splits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from appeals.ensemble import (
    Candidate,
    Member,
    blend_candidates,
    candidate_pipeline,
    candidate_test_proba,
    derived_candidates,
)
from appeals.model_metrics import classification_metrics, predicted, routing_on, routing_threshold
from appeals.models import (
    CalibratedModel,
    FamilySpec,
    TopLabelCalibrated,
    apply_confidence_map,
    build_classifier,
    build_features,
    compact_features,
    fit_confidence_map,
)
from appeals.registry import Gates
from appeals.training_data import DataSpec, Parts

TASKS: tuple[str, ...] = ("topic", "topic_group", "department")
Progress = Callable[[str], None]
# Below this many training rows a candidate fits in less time than a worker process takes to start.
PARALLEL_MIN_ROWS = 3000


class TrainConfig(BaseModel):
    """A training config (training/configs/*.toml) as a frozen object."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    experiment: str = "appeals"
    data: DataSpec = DataSpec()
    tasks: list[str] = list(TASKS)
    families: dict[str, FamilySpec]
    derive_group_from_topic: bool = True
    blend_top_two: bool = True
    confidence_map: bool = True
    select_by: Literal["accuracy", "macro_f1", "mean"] = "mean"
    routing_precision: float = 0.95
    # tasks whose winner is refitted on train + validation once chosen; its temperature, confidence
    # map and routing threshold stay those fitted on validation predictions of the train-only fit
    refit_on_val: list[str] = []
    register_models: bool = True
    gates: dict[str, Gates] = {}

    @field_validator("tasks", "refit_on_val")
    @classmethod
    def _known_tasks(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; known: {list(TASKS)}")
        return value

    def families_for(self, task: str) -> dict[str, FamilySpec]:
        return {n: f for n, f in self.families.items() if f.tasks is None or task in f.tasks}

    def gates_for(self, task: str) -> Gates:
        return self.gates.get(task, Gates())


def load_train_config(path: Path | str) -> TrainConfig:
    from appeals.config import load_config

    return load_config(path, TrainConfig)


@dataclass
class FeatureSet:
    union: Any
    train: Any
    val: Any
    test: Any


@dataclass
class TaskResult:
    """The winner of a task: assembled pipeline, test figures, routing, and every candidate's figures."""

    task: str
    family: str
    pipeline: Any
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    test_labels: np.ndarray
    test_pred: np.ndarray
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)


def score(metrics: dict[str, float], select_by: str) -> float:
    if select_by == "mean":
        return (metrics["accuracy"] + metrics["macro_f1"]) / 2
    return metrics[select_by]


def preprocessed(frame: Any) -> tuple[list[str], list[str]]:
    """(cleaned, cleaned and masked) texts of a frame: what the fitted pipelines' first steps give."""
    from appeals.models import build_preprocess

    (_, clean), (_, mask) = build_preprocess()
    cleaned = clean.transform(list(frame["text"]))
    return cleaned, mask.transform(cleaned)


def masked_texts(frame: Any) -> list[str]:
    return preprocessed(frame)[1]


def fit_feature_sets(config: TrainConfig, parts: Parts, progress: Progress) -> dict[str, FeatureSet]:
    """Fit each distinct feature set once on the training texts; transform every part.

    Each union also carries the word-form table of the training texts (`morph_table_`,
    appeals.nlp.MorphTable), which spares a scoring process most pymorphy3 parses."""
    from appeals.nlp import MorphTable

    cleaned, train_masked = preprocessed(parts.train)
    texts = {"train": train_masked, **{p: masked_texts(getattr(parts, p)) for p in ("val", "test")}}
    table = MorphTable.build(cleaned, train_masked)
    wanted = {f.feature_key(): f for t in config.tasks for f in config.families_for(t).values()}
    sets = {}
    for key, spec in wanted.items():
        progress(f"features {', '.join(k for k, v in config.families.items() if v.feature_key() == key)}")
        union = build_features(spec)
        train = union.fit_transform(texts["train"])
        compact_features(union)
        union.morph_table_ = table
        sets[key] = FeatureSet(union, train, union.transform(texts["val"]), union.transform(texts["test"]))
    return sets


def fit_candidate(task: str, name: str, spec: FamilySpec, X_train: Any, X_val: Any, y_train: pd.Series,
                  y_val: pd.Series, seed: int) -> Candidate | None:
    """Fit one family on the task's labelled training rows, calibrate and score on validation.

    It takes the matrices and labels alone (no texts, no fitted union): what a worker process needs."""
    import time

    started = time.perf_counter()
    rows, vrows = y_train.notna().to_numpy(), y_val.notna().to_numpy()
    if y_train[rows].nunique() < 2 or not vrows.any():
        return None
    model = CalibratedModel(build_classifier(spec, seed), max_weights=spec.max_weights)
    model.fit(X_train[rows], y_train[rows].to_numpy())
    model.calibrate(X_val[vrows], y_val[vrows].to_numpy())
    proba = model.predict_proba(X_val)
    metrics = classification_metrics(y_val[vrows].to_numpy(), proba[vrows], model.classes_)
    return Candidate(task, name, model.classes_, [Member(spec.feature_key(), model)], proba, metrics,
                     time.perf_counter() - started)


def fit_candidates(config: TrainConfig, parts: Parts, sets: dict[str, FeatureSet],
                   progress: Progress, jobs: int = 1) -> dict[str, dict[str, Candidate]]:
    """Every applicable family on every task, plus topic-derived topic-group candidates.

    With `jobs` > 1 the families are fitted in that many worker processes (each fit is independent and
    seeded, so the candidates are the same as in one process); the matrices reach the workers through
    joblib's memory-mapping, not a copy per fit."""
    work = [(task, name, spec) for task in config.tasks for name, spec in config.families_for(task).items()]
    out: dict[str, dict[str, Candidate]] = {task: {} for task in config.tasks}

    def args(task: str, name: str, spec: FamilySpec) -> tuple[Any, ...]:
        feats = sets[spec.feature_key()]
        return task, name, spec, feats.train, feats.val, parts.train[task], parts.val[task], config.data.seed

    if jobs > 1 and len(work) > 1 and len(parts.train) >= PARALLEL_MIN_ROWS:
        from joblib import Parallel, delayed

        progress(f"fitting {len(work)} candidates in {jobs} worker processes")
        done = Parallel(n_jobs=jobs, return_as="generator")(delayed(fit_candidate)(*args(*w)) for w in work)
    else:
        done = (fit_candidate(*args(*w)) for w in work)
    for (task, name, _spec), cand in zip(work, done, strict=True):
        progress(f"{task}: {name}")
        if cand is not None:
            out[task][name] = cand
    def best_of(cands: dict[str, Candidate]) -> Candidate:
        return max(cands.values(), key=lambda c: score(c.val_metrics, config.select_by))

    if config.derive_group_from_topic and {"topic", "topic_group"} <= set(config.tasks):
        out["topic_group"].update(derived_candidates(out["topic"], out["topic_group"], parts.train,
                                                     parts.val["topic_group"], best_of))
    for task in config.tasks:
        if config.blend_top_two:
            out[task].update(blend_candidates(task, out[task], parts.val[task], best_of))
    return out


def refit_on_train_val(cand: Candidate, sets: dict[str, FeatureSet], parts: Parts) -> Candidate:
    """The candidate with each direct member refitted on the labelled train + validation rows.

    Members that map another task's classes (a topic model inside a derived topic group) stay as they
    are. Only train and validation rows are used; test rows are never touched. Validation rows of a
    class the training part lacks are left out: the candidate's classes, temperature and confidence
    map were fitted for the training part's classes (small datasets such as Ryazan have such rows).
    """
    import copy

    from scipy import sparse

    task = cand.task
    y = pd.concat([parts.train[task], parts.val[task]], ignore_index=True)
    rows = (y.notna() & y.isin(set(cand.classes))).to_numpy()
    members = []
    for member in cand.members:
        if member.mapping is not None:
            members.append(member)
            continue
        feats = sets[member.feature_key]
        model = copy.deepcopy(member.model)
        model.fit(sparse.vstack([feats.train, feats.val]).tocsr()[rows], y[rows].to_numpy())
        members.append(Member(member.feature_key, model, member.weight, member.mapping))
    return Candidate(task, cand.family, cand.classes, members, cand.val_proba, cand.val_metrics,
                     cand.seconds, cand.parts)


def evaluate_winner(config: TrainConfig, cand: Candidate, sets: dict[str, FeatureSet],
                    parts: Parts) -> TaskResult:
    """Test figures and the auto-routing share of the chosen candidate; the assembled pipeline.

    The top-label confidence map and the routing threshold are both fitted on validation only.
    """
    task, classes = cand.task, cand.classes
    if task in config.refit_on_val:
        cand = refit_on_train_val(cand, sets, parts)
    vrows = parts.val[task].notna().to_numpy()
    y_val = parts.val[task].to_numpy(dtype=object)[vrows]
    val_proba = cand.val_proba[vrows]
    proba = candidate_test_proba(cand, sets)
    pipeline = candidate_pipeline(cand, sets)
    if config.confidence_map:
        labels, conf = predicted(val_proba, classes)
        xs, ys = fit_confidence_map(labels == y_val, conf)
        val_proba, proba = apply_confidence_map(val_proba, xs, ys), apply_confidence_map(proba, xs, ys)
        pipeline.steps[-1] = ("classifier", TopLabelCalibrated(pipeline.steps[-1][1], xs, ys))
    val_labels, val_conf = predicted(val_proba, classes)
    threshold = routing_threshold(val_labels == y_val, val_conf, config.routing_precision)
    rows = parts.test[task].notna().to_numpy()
    y = parts.test[task].to_numpy(dtype=object)[rows]
    metrics = classification_metrics(y, proba[rows], classes)
    labels, conf = predicted(proba[rows], classes)
    metrics.update(routing_on(labels == y, conf, threshold).as_metrics())
    return TaskResult(task, cand.family, pipeline, cand.val_metrics, metrics, y, labels)


def fit_tasks(config: TrainConfig, parts: Parts, progress: Progress | None = None,
              jobs: int | None = None) -> dict[str, TaskResult]:
    """Fit every candidate, keep the best per task on validation, evaluate it on test.

    `jobs`: worker processes for the candidates' fits (default: the cores this process may use)."""
    from appeals.config import default_jobs

    say = progress or (lambda _msg: None)
    sets = fit_feature_sets(config, parts, say)
    candidates = fit_candidates(config, parts, sets, say, default_jobs() if jobs is None else jobs)
    results = {}
    for task, cands in candidates.items():
        if not cands:
            continue
        best = max(cands.values(), key=lambda c: score(c.val_metrics, config.select_by))
        say(f"{task}: evaluating {best.family} on test")
        result = evaluate_winner(config, best, sets, parts)
        result.candidates = {n: {**c.val_metrics, "fit_seconds": c.seconds} for n, c in cands.items()}
        results[task] = result
    return results


def single_model_config(config: TrainConfig, task: str, family: str = "lemma_svm") -> TrainConfig:
    """`config` cut to one task and one family, nothing refitted, blended, derived or registered: a model
    used inside another step (transfer features, the duplicate grouper's topics)."""
    if family not in config.families:
        raise ValueError(f"config {config.name!r} has no {family} family")
    return config.model_copy(update={
        "tasks": [task], "families": {family: config.families[family]}, "refit_on_val": [],
        "blend_top_two": False, "derive_group_from_topic": False, "register_models": False,
    })


def prepare_transfer(config: TrainConfig, data_dir: Path | None, progress: Progress | None = None) -> None:
    """Fit the source models of the families that borrow another config's model (`transfer_weight`),
    from `data_dir` (else APPEALS_DATA_DIR), once per process."""
    from appeals.config import project_root
    from appeals.features import source_model

    for spec in {f.feature_key(): f for f in config.families.values() if f.transfer_weight > 0}.values():
        source = load_train_config(project_root() / "training" / "configs" / f"{spec.transfer_source}.toml")
        if source.data.dataset == config.data.dataset:
            # its predictions on its own training rows are in-sample, sharper than on new appeals
            raise ValueError(f"config {config.name!r}: transfer_source {spec.transfer_source!r} reads the same "
                             f"dataset ({config.data.dataset}); borrow from another dataset's config")
        if progress:
            progress(f"transfer source: {spec.transfer_source} {spec.transfer_task}")
        source_model(spec.transfer_source, spec.transfer_task, data_dir)


def train(config: TrainConfig, data_dir: Path | None = None, progress: Progress | None = None,
          corrections: pd.DataFrame | None = None) -> dict:
    """The whole workflow with MLflow: returns {task: (TaskResult, registered version or None)}.

    `corrections` (operator feedback: text and corrected labels) join the training part only.
    """
    from appeals.tracking import log_training
    from appeals.training_data import add_corrections, load_frame, make_parts

    say = progress or (lambda _msg: None)
    say(f"loading {config.data.dataset}")
    parts = make_parts(load_frame(config.data, data_dir), config.data)
    if corrections is not None and len(corrections):
        parts, counts = add_corrections(parts, corrections)
        say("corrections: " + ", ".join(f"{k.removeprefix('corrections_').replace('_', ' ')} {v}"
                                         for k, v in counts.items()))
    prepare_transfer(config, data_dir, say)
    results = fit_tasks(config, parts, say)
    say("logging to MLflow")
    return log_training(config, parts, results)
