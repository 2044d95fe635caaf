"""`appeals data inspect`: what is in a dataset before anything is trained on it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from appeals.cli.common import DataDirOption, MapOption, console, out, report_warnings, user_errors

data_app = typer.Typer(help="Look at datasets.", no_args_is_help=True)


@data_app.command("inspect")
def inspect(
    spec: Annotated[str, typer.Argument(help="A file path, a dataset name (perm_promobot_2023, "
                                              "kursk_2022, ryazan_nashdom_2019) or 'demo'.")],
    data_dir: DataDirOption = None,
    map_: MapOption = None,
    top: Annotated[int, typer.Option(help="Labels to show per field.")] = 10,
) -> None:
    """Print rows, columns, label distributions, duplicates and problems of a dataset."""
    from appeals.config import data_dir as resolve_data_dir
    from appeals.datasets import load_any, parse_mapping
    from appeals.schema import LABEL_FIELDS
    from appeals.splits import collapse_duplicates
    from appeals.text import clean_text

    with user_errors():
        result = load_any(spec, resolve_data_dir(data_dir), parse_mapping(map_))
    frame = result.frame
    out.print(f"[bold]{result.path}[/]: {len(frame)} appeals, {result.skipped_rows} rows skipped")
    filled = Table("field", "filled", "distinct", title="Fields")
    for col in frame.columns:
        filled.add_row(col, str(int(frame[col].notna().sum())), str(int(frame[col].nunique())))
    out.print(filled)
    lengths = frame["text"].map(lambda t: len(clean_text(t)))
    out.print(f"text length after cleaning: min {lengths.min()}, median {int(lengths.median())}, "
              f"mean {lengths.mean():.0f}, max {lengths.max()}; shorter than 20: {(lengths < 20).sum()}")
    for label in LABEL_FIELDS:
        counts = frame[label].value_counts()
        if counts.empty:
            continue
        table = Table("count", label, title=f"{label}: {len(counts)} classes, {frame[label].isna().sum()} blank")
        for name, count in counts.head(top).items():
            table.add_row(str(count), str(name))
        out.print(table)
    _, report = collapse_duplicates(frame)
    out.print(f"duplicates (normalised text): {report.duplicate_rows} rows in {report.duplicate_groups} "
              f"groups; conflicting labels: {report.conflicts}")
    report_warnings(result.warnings)
    if result.warnings:
        console.print(f"{len(result.warnings)} problems found")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
