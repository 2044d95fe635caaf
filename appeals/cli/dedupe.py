"""`appeals dedupe`: add duplicate / mass-appeal groups (`group_id`, `group_size`, …) to a table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appeals.cli.common import MapOption, console, out, user_errors

if TYPE_CHECKING:
    import pandas as pd

SENDER_ALIASES: tuple[str, ...] = ("sender", "author", "автор", "заявитель", "отправитель", "user_id")


def _work_frame(
    raw: pd.DataFrame,
    mapping: dict[str, str],
    sender_column: str | None,
    path: Path,
) -> pd.DataFrame:
    """Canonical columns (id, text, created_at, topic_group, sender, topic_top3) for rows with text."""
    import pandas as pd

    from appeals.datasets import LoadError, parse_dates

    text = raw[mapping["text"]].fillna("").astype(str)
    keep = text.str.strip("' \n\t").str.len() > 0
    ids = (
        raw[mapping["id"]].astype(str)
        if "id" in mapping
        else pd.Series([f"row-{i + 2}" for i in range(len(raw))], index=raw.index)
    )
    if ids[keep].duplicated().any():
        raise LoadError(
            f"{path}: ids in column {mapping.get('id')!r} are not unique "
            f"(for example {ids[keep][ids[keep].duplicated()].iloc[0]!r})"
        )
    work = pd.DataFrame({"id": ids, "text": text})
    if "created_at" in mapping:
        work["created_at"] = parse_dates(raw[mapping["created_at"]])  # ISO first, then 01.09.2025
    if "topic_group" in mapping:
        work["topic_group"] = raw[mapping["topic_group"]].replace("", None)
    if sender_column:
        work["sender"] = raw[sender_column].replace("", None)
    if "topic_top3" in raw.columns:  # written by `appeals predict`: the topics then help grouping
        from appeals.datasets import row_label
        from appeals.dedupe_features import parse_top_topics

        parsed = []
        for index, value in enumerate(raw["topic_top3"]):
            try:
                parsed.append(parse_top_topics(value))
            except ValueError as error:
                raise LoadError(f"{row_label(path, index, ''.join(path.suffixes).lower())}, "
                                f"field topic_top3: {error}") from None
        work["topic_top3"] = pd.Series(parsed, index=raw.index, dtype=object)
    return work[keep]


def dedupe(
    input_: Annotated[
        Path, typer.Option("--input", "-i", help="CSV, XLSX, JSONL, JSON or Parquet of appeals.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="CSV to write: the input plus group columns.")
    ],
    config: Annotated[Path | None, typer.Option(help="TOML with a [dedupe] table.")] = None,
    sender_column: Annotated[
        str | None,
        typer.Option("--sender-column", help="Column naming the author; repeats by one author are marked."),
    ] = None,
    map_: MapOption = None,
    jobs: Annotated[int | None, typer.Option(
        help="Worker processes reading the texts (default: every core this process may use).", min=1)] = None,
) -> None:
    """Group duplicate and mass appeals: adds group_id, group_size, duplicate_of, match_status, …

    Given the topic_top3 column of `appeals predict`, same-house appeals with agreeing topics join too.
    """
    from appeals.config import default_jobs
    from appeals.datasets import LoadError, guess_mapping, parse_mapping, read_table
    from appeals.dedupe import OUTPUT_COLUMNS, group_frame, load_dedupe_config

    with user_errors():
        settings = load_dedupe_config(config)
        raw = read_table(input_)
        mapping = guess_mapping(list(raw.columns))
        mapping.update(parse_mapping(map_))
        if "text" not in mapping:
            raise LoadError(
                f"{input_}: no text column among {list(raw.columns)}; say which with --map text=COLUMN"
            )
        lower = {c.lower(): c for c in raw.columns}
        sender = sender_column or next((lower[a] for a in SENDER_ALIASES if a in lower), None)
        if sender and sender not in raw.columns:
            raise LoadError(f"{input_}: sender column {sender!r} not found; the file has {list(raw.columns)}")
        work = _work_frame(raw, mapping, sender, input_)
        grouped = group_frame(work, settings, jobs=jobs or default_jobs())
    result = raw.copy()
    for column in OUTPUT_COLUMNS:
        result[column] = grouped[column].reindex(raw.index)
    result["group_size"] = result["group_size"].astype("Int64")
    output.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(output, index=False)
    _summary(grouped, len(raw) - len(work), output)


def _summary(grouped: pd.DataFrame, skipped: int, output: Path) -> None:
    sizes = grouped.drop_duplicates("group_id")["group_size"]
    multi = sizes[sizes > 1]
    out.print(
        f"[bold]{output}[/]: {len(grouped)} appeals in {len(sizes)} groups; {len(multi)} groups have "
        f"more than one appeal ({int(multi.sum())} appeals); largest: {sorted(multi, reverse=True)[:5]}"
    )
    counts = grouped["match_status"].value_counts().to_dict()
    out.print("match status: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if skipped:
        console.print(f"[yellow]warning:[/] {skipped} rows have no text; their group columns are empty")


def register(app: typer.Typer) -> None:
    app.command("dedupe")(dedupe)
