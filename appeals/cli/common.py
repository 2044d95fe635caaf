"""Helpers shared by the command modules: console, error reporting, data options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
out = Console()

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the real datasets (default: $APPEALS_DATA_DIR)."),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="Column mapping field=column, repeatable (e.g. --map text=Текст)."),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's readable errors into one red line and exit code 2 instead of a traceback."""
    from appeals.config import ConfigError
    from appeals.datasets import LoadError

    try:
        yield
    except (LoadError, ConfigError, ValueError, FileNotFoundError) as exc:
        # soft_wrap: never break the message into lines (Rich wraps at 80 columns when stderr is not a
        # terminal), so a log keeps "file: row N, field F: ..." on one line that grep can find.
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from exc


def report_warnings(warnings: list[str], limit: int = 20) -> None:
    for line in warnings[:limit]:
        console.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)
    if len(warnings) > limit:
        console.print(f"[yellow]… and {len(warnings) - limit} more warnings[/]")


def progress_iter(items: list, description: str, func: Callable) -> list:
    """Apply `func` to each item with a Rich progress bar."""
    from rich.progress import track

    return [func(item) for item in track(items, description=description, console=console)]
