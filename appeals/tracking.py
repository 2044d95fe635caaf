"""What a training run leaves in MLflow: config, data identity, split, commit, figures, reports, models.

One parent run per `appeals train`; inside it one nested run per candidate (validation figures, so
every family tried stays comparable) and one per task winner (test figures, per-class report,
confusion matrix, the registered model). Gates in `appeals.registry` read the winner runs.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appeals.config import project_root
from appeals.model_metrics import per_class_report, plot_confusion
from appeals.registry import log_model, use_experiment

if TYPE_CHECKING:
    from appeals.training import TaskResult, TrainConfig
    from appeals.training_data import Parts


def git_commit() -> str:
    """The commit of the working tree (with '+dirty' when it has changes), or 'unknown'."""
    try:
        root = str(project_root())
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{k}": float(v) for k, v in metrics.items()}


def run_tags(config: TrainConfig, parts: Parts, commit: str) -> dict[str, str]:
    return {"dataset": parts.dataset, "dataset_hash": parts.dataset_hash, "git_commit": commit,
            "config_name": config.name, "split_scheme": config.data.scheme,
            "split_counts": json.dumps(parts.counts())}


def log_candidates(config: TrainConfig, task: str, result: TaskResult, tags: dict[str, str]) -> None:
    import mlflow

    for name, metrics in result.candidates.items():
        with mlflow.start_run(run_name=f"candidate {task}/{name}", nested=True):
            mlflow.set_tags({**tags, "task": task, "family": name, "kind": "candidate",
                             "selected": str(name == result.family)})
            spec = config.families.get(name)
            if spec is not None:
                mlflow.log_params({k: str(v) for k, v in spec.model_dump().items()})
            mlflow.log_metrics(prefixed(metrics, "val"))


def log_winner(config: TrainConfig, task: str, result: TaskResult, tags: dict[str, str],
               examples: list[str], folder: Path) -> str | None:
    """The winner's nested run: figures, report, confusion matrix and the (registered) model."""
    import mlflow

    with mlflow.start_run(run_name=f"{task} ({result.family})", nested=True):
        mlflow.set_tags({**tags, "task": task, "family": result.family, "kind": "model"})
        mlflow.log_metrics({**prefixed(result.val_metrics, "val"), **prefixed(result.test_metrics, "test")})
        report = per_class_report(result.test_labels, result.test_pred)
        report_path = folder / f"{task}_per_class_report.csv"
        report.to_csv(report_path, index=False)
        mlflow.log_artifact(str(report_path), "reports")
        image = plot_confusion(result.test_labels, result.test_pred, folder / f"{task}_confusion.png")
        mlflow.log_artifact(str(image), "reports")
        return log_model(task, result.pipeline, examples, register=config.register_models)


def log_training(config: TrainConfig, parts: Parts, results: dict[str, TaskResult]) -> dict[str, Any]:
    """Log one training run with its nested runs; return {task: (TaskResult, version or None)}."""
    import mlflow

    from appeals.masking import mask_many

    use_experiment(config.experiment)
    tags = run_tags(config, parts, git_commit())
    examples = mask_many(list(parts.test["text"].head(5)))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_name=config.name):
        folder = Path(tmp)
        mlflow.set_tags({**tags, "kind": "training"})
        mlflow.log_params({"dataset": parts.dataset, "tasks": ",".join(config.tasks),
                           "families": ",".join(config.families), "seed": config.data.seed,
                           **parts.manifest.get("corrections", {"corrections": 0})})
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        mlflow.log_dict(parts.manifest, "split_manifest.json")
        for task, result in results.items():
            log_candidates(config, task, result, tags)
            mlflow.log_metrics(prefixed(result.test_metrics, f"test_{task}"))
            out[task] = (result, log_winner(config, task, result, tags, examples, folder))
    return out
