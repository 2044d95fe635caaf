"""`appeals trends` (spike alerts as alerts.json) and `appeals report` (the HTML trend report)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import console, report_warnings, user_errors

# Weeks of history read before the period: trailing baselines, overdispersion and chart context.
HISTORY_WEEKS = 30

InputOption = Annotated[
    Path | None,
    typer.Option("--input", "-i", help="CSV/XLSX/JSON/Parquet with created_at and topic "
                                       "(optional: district, department, urgency, topic_group, text, topic_proba)."),
]
StoreOption = Annotated[bool, typer.Option("--from-store", help="Read the service's appeal store instead of a file.")]
DbOption = Annotated[str | None, typer.Option("--db-url", help="Store URL (default: $APPEALS_DB_URL or the local SQLite).")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Trend settings (default training/configs/trends.toml).")]


def _parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-03-31") from exc


def load_frame(input_: Path | None, from_store: bool, db_url: str | None, since: date | None = None):  # noqa: ANN201
    """The prepared frame from a file or from the store (with the history the baselines need)."""
    from appeals.trends import read_trends_input, trends_frame_from_store

    if (input_ is None) == (not from_store):
        raise ValueError("give exactly one source: --input FILE or --from-store")
    if from_store:
        start = since - timedelta(weeks=HISTORY_WEEKS) if since else None
        frame, warnings = trends_frame_from_store(db_url, start=start)
    else:
        frame, warnings = read_trends_input(input_)  # type: ignore[arg-type]
    report_warnings(warnings)
    return frame


def trends(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write alerts.json.")],
    input_: InputOption = None,
    from_store: StoreOption = False,
    db_url: DbOption = None,
    since: Annotated[str | None, typer.Option("--since", help="Only alerts of weeks ending on or after this date.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only alerts of weeks starting on or before this date.")] = None,
    config: ConfigOption = None,
) -> None:
    """Find spikes per topic and topic x district; write alerts.json (topic, district, period_start,
    period_end, observed, expected, score)."""
    from appeals.spikes import alerts_json, detect_spikes
    from appeals.trends import load_trends_config

    with user_errors():
        cfg = load_trends_config(config)
        lo, hi = _parse_day(since, "--since"), _parse_day(until, "--until")
        frame = load_frame(input_, from_store, db_url, lo)
        alerts = detect_spikes(frame, cfg.spikes, since=lo, until=hi)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(alerts_json(alerts), encoding="utf-8")
    console.print(f"{len(frame)} appeals, {len(alerts)} alerts -> {output}")


def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write report.html.")],
    date_from: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day of the period, YYYY-MM-DD.")],
    input_: InputOption = None,
    from_store: StoreOption = False,
    db_url: DbOption = None,
    tables: Annotated[Path | None, typer.Option("--tables", help="Also write the tables as CSV + XLSX here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the numbers as JSON here.")] = None,
    config: ConfigOption = None,
) -> None:
    """Write one self-contained HTML report: headline numbers, weekly charts, alerts, heat map,
    emerging problems, urgency mix."""
    import json

    from appeals.report import build_report, export_tables, render_html, summary
    from appeals.trends import load_trends_config

    with user_errors():
        cfg = load_trends_config(config)
        start, end = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
        assert start is not None and end is not None
        frame = load_frame(input_, from_store, db_url, start)
        data = build_report(frame, start, end, cfg, source=str(input_) if input_ else "хранилище обращений")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_html(data, cfg), encoding="utf-8")
        if tables:
            export_tables(data, tables)
        if json_out:
            json_out.write_text(json.dumps(summary(data), ensure_ascii=False, indent=1, default=str), "utf-8")
    console.print(f"{data.headline['appeals']} appeals in the period, {len(data.alerts)} alerts, "
                  f"{len(data.emerging)} emerging problems -> {output}")


def register(app: typer.Typer) -> None:
    app.command("trends")(trends)
    app.command("report")(report)
