"""`appeals mask`: write a table back with personal data in its text column(s) masked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import console, user_errors

WRITERS = (".csv", ".csv.gz", ".xlsx", ".jsonl", ".ndjson", ".json", ".parquet")


def write_table(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Write `frame` in the format its suffix names (the formats `appeals.datasets.read_table` reads)."""
    name = path.name.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith((".csv", ".csv.gz")):
        frame.to_csv(path, index=False, encoding="utf-8")
    elif name.endswith((".xlsx", ".xlsm")):
        frame.to_excel(path, index=False)
    elif name.endswith((".jsonl", ".ndjson")):
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif name.endswith(".json"):
        frame.to_json(path, orient="records", force_ascii=False, indent=1)
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: unknown output format; use one of {', '.join(WRITERS)}")


def pick_columns(columns: list[str], wanted: list[str] | None, path: Path) -> list[str]:
    """The text columns to mask: the ones named, or the one that looks like the text."""
    from appeals.datasets import guess_mapping

    if wanted:
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ValueError(f"{path}: column(s) {missing} not found; the file has {columns}. "
                             "Name the text column with --text-column")
        return wanted
    guessed = guess_mapping(columns).get("text")
    if guessed is None:
        raise ValueError(f"{path}: no text column found among {columns}; name it with --text-column")
    return [guessed]


def mask_column(values: list[object], ner: bool) -> list[object]:
    """Masked copies of the string cells of one column (other cells pass through unchanged)."""
    from appeals.masking import mask_many

    positions = [i for i, v in enumerate(values) if isinstance(v, str)]
    texts = [str(values[i]) for i in positions]
    masked = mask_many(texts, ner=ner)
    out = list(values)
    for i, text in zip(positions, masked, strict=True):
        out[i] = text
    return out


def mask(
    input: Annotated[Path, typer.Option("--input", "-i", help="Table to mask (CSV, CSV.GZ, XLSX, JSON, "
                                                              "JSONL, Parquet).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it (format by suffix).")],
    text_column: Annotated[list[str] | None, typer.Option(
        "--text-column", "-c", help="Column to mask, repeatable (default: the text column by its name).")] = None,
    ner: Annotated[bool, typer.Option(help="Ask natasha's NER about doubtful capitalised words "
                                            "(default; --no-ner: rules only, faster, misses more names).")] = True,
) -> None:
    """Write the same rows with personal data in the text masked; the column keeps its name."""
    from appeals.datasets import read_table

    with user_errors():
        if input.resolve() == output.resolve():
            raise ValueError(f"{output}: refusing to overwrite the input; give another --output")
        frame = read_table(input)
        columns = pick_columns(list(frame.columns), text_column, input)
        for column in columns:
            frame[column] = mask_column(frame[column].tolist(), ner)
        write_table(frame, output)
    console.print(f"masked {len(frame)} rows, column(s) {columns}: {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("mask")(mask)
