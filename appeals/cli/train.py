"""`appeals train`, `appeals promote`, `appeals predict`: the model life cycle from the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from appeals.cli.common import DataDirOption, MapOption, console, out, report_warnings, user_errors

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Training config (training/configs/*.toml).")]


def _status_progress() -> tuple[object, object]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=console, transient=False)
    return progress, progress.add_task("starting", total=None)


def train(
    config: ConfigOption,
    data_dir: DataDirOption = None,
    corrections: Annotated[Path | None, typer.Option(
        help="Operator corrections to train on: a file with a text column and any of topic, topic_group, "
             "department (CSV, XLSX, JSON(L), Parquet; --map renames columns).")] = None,
    map_: MapOption = None,
    from_store: Annotated[bool, typer.Option(
        help="Also train on the corrections stored by the service (APPEALS_DB_URL).")] = False,
) -> None:
    """Fit, compare and evaluate every candidate family per task; log and register the winners.

    Operator corrections (--corrections, --from-store) join the training part only; the test part
    stays the dataset's, so the figures stay comparable with the champion's.
    """
    from appeals.config import data_dir as resolve_data_dir
    from appeals.registry import RegistryError, tracking_uri
    from appeals.training import load_train_config
    from appeals.training import train as run_training

    with user_errors():
        cfg = load_train_config(config)
        fixes = _corrections(corrections, map_, from_store)
        progress, step = _status_progress()
        started = time.perf_counter()
        with progress:  # type: ignore[attr-defined]
            def say(message: str) -> None:
                progress.update(step, description=message)  # type: ignore[attr-defined]
                console.log(message)

            try:
                results = run_training(cfg, resolve_data_dir(data_dir), say, fixes)
            except RegistryError as exc:
                raise ValueError(str(exc)) from exc
    table = Table("task", "winner", "val acc", "test acc", "test macro-F1", "test ECE", "auto-routed",
                  "version", title=f"{cfg.name}: trained in {time.perf_counter() - started:.0f} s")
    for task, (result, version) in results.items():
        m = result.test_metrics
        table.add_row(task, result.family, f"{result.val_metrics['accuracy']:.3f}", f"{m['accuracy']:.3f}",
                      f"{m['macro_f1']:.3f}", f"{m['ece']:.3f}", f"{m['routing_share']:.1%}",
                      version or "-")
    out.print(table)
    out.print(f"MLflow: {tracking_uri()} (experiment {cfg.experiment}); next: appeals promote --config {config}")


def _corrections(path: Path | None, map_: list[str] | None, from_store: bool):  # -> pd.DataFrame | None
    """Corrections from a file and/or the service's store, in the canonical columns; None when neither."""
    import pandas as pd

    frames = []
    if path is not None:
        from appeals.datasets import load_file, parse_mapping

        loaded = load_file(path, parse_mapping(map_))
        report_warnings(loaded.warnings)
        frames.append(loaded.frame)
    if from_store:
        from appeals.store import make_engine
        from appeals.store_frames import corrections_frame

        stored = corrections_frame(make_engine())
        out.print(f"{len(stored)} corrected appeals in the store")
        frames.append(stored)
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def promote(
    config: ConfigOption,
    task: Annotated[list[str] | None, typer.Option("--task", help="Only this task (repeatable).")] = None,
    version: Annotated[str | None, typer.Option(help="Version to promote (default: the newest).")] = None,
) -> None:
    """Move the alias `champion` to the candidate of each task, only when the config's gates pass."""
    from appeals.registry import RegistryError
    from appeals.registry import promote as promote_task
    from appeals.training import load_train_config

    with user_errors():
        cfg = load_train_config(config)
        tasks = task or cfg.tasks
        failed = 0
        for name in tasks:
            try:
                decision = promote_task(name, cfg.gates_for(name), version)
            except RegistryError as exc:
                raise ValueError(str(exc)) from exc
            style = "green" if decision.promoted else "yellow"
            out.print(f"[{style}]{decision.describe()}[/]", highlight=False)
            failed += not decision.promoted
    if failed:
        raise typer.Exit(code=1)


def predict(
    input_: Annotated[Path, typer.Option("--input", "-i", help="Appeals to score (CSV, XLSX, JSON(L), Parquet).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the scores (CSV).")],
    map_: MapOption = None,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 2000,
    jobs: Annotated[int | None, typer.Option(
        help="Worker processes (default: every core this process may use).", min=1)] = None,
) -> None:
    """Score a file with the champions: id, label and probability per task, top-3 topics."""
    from rich.progress import Progress

    from appeals.config import default_jobs
    from appeals.datasets import load_file, parse_mapping
    from appeals.predict import load_champions, predict_frame
    from appeals.registry import RegistryError

    with user_errors():
        loaded = load_file(input_, parse_mapping(map_))
        report_warnings(loaded.warnings)
        try:
            models = load_champions()
        except RegistryError as exc:
            raise ValueError(str(exc)) from exc
        started = time.perf_counter()
        with Progress(console=console) as progress:
            bar = progress.add_task("scoring", total=len(loaded.frame))
            scored = predict_frame(loaded.frame, models, batch_size,
                                   lambda n: progress.advance(bar, n), jobs or default_jobs())
        output.parent.mkdir(parents=True, exist_ok=True)
        scored.to_csv(output, index=False, encoding="utf-8")
    took = time.perf_counter() - started
    versions = ", ".join(f"{t} v{v}" for t, (_m, v) in models.items())
    out.print(f"{len(scored)} appeals scored in {took:.1f} s ({len(scored) / max(took, 1e-9):.0f}/s) "
              f"with {versions} → {output}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("promote")(promote)
    app.command("predict")(predict)
