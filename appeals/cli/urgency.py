"""`appeals urgency ...`: train the urgency model from weak labels, report the labelling functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from appeals.cli.common import DataDirOption, console, out, user_errors

urgency_app = typer.Typer(help="Urgency: weak labels, training, labelling-function reports.",
                          no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="Urgency config (TOML).")]
DEFAULT = Path("training/configs/urgency.toml")


@urgency_app.command("train")
def train(
    config: ConfigOption = DEFAULT,
    data_dir: DataDirOption = None,
    corrections: Annotated[Path | None, typer.Option(
        help="CSV/XLSX of operator corrections (columns text, urgency[, created_at]).")] = None,
    from_store: Annotated[bool, typer.Option(
        help="Also take the urgency corrections stored by the service (APPEALS_DB_URL).")] = False,
    register: Annotated[bool, typer.Option(help="Register the model as appeals-urgency.")] = True,
    promote: Annotated[bool, typer.Option(help="Promote it to champion if the gates pass.")] = False,
) -> None:
    """Weak labels on the real appeals, 5-fold CV on dev.csv, the final model logged in MLflow."""
    from appeals.config import data_dir as resolve_data_dir
    from appeals.urgency_config import load_urgency_config
    from appeals.urgency_data import load_dev
    from appeals.urgency_train import (
        cross_validate,
        cv_metrics,
        log_and_register,
        prepare_training,
        train_final,
    )

    with user_errors():
        cfg = load_urgency_config(config)
        folder = resolve_data_dir(data_dir)
        fixes = _corrections(corrections, from_store)
        console.print("weak labels on the unlabelled appeals …")
        weak = prepare_training(cfg, folder, load_dev(folder, cfg))
        console.print(f"{weak.weak_count()} weak-labelled appeals; cross-validating on the gold set ({cfg.data.dev_path}) …")
        metrics = cv_metrics(cross_validate(cfg, folder, weak=weak))
        model = train_final(cfg, folder, weak=weak, corrections=fixes)
        version = log_and_register(model, metrics, cfg, {"corrections": 0 if fixes is None else len(fixes)},
                                   register=register)
    out.print(" ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    if version:
        out.print(f"registered appeals-urgency v{version}")
        if promote:
            from appeals.registry import promote as promote_version

            out.print(promote_version("urgency", cfg.gates, version).describe())


def _corrections(path: Path | None, from_store: bool):  # -> pd.DataFrame | None
    import pandas as pd

    frames = []
    if path is not None:
        from appeals.datasets import load_file

        frames.append(load_file(path).frame[["text", "created_at", "urgency"]])
    if from_store:
        from appeals.store import make_engine
        from appeals.store_frames import corrections_frame

        frames.append(corrections_frame(make_engine())[["text", "created_at", "urgency"]])
    frames = [f.dropna(subset=["urgency"]) for f in frames]
    return pd.concat(frames, ignore_index=True) if frames else None


@urgency_app.command("lfs")
def lfs(config: ConfigOption = DEFAULT, data_dir: DataDirOption = None) -> None:
    """Coverage, overlap, conflict (and accuracy on dev.csv) of every labelling function."""
    from appeals.config import data_dir as resolve_data_dir
    from appeals.urgency_config import load_urgency_config
    from appeals.urgency_data import load_dev, load_unlabelled
    from appeals.urgency_report import lf_report

    with user_errors():
        cfg = load_urgency_config(config)
        folder = resolve_data_dir(data_dir)
        dev = load_dev(folder, cfg)
        unlabelled = load_unlabelled(folder, cfg, exclude=dev["text"].tolist())
        report = lf_report(cfg, unlabelled, dev)
    table = Table(*report.columns, title="Urgency labelling functions")
    for row in report.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(urgency_app, name="urgency")
