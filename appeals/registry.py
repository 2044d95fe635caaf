"""The MLflow side of the models: where runs live, logging and registering, promotion, loading.

One path for the artifact: training logs a fitted sklearn Pipeline (raw texts in, `predict_proba` and
`classes_` out) and registers it under `MODEL_NAMES[task]`; `promote` checks the quality gates and
moves the alias `champion`; the service and `appeals predict` load what that alias names.

Serialisation is cloudpickle, not MLflow's default skops: skops wrote a TF-IDF model with a 30k-term
vocabulary in 37 s (one zip entry per number) and read it back in 13 s, at six times the size. A
pickle runs code when loaded, so the trust boundary is the tracking store itself: only
`appeals train` writes models there, and nothing loads a model from anywhere else. The project's
classes are imported by name on load, so loading needs the `appeals` package installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from appeals.config import home_dir

TRACKING_ENV = "MLFLOW_TRACKING_URI"
CHAMPION = "champion"
MODEL_NAMES: dict[str, str] = {
    "topic": "appeals-topic",
    "topic_group": "appeals-topic-group",
    "department": "appeals-department",
    "urgency": "appeals-urgency",
}
# Exact pins written into each model's requirements, so MLflow does not spend seconds inferring them.
PIP_PACKAGES: tuple[str, ...] = ("scikit-learn", "numpy", "scipy", "cloudpickle", "pymorphy3", "natasha")


class RegistryError(RuntimeError):
    """A registry lookup that cannot be answered; the message says which model and what to run."""


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else a sqlite database in APPEALS_HOME (default ./models)/mlflow.db."""
    env = os.environ.get(TRACKING_ENV)
    if env:
        return env
    return f"sqlite:///{(home_dir() / 'mlflow.db').resolve()}"


def configure(uri: str | None = None) -> str:
    """Point MLflow at `uri` (default `tracking_uri()`), creating the sqlite folder when needed."""
    import mlflow

    uri = uri or tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def use_experiment(name: str) -> str:
    """Make `name` the active experiment; with a sqlite store its artifacts go beside the database
    (<db folder>/artifacts/<name>) rather than into ./mlruns of whatever folder the command ran in."""
    import mlflow

    uri = configure()
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if uri.startswith("sqlite:///"):
            folder = Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / name
            location = folder.resolve().as_uri()
        mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)
    return name


def model_name(task: str) -> str:
    if task not in MODEL_NAMES:
        raise RegistryError(f"unknown task {task!r}; known tasks: {sorted(MODEL_NAMES)}")
    return MODEL_NAMES[task]


def pip_requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in PIP_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def log_model(task: str, model: Any, examples: Sequence[str], register: bool = True) -> str | None:
    """Log `model` into the active run (with signature and input example); return the new version."""
    import logging

    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    sample = list(examples)[:5]
    signature = infer_signature(pd.DataFrame({"text": sample}), model.predict(sample))
    quiet = logging.getLogger("mlflow.sklearn")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the pickle warning: the choice is explained at the top of this module
    try:
        info = mlflow.sklearn.log_model(
            model, name="model", signature=signature, input_example=pd.DataFrame({"text": sample}),
            pip_requirements=pip_requirements(), serialization_format="cloudpickle",
            registered_model_name=model_name(task) if register else None,
        )
    finally:
        quiet.setLevel(level)
    version = getattr(info, "registered_model_version", None)
    return str(version) if version is not None else None


class Gates(BaseModel):
    """Quality gates of one task: minimum test metrics and the largest allowed drop vs the champion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_accuracy: float = 0.0
    min_macro_f1: float = 0.0
    max_ece: float = 1.0
    max_drop_vs_champion: float = 0.02
    same_dataset_as_champion: bool = True


@dataclass
class Decision:
    """What `promote` decided for one task, with every reason a gate failed."""

    task: str
    version: str
    promoted: bool
    previous: str | None
    reasons: list[str] = field(default_factory=list)

    def describe(self) -> str:
        name = model_name(self.task)
        if self.promoted:
            was = f" (was v{self.previous})" if self.previous else ""
            return f"{name} v{self.version} is now {CHAMPION}{was}"
        return f"{name} v{self.version} NOT promoted: " + "; ".join(self.reasons)


def _client() -> Any:
    from mlflow import MlflowClient

    configure()
    return MlflowClient()


def latest_version(task: str) -> str:
    """The newest registered version of a task's model (the candidate by default)."""
    versions = _client().search_model_versions(f"name='{model_name(task)}'")
    if not versions:
        raise RegistryError(f"no registered versions of {model_name(task)} in {tracking_uri()}; "
                            "run `appeals train --config ...` first")
    return str(max(int(v.version) for v in versions))


def champion_version(task: str) -> str | None:
    """The version the alias `champion` names, or None when there is none yet."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(model_name(task), CHAMPION).version)
    except MlflowException:
        return None


def version_facts(task: str, version: str) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and tags of the run that produced a model version."""
    client = _client()
    mv = client.get_model_version(model_name(task), version)
    run = client.get_run(mv.run_id)
    return dict(run.data.metrics), dict(run.data.tags)


def check_gates(task: str, gates: Gates, candidate: str, champion: str | None) -> list[str]:
    """Every reason the candidate fails the gates (empty when it passes)."""
    metrics, tags = version_facts(task, candidate)
    reasons = []
    for key, minimum in (("test_accuracy", gates.min_accuracy), ("test_macro_f1", gates.min_macro_f1)):
        value = metrics.get(key)
        if value is None:
            reasons.append(f"the run of v{candidate} has no metric {key}")
        elif value < minimum:
            reasons.append(f"{key} {value:.4f} is below the gate {minimum:.4f}")
    ece = metrics.get("test_ece")
    if ece is not None and ece > gates.max_ece:
        reasons.append(f"test_ece {ece:.4f} is above the gate {gates.max_ece:.4f}")
    if champion is not None and champion != candidate:
        reasons += _compare_with_champion(task, gates, metrics, tags, champion)
    return reasons


def _compare_with_champion(task: str, gates: Gates, metrics: Mapping[str, float],
                           tags: Mapping[str, str], champion: str) -> list[str]:
    champ_metrics, champ_tags = version_facts(task, champion)
    if champ_tags.get("dataset_hash") != tags.get("dataset_hash"):
        if gates.same_dataset_as_champion:
            return [f"the champion v{champion} was trained on {champ_tags.get('dataset', '?')} and the "
                    f"candidate on {tags.get('dataset', '?')}, so their test figures are not comparable; "
                    "set gates.same_dataset_as_champion = false in the config to allow the switch"]
        return []
    reasons = []
    for key in ("test_accuracy", "test_macro_f1"):
        new, old = metrics.get(key, 0.0), champ_metrics.get(key, 0.0)
        if new < old - gates.max_drop_vs_champion:
            reasons.append(f"{key} {new:.4f} is worse than the champion v{champion}'s {old:.4f} by more "
                           f"than {gates.max_drop_vs_champion:.4f}")
    return reasons


def promote(task: str, gates: Gates, version: str | None = None) -> Decision:
    """Move the alias `champion` to `version` (default: the newest) only when the gates pass."""
    candidate = version or latest_version(task)
    previous = champion_version(task)
    reasons = check_gates(task, gates, candidate, previous)
    decision = Decision(task=task, version=candidate, promoted=not reasons, previous=previous,
                        reasons=reasons)
    if decision.promoted:
        _client().set_registered_model_alias(model_name(task), CHAMPION, candidate)
    return decision


def load_version(task: str, version: str) -> Any:
    """Load a registered version as a fitted sklearn Pipeline (raw texts in); a readable error when the
    registry still lists the version but its files are gone (an artifact folder deleted or not copied)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    configure()
    uri = f"models:/{model_name(task)}/{version}"
    try:
        return mlflow.sklearn.load_model(uri)
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"{model_name(task)} version {version} is registered in {tracking_uri()} but its files could not be "
            f"read ({exc}); retrain and promote it, or point MLFLOW_TRACKING_URI at the store that holds its "
            "artifacts") from exc


def load_champion(task: str) -> tuple[Any, str]:
    """The champion of a task as (fitted sklearn Pipeline, version); a readable error if none."""
    version = champion_version(task)
    if version is None:
        raise RegistryError(f"{model_name(task)} has no '{CHAMPION}' in {tracking_uri()}; run "
                            "`appeals train --config CONFIG` then `appeals promote --config CONFIG`")
    return load_version(task, version), version
