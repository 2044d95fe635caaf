"""The MLflow champions in the BentoML model store, so a Bento carries them.

`import_champions` copies each task's champion into the store under the same name as in the MLflow
registry, tagged `v<mlflow version>`, with its test metrics and (for the topic model) the
topic -> topic-group map of its training labels as metadata. `load_task_model` turns a stored model
back into a `TaskModel` for the classifier.

At import the SHA-256 of every file of the MLflow model is written beside it (`checksums.sha256`);
`check_model_files` compares them before a model is loaded, so a truncated or altered file is
named, with its model, instead of failing somewhere inside unpickling.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from appeals.classifier import TASKS, TaskModel, topic_group_map

MLFLOW_FOLDER = "mlflow_model"  # where bentoml.mlflow keeps the MLflow model inside a stored model
CHECKSUMS = "checksums.sha256"  # beside MLFLOW_FOLDER: "<sha256>  <path inside MLFLOW_FOLDER>" per line


class ModelFilesError(RuntimeError):
    """A stored model is missing or damaged; the message names the model, its folder and what to do."""


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
    stored = bentoml.mlflow.import_model(bento_tag(task, version), model_uri=model_uri,
                                         labels={"task": task, "mlflow_version": version}, metadata=metadata)
    saved = bentoml.models.get(stored.tag)  # the returned object may still point at its build folder
    write_checksums(Path(saved.path))
    return saved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(model_dir: Path) -> None:
    folder = model_dir / MLFLOW_FOLDER
    lines = [f"{_sha256(p)}  {p.relative_to(folder)}" for p in sorted(folder.rglob("*")) if p.is_file()]
    (model_dir / CHECKSUMS).write_text("\n".join(lines) + "\n", encoding="utf-8")


def check_model_files(tag: str, model_dir: Path) -> None:
    """Raise ModelFilesError when the model's files are missing or differ from those imported.

    Models imported before checksums were written are only checked for their MLmodel file.
    """
    folder = model_dir / MLFLOW_FOLDER
    redo = "re-import it (`appeals serve` imports the champions) or retrain"
    if not (folder / "MLmodel").is_file():
        raise ModelFilesError(f"model {tag}: {folder / 'MLmodel'} is missing; {redo}")
    sums = model_dir / CHECKSUMS
    if not sums.is_file():
        return
    for line in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        path = folder / name
        if not path.is_file():
            raise ModelFilesError(f"model {tag}: {path} is missing; {redo}")
        if _sha256(path) != expected:
            raise ModelFilesError(f"model {tag}: {path} is damaged (its SHA-256 differs from the one "
                                  f"recorded at import); {redo}")


def champion_problems(tasks: tuple[str, ...] = TASKS) -> list[str]:
    """Why the service could not load its models (`<name>:latest` of each task), one line each."""
    import bentoml

    from appeals.registry import model_name

    problems = []
    for task in tasks:
        try:
            stored = bentoml.models.get(f"{model_name(task)}:latest")
            check_model_files(str(stored.tag), Path(stored.path))
        except bentoml.exceptions.NotFound:
            problems.append(f"model {model_name(task)}: not in the BentoML model store; run `appeals serve` "
                            f"without --no-import to import the champions")
        except ModelFilesError as exc:
            problems.append(str(exc))
    return problems


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


def load_sklearn_model(folder: Path) -> Any:
    """The scikit-learn model of a local MLflow model folder, as `mlflow.sklearn.load_model` reads it.

    A folder in the form our training logs (sklearn flavor, pickle or cloudpickle, no code path) is read
    directly: importing MLflow took about 1 s of the service worker's start, which needs nothing else
    from it. Anything else (another format, a code path, unpickling turned off through
    MLFLOW_ALLOW_PICKLE_DESERIALIZATION) goes through MLflow. The bytes are those `check_model_files`
    verified; tests/integration/test_bento_import.py compares the two ways.
    """
    import os
    import pickle

    import yaml

    conf = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8")) or {}
    flavor = (conf.get("flavors") or {}).get("sklearn") or {}
    form = flavor.get("serialization_format", "pickle")
    allowed = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true").strip().lower() in ("true", "1")
    if not flavor.get("pickled_model") or flavor.get("code") or form not in ("pickle", "cloudpickle") or not allowed:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(folder))
    with open(folder / flavor["pickled_model"], "rb") as handle:
        return pickle.load(handle)  # cloudpickle.load is pickle.load; its pickles import what they need


def load_task_model(task: str, stored: Any) -> TaskModel:
    """A stored BentoML model (from `import_champion`) as the classifier's TaskModel."""
    check_model_files(str(stored.tag), Path(stored.path))
    try:
        pipeline = load_sklearn_model(Path(stored.path_of(MLFLOW_FOLDER)))
    except Exception as exc:  # unpickling errors have many types; the model and folder are what help
        raise ModelFilesError(f"model {stored.tag} at {stored.path} cannot be loaded ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); re-import it or retrain") from exc
    meta = stored.info.metadata
    return TaskModel(task, pipeline, str(meta.get("mlflow_version", stored.tag.version)),
                     dict(meta.get("metrics", {})))


def topic_groups_of(stored: Any) -> dict[str, str]:
    return dict(stored.info.metadata.get("topic_groups", {}) or {})
