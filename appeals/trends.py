"""Demand trends: counts of appeals over time by topic, group, department, district and urgency.

Input is any table with at least `created_at` and `topic` (a scored export, `appeals predict`
joined with dates, or the store). Periods are compared with the previous period of the same length
and with a trailing baseline of windows shifted by whole weeks, so both hold the same weekdays.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

# the settings live in appeals.trends_config; re-exported here, where callers have always found them
from appeals.trends_config import AggregationConfig as AggregationConfig
from appeals.trends_config import EmergingConfig as EmergingConfig
from appeals.trends_config import ReportConfig as ReportConfig
from appeals.trends_config import SpikeConfig as SpikeConfig
from appeals.trends_config import TrendsConfig as TrendsConfig
from appeals.trends_config import default_config_path as default_config_path
from appeals.trends_config import load_trends_config as load_trends_config

REQUIRED_COLUMNS: tuple[str, ...] = ("created_at", "topic")
DIMENSIONS: tuple[str, ...] = ("topic_group", "topic", "department", "district", "urgency")
FLAG_COLUMNS: tuple[str, ...] = ("needs_review", "corrected")
Freq = Literal["D", "W", "M"]


def _as_flag(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["1", "true", "yes", "да", "1.0"]).astype(bool)


def prepare_frame(frame: pd.DataFrame, where: str = "input") -> tuple[pd.DataFrame, list[str]]:
    """Check the columns, parse dates, make labels categorical; return the frame and its warnings."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: column(s) {missing} missing; the file has {list(frame.columns)}. "
                         "Trends need at least created_at and topic.")
    warnings: list[str] = []
    out = pd.DataFrame(index=frame.index)
    out["created_at"] = _parse_dates(frame["created_at"])
    bad = out["created_at"].isna()
    if bad.any():
        example = frame.loc[bad, "created_at"].iloc[0]
        warnings.append(f"{where}: field created_at: {int(bad.sum())} rows have no readable date "
                        f"(for example {example!r}); they are left out")
    for col in DIMENSIONS:
        out[col] = _as_category(frame[col]) if col in frame.columns else \
            pd.Series(pd.Categorical([None] * len(frame)), index=frame.index)
    for col in FLAG_COLUMNS:
        # a missing column is unknown, not "never": its share is reported as missing
        out[col] = _as_flag(frame[col]) if col in frame.columns else pd.Series(pd.NA, index=frame.index,
                                                                                 dtype="boolean")
    for col in ("text", "topic_proba", "id", "group_id"):
        if col in frame.columns:
            out[col] = pd.to_numeric(frame[col], errors="coerce") if col == "topic_proba" else frame[col]
    out = out[~bad & out["topic"].notna()].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"{where}: no rows with both a date and a topic")
    return out, warnings


def _as_category(values: pd.Series) -> pd.Series:
    """Labels as a categorical with surrounding blanks removed and empty ones missing (fast on 1M rows)."""
    codes, uniques = pd.factorize(values)
    cleaned = pd.Series(uniques, dtype=object).astype(str).str.strip().replace("", None).to_numpy()
    labels = np.where(codes >= 0, cleaned[np.maximum(codes, 0)] if len(cleaned) else None, None)
    return pd.Series(pd.Categorical(labels), index=values.index)


def _parse_dates(values: pd.Series) -> pd.Series:
    from appeals.datasets import parse_dates

    parsed = parse_dates(values)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.astype("datetime64[ns]")


def read_trends_input(path: Path | str) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV/XLSX/JSON/Parquet file with created_at and topic (canonical or Russian names)."""
    from appeals.datasets import guess_mapping, read_table

    raw = _read_fast_csv(Path(path))
    if raw is None:
        raw = read_table(path)
    mapping = guess_mapping(list(raw.columns))
    raw = raw.rename(columns={col: canon for canon, col in mapping.items() if col != canon})
    return prepare_frame(raw, where=str(path))


def trends_frame_from_store(engine_or_url: Engine | str | None = None, start: date | None = None,
                            end: date | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Stored appeals (corrections applied, masked texts, topic confidence) as a prepared frame."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from appeals.store import appeals_table, make_engine
    from appeals.store_frames import appeals_frame

    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    lo = pd.Timestamp(start).to_pydatetime() if start else None
    hi = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_pydatetime() if end else None
    try:
        frame = appeals_frame(engine, lo, hi)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise ValueError(f"appeal store {engine.url!r}: cannot be read ({type(exc).__name__}); "
                         "is it created (the service migrates it on start) and is --db-url right?") from exc
    if frame.empty:
        raise ValueError("the appeal store holds no appeals for this period; accept some first")
    if "topic_proba" not in frame.columns:
        with engine.connect() as conn:
            proba = pd.read_sql(select(appeals_table.c.id, appeals_table.c.topic_proba), conn)
        frame = frame.merge(proba, on="id", how="left")
    return prepare_frame(frame, where="appeal store")


def _read_fast_csv(path: Path) -> pd.DataFrame | None:
    """A plain UTF-8 comma CSV read with pyarrow (a scored export of a million rows); None otherwise."""
    if path.suffix.lower() != ".csv" or not path.exists():
        return None
    with path.open("rb") as fh:
        head = fh.read(4096)
    try:
        first = head.decode("utf-8-sig").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return None
    if first.count(";") > first.count(","):
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow", encoding="utf-8")
    except Exception:  # anything unusual goes through the careful reader, which names the problem
        return None


def counts_over_time(frame: pd.DataFrame, freq: Freq = "W", by: str | None = None) -> pd.DataFrame:
    """Counts per day/week (Monday)/month, one column per value of `by` (or one 'total' column)."""
    day = frame["created_at"].dt.normalize()
    if freq == "W":
        period = day - pd.to_timedelta(day.dt.weekday, unit="D")
    elif freq == "M":
        period = day.dt.to_period("M").dt.start_time
    else:
        period = day
    keys = [period.rename("period")] + ([frame[by]] if by else [])
    counts = frame.groupby(keys, observed=True).size()
    wide = counts.unstack(fill_value=0) if by else counts.to_frame("total")
    full = pd.date_range(wide.index.min(), wide.index.max(), freq={"W": "W-MON", "M": "MS"}.get(freq, "D"))
    return wide.reindex(full, fill_value=0).rename_axis("period")


def _window_counts(daily: pd.Series, start: date, end: date) -> pd.Series:
    days = daily.index.get_level_values(0)
    part = daily[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
    return part.groupby(level=1, observed=True).sum()


def compare_periods(frame: pd.DataFrame, start: date, end: date, by: str,
                    cfg: AggregationConfig) -> pd.DataFrame:
    """Per value of `by`: count in [start, end], previous period, trailing weekly-aligned baseline, growth."""
    days = (end - start).days + 1
    shift = math.ceil(days / 7) * 7
    daily = frame.groupby([frame["created_at"].dt.normalize(), frame[by]], observed=True).size()
    first = frame["created_at"].min().date()
    table = pd.DataFrame({"count": _window_counts(daily, start, end)})
    table["previous"] = _window_counts(daily, start - timedelta(days), end - timedelta(days))
    windows = [k for k in range(1, cfg.baseline_periods + 1) if start - timedelta(shift * k) >= first]
    if windows:
        parts = [_window_counts(daily, start - timedelta(shift * k), end - timedelta(shift * k))
                 for k in windows]
        table = table.join(pd.concat(parts, axis=1).fillna(0).mean(axis=1).rename("baseline"), how="outer")
    else:
        table["baseline"] = np.nan
    table = table.fillna({"count": 0, "previous": 0})
    table["growth_previous"] = _growth(table["count"], table["previous"])
    table["growth_baseline"] = _growth(table["count"], table["baseline"])
    total = table["count"].sum()
    table["share"] = table["count"] / total if total else 0.0
    return table.sort_values("count", ascending=False).rename_axis(by)


def _growth(current: pd.Series, reference: pd.Series) -> pd.Series:
    ref = reference.astype(float)
    return ((current - ref) / ref).where(ref > 0)


def in_period(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    day = frame["created_at"].dt.normalize()
    return frame[(day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))]


def shares(frame: pd.DataFrame, cfg: AggregationConfig) -> dict[str, float | None]:
    """Share of critical appeals, of appeals sent to review and of those corrected by operators."""
    n = len(frame)
    if n == 0:
        return {"critical": None, "review": None, "corrected": None}
    def share(flags: pd.Series) -> float | None:
        return None if flags.isna().all() else float(flags.fillna(False).sum() / n)

    return {"critical": share(frame["urgency"].astype(object) == cfg.critical_level)
            if frame["urgency"].notna().any() else None,
            "review": share(frame["needs_review"]), "corrected": share(frame["corrected"])}


def weekly_shares(frame: pd.DataFrame, cfg: AggregationConfig) -> pd.DataFrame:
    """Per week: appeals, share critical, share sent to review, share corrected (drift signal)."""
    week = frame["created_at"].dt.normalize()
    week = week - pd.to_timedelta(week.dt.weekday, unit="D")
    flags = pd.DataFrame({"critical": (frame["urgency"].astype(object) == cfg.critical_level).astype(float),
                          "review": frame["needs_review"].astype("Float64"),
                          "corrected": frame["corrected"].astype("Float64")})
    table = flags.groupby(week.rename("week")).mean()
    table.insert(0, "appeals", week.value_counts().sort_index())
    return table


def headline(frame: pd.DataFrame, start: date, end: date, cfg: AggregationConfig) -> dict:
    """Total, growth against the previous period and the baseline, and the shares, for [start, end]."""
    marker = frame.assign(all="все")
    marker["all"] = marker["all"].astype("category")
    row = compare_periods(marker, start, end, "all", cfg)
    current = in_period(frame, start, end)
    first = row.iloc[0] if len(row) else None
    return {
        "period_start": start.isoformat(), "period_end": end.isoformat(), "appeals": len(current),
        "previous": int(first["previous"]) if first is not None else 0,
        "baseline": _num(first["baseline"]) if first is not None else None,
        "growth_previous": _num(first["growth_previous"]) if first is not None else None,
        "growth_baseline": _num(first["growth_baseline"]) if first is not None else None,
        "topics": int(current["topic"].nunique()),
        **shares(current, cfg),
    }


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)  # type: ignore[arg-type]
