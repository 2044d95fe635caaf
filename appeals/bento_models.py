"""The MLflow champions in the BentoML model store, so a Bento carries them.

`import_champions` copies each task's champion into the store under the same name as in the MLflow
registry, tagged `v<mlflow version>`, with its test metrics and (for the topic model) the
topic -> topic-group map of its training labels as metadata. `load_task_model` turns a stored model
back into a `TaskModel` for the classifier.
"""

from __future__ import annotations

from typing import Any

from appeals.classifier import TASKS, TaskModel, topic_group_map

MLFLOW_FOLDER = "mlflow_model"  # where bentoml.mlflow keeps the MLflow model inside a stored model


def bento_tag(task: str, version: str) -> str:
    from appeals.registry import model_name

    return f"{model_name(task)}:v{version}"


def _topic_groups(tags: dict[str, str]) -> dict[str, str]:
    """The topic -> group map of the dataset the topic model was trained on; {} when it cannot be read."""
    from appeals.config import data_dir
    from appeals.datasets import load_any

    dataset = tags.get("dataset")
    if not dataset:
        return {}
    try:
        return topic_group_map(load_any(dataset.split("+")[0], data_dir()).frame)
    except Exception:  # a missing or renamed dataset only turns the conflict check off
        return {}


def import_mlflow_model(task: str, model_uri: str, version: str, metrics: dict[str, float],
                        topic_groups: dict[str, str] | None = None) -> Any:
    """Copy the MLflow model at `model_uri` into the BentoML store as `<name>:v<version>`."""
    import bentoml

    metadata: dict[str, Any] = {"metrics": {k: float(v) for k, v in metrics.items()}, "mlflow_version": version}
    if topic_groups is not None:
        metadata["topic_groups"] = topic_groups
    return bentoml.mlflow.import_model(bento_tag(task, version), model_uri=model_uri,
                                       labels={"task": task, "mlflow_version": version}, metadata=metadata)


def import_champion(task: str) -> Any:
    """Import the MLflow champion of `task` unless the store has that version already; return it."""
    import bentoml

    from appeals.registry import RegistryError, champion_version, configure, model_name, version_facts

    configure()
    version = champion_version(task)
    if version is None:
        how = ("`appeals urgency train --promote`" if task == "urgency"
               else "`appeals train --config CONFIG` and `appeals promote --config CONFIG`")
        raise RegistryError(f"{model_name(task)} has no champion in the MLflow store; run {how} first")
    tag = bento_tag(task, version)
    try:
        existing = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        existing = None
    if existing is not None:
        # The service declares `<name>:latest`: after a rollback the champion must be the newest again.
        if bentoml.models.get(f"{model_name(task)}:latest").tag == existing.tag:
            return existing
        bentoml.models.delete(tag)
    metrics, tags = version_facts(task, version)
    return import_mlflow_model(task, f"models:/{model_name(task)}/{version}", version, metrics,
                               _topic_groups(tags) if task == "topic" else None)


def import_champions(tasks: tuple[str, ...] = TASKS) -> dict[str, Any]:
    """All champions into the BentoML model store; {task: stored bentoml model}."""
    return {task: import_champion(task) for task in tasks}


def load_task_model(task: str, stored: Any) -> TaskModel:
    """A stored BentoML model (from `import_champion`) as the classifier's TaskModel."""
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(stored.path_of(MLFLOW_FOLDER))
    meta = stored.info.metadata
    return TaskModel(task, pipeline, str(meta.get("mlflow_version", stored.tag.version)),
                     dict(meta.get("metrics", {})))


def topic_groups_of(stored: Any) -> dict[str, str]:
    return dict(stored.info.metadata.get("topic_groups", {}) or {})
