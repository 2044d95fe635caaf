"""The trend report: one self-contained HTML file (inline SVG charts, no scripts, no network),
the same numbers as JSON (`summary`, used by `GET /trends`) and the tables as CSV/XLSX.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from appeals.emerging import EmergingCluster, find_emerging
from appeals.spikes import Alert, detect_spikes
from appeals.trends import (
    DIMENSIONS,
    TrendsConfig,
    compare_periods,
    counts_over_time,
    headline,
    in_period,
    weekly_shares,
)

DIMENSION_LABELS = {"topic_group": "Группа тем", "topic": "Тема", "department": "Исполнитель",
                    "district": "Район", "urgency": "Срочность"}
URGENCY_LABELS = {"critical": "критическая", "high": "высокая", "normal": "обычная", "low": "низкая"}
COLUMN_LABELS = {"count": "Обращений", "previous": "Предыдущий период", "baseline": "Базовый уровень",
                 "growth_previous": "Рост к предыдущему периоду", "growth_baseline": "Рост к базовому уровню",
                 "share": "Доля"}
CONTEXT_WEEKS = 16


@dataclass
class ReportData:
    """Every number of the report for [start, end]; charts are drawn from these when rendering."""

    start: date
    end: date
    source: str
    headline: dict
    tables: dict[str, pd.DataFrame]
    weekly_groups: pd.DataFrame
    alerts: list[Alert]
    alert_series: dict[tuple[str, str | None], pd.Series]
    heatmap: pd.DataFrame
    emerging: list[EmergingCluster]
    urgency_weekly: pd.DataFrame
    quality_weekly: pd.DataFrame
    mass_appeals: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)


def _context(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    first = pd.Timestamp(start - timedelta(weeks=CONTEXT_WEEKS))
    return frame[(frame["created_at"] >= first) & (frame["created_at"] < pd.Timestamp(end + timedelta(days=1)))]


def _alert_series(frame: pd.DataFrame, alert: Alert, start: date) -> pd.Series:
    part = frame[frame["topic"] == alert.topic]
    if alert.district is not None:
        part = part[part["district"] == alert.district]
    weekly = counts_over_time(part, "W")["total"] if len(part) else pd.Series(dtype=float)
    return weekly[weekly.index >= pd.Timestamp(start - timedelta(weeks=CONTEXT_WEEKS))]


def _heatmap(current: pd.DataFrame, cfg: TrendsConfig) -> pd.DataFrame:
    cells = current.dropna(subset=["district"])
    if cells.empty:
        return pd.DataFrame()
    topics = cells["topic"].value_counts().head(cfg.report.heatmap_topics).index
    districts = cells["district"].value_counts().head(cfg.report.heatmap_districts).index
    cells = cells[cells["topic"].isin(topics) & cells["district"].isin(districts)]
    table = pd.crosstab(cells["district"].astype(str), cells["topic"].astype(str))
    return table.reindex(index=[str(d) for d in districts], columns=[str(t) for t in topics], fill_value=0)


def problem_groups(current: pd.DataFrame, top: int = 10) -> tuple[int | None, pd.DataFrame]:
    """Problems (duplicate groups) among the period's appeals and the largest mass appeals.

    An appeal without a group (not grouped yet) counts as a problem of its own. Without a `group_id`
    column (no `appeals dedupe`, no store) problems are unknown: None and an empty table.
    """
    if "group_id" not in current.columns or current.empty:
        return None, pd.DataFrame()
    own = current["id"].astype(str) if "id" in current.columns else current.index.astype(str).to_series()
    groups = current["group_id"].astype("string").fillna(own.set_axis(current.index))
    sized = current.assign(group=groups.to_numpy())
    table = (sized.groupby("group", observed=True)
             .agg(appeals=("created_at", "size"), first=("created_at", "min"), last=("created_at", "max"),
                  topic=("topic", lambda t: t.mode().iat[0] if t.notna().any() else None),
                  district=("district", lambda d: d.mode().iat[0] if d.notna().any() else None))
             .sort_values(["appeals", "first"], ascending=[False, True]))
    return int(len(table)), table[table["appeals"] > 1].head(top)


def _emerging(frame: pd.DataFrame, end: date, cfg: TrendsConfig, notes: list[str]) -> list[EmergingCluster]:
    if "text" not in frame.columns or "topic_proba" not in frame.columns:
        notes.append("Новые проблемы не искались: во входных данных нет столбцов text и topic_proba.")
        return []
    return find_emerging(frame, cfg.emerging, end=end)


def build_report(frame: pd.DataFrame, start: date, end: date, cfg: TrendsConfig,
                 source: str = "", with_emerging: bool = True) -> ReportData:
    """Compute every number of the report for the period [start, end] of a prepared frame."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start}); check --from and --to")
    history = frame[frame["created_at"] < pd.Timestamp(end + timedelta(days=1))]
    current = in_period(history, start, end)
    notes: list[str] = []
    if current.empty:
        notes.append(f"За период {start:%d.%m.%Y}–{end:%d.%m.%Y} обращений нет.")
    tables = {dim: compare_periods(history, start, end, dim, cfg.aggregation)
              for dim in DIMENSIONS if history[dim].notna().any()}
    context = _context(history, start, end)
    groups = tables["topic_group"].index[: cfg.report.top_groups] if "topic_group" in tables else []
    weekly_groups = counts_over_time(context[context["topic_group"].isin(groups)], "W", "topic_group") \
        if len(groups) else pd.DataFrame()
    alerts = sorted(detect_spikes(history, cfg.spikes, since=start, until=end), key=lambda a: -a.score)
    series = {(a.topic, a.district): _alert_series(context, a, start) for a in alerts[: cfg.report.max_alerts]}
    urgency = counts_over_time(context.dropna(subset=["urgency"]), "W", "urgency") \
        if context["urgency"].notna().any() else pd.DataFrame()
    problems, mass = problem_groups(current)
    return ReportData(
        start=start, end=end, source=source, headline={**headline(history, start, end, cfg.aggregation),
                                                       "alerts": len(alerts), "problems": problems},
        mass_appeals=mass,
        tables=tables, weekly_groups=weekly_groups, alerts=alerts, alert_series=series,
        heatmap=_heatmap(current, cfg), urgency_weekly=urgency, notes=notes,
        quality_weekly=weekly_shares(context, cfg.aggregation).tail(cfg.report.quality_weeks),
        emerging=_emerging(history, end, cfg, notes) if with_emerging else [])


def _records(table: pd.DataFrame, limit: int | None = None) -> list[dict]:
    """Rows as plain JSON values (no numpy scalars, NaN as null), floats rounded."""
    part = (table.head(limit) if limit else table).reset_index().round(4)
    return json.loads(part.to_json(orient="records", force_ascii=False))


def summary(data: ReportData, rows: int | None = None) -> dict:
    """The report's numbers as JSON-ready data (the body of `GET /trends`)."""
    weekly = {str(col): {d.date().isoformat(): int(v) for d, v in data.weekly_groups[col].items()}
              for col in data.weekly_groups.columns}
    return {
        "period_start": data.start.isoformat(), "period_end": data.end.isoformat(),
        "headline": data.headline,
        "tables": {dim: _records(table, rows) for dim, table in data.tables.items()},
        "weekly_by_topic_group": weekly,
        "alerts": [a.model_dump(mode="json") for a in data.alerts],
        "heatmap": {"districts": list(data.heatmap.index), "topics": list(data.heatmap.columns),
                    "counts": data.heatmap.to_numpy().astype(int).tolist()},
        "emerging": [c.model_dump() for c in data.emerging],
        "mass_appeals": _records(data.mass_appeals.assign(
            first=lambda t: t["first"].dt.date.astype(str), last=lambda t: t["last"].dt.date.astype(str)))
        if len(data.mass_appeals) else [],
        "urgency": {str(k): int(v) for k, v in data.urgency_weekly.sum().items()} if len(data.urgency_weekly) else {},
        "weekly_quality": _records(data.quality_weekly.rename_axis("week").reset_index().assign(
            week=lambda t: t["week"].dt.date.astype(str)).set_index("week")),
        "notes": data.notes,
    }


def trends_summary(frame: pd.DataFrame, start: date, end: date, cfg: TrendsConfig | None = None,
                   with_emerging: bool = True, rows: int | None = None) -> dict:
    """The numbers of `appeals report` for [start, end] as JSON-ready data (for `GET /trends`)."""
    from appeals.trends import load_trends_config

    cfg = cfg or load_trends_config()
    return summary(build_report(frame, start, end, cfg, with_emerging=with_emerging), rows)


def export_tables(data: ReportData, folder: Path | str) -> list[Path]:
    """Each table as CSV (UTF-8 with BOM, for Excel) and all of them in one XLSX, Russian headers."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sheets = {f"{DIMENSION_LABELS[dim]}": table.rename(columns=COLUMN_LABELS).rename_axis(DIMENSION_LABELS[dim])
              for dim, table in data.tables.items()}
    sheets["Всплески"] = pd.DataFrame([a.model_dump(mode="json") for a in data.alerts],
                                      columns=list(Alert.model_fields))
    sheets["Новые проблемы"] = pd.DataFrame([{**c.model_dump(), "top_terms": ", ".join(c.top_terms),
                                             "examples": " | ".join(c.examples),
                                             "nearest_topics": "; ".join(c.nearest_topics)}
                                            for c in data.emerging])
    paths = []
    for name, table in sheets.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, encoding="utf-8-sig", index=name in [DIMENSION_LABELS[d] for d in data.tables])
        paths.append(path)
    xlsx = folder / "tables.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name[:31], index=name in [DIMENSION_LABELS[d] for d in data.tables])
    return [*paths, xlsx]


def render_html(data: ReportData, cfg: TrendsConfig) -> str:
    """The report as one HTML document: inline CSS and SVG, every text escaped."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("appeals", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = lambda v: "—" if v is None or pd.isna(v) else f"{v:+.0%}".replace("%", " %")
    env.filters["share"] = lambda v: "—" if v is None or pd.isna(v) else f"{v:.1%}".replace("%", " %")
    env.filters["num"] = lambda v: "—" if v is None or pd.isna(v) else f"{v:,.0f}".replace(",", "\u202f")
    generated = datetime.now(UTC).strftime("%d.%m.%Y %H:%M UTC")
    return env.get_template("report.html.j2").render(**view_model(data, cfg), generated=generated)


def view_model(data: ReportData, cfg: TrendsConfig) -> dict:
    """What the template shows: numbers, Russian labels and the charts as inline SVG."""
    from appeals.charts import heatmap, urgency_chart, weekly_chart

    period = (data.start, data.end)
    groups = [{"name": str(g), "svg": weekly_chart(data.weekly_groups[g], str(g), period=period),
               "row": data.tables["topic_group"].loc[g]} for g in data.weekly_groups.columns]
    charts = []
    for (topic, district), series in data.alert_series.items():
        weeks = [a.period_start + timedelta(weeks=k) for a in data.alerts if a.topic == topic
                 and a.district == district for k in range((a.period_end - a.period_start).days // 7 + 1)]
        title = topic if district is None else f"{topic} — {district}"
        charts.append({"title": title, "svg": weekly_chart(series, title, highlight=weeks, period=period)})
    tables = {dim: {"label": DIMENSION_LABELS[dim], "rows": table.head(cfg.report.table_rows)}
              for dim, table in data.tables.items() if dim != "urgency"}
    urgency = data.tables.get("urgency")
    return {
        "data": data, "h": data.headline, "groups": groups, "alert_charts": charts, "tables": tables,
        # The strongest alerts; the export (Всплески.csv, tables.xlsx) and alerts.json hold them all.
        "alert_rows": data.alerts[: cfg.report.table_rows],
        "heatmap_svg": heatmap(data.heatmap, "Обращения по районам и темам за период")
        if not data.heatmap.empty else None,
        "urgency_svg": urgency_chart(data.urgency_weekly, URGENCY_LABELS) if len(data.urgency_weekly) else None,
        "urgency_rows": [] if urgency is None else
        [(URGENCY_LABELS.get(str(k), str(k)), r) for k, r in urgency.iterrows()],
        "labels": DIMENSION_LABELS, "baseline_periods": cfg.aggregation.baseline_periods,
    }
