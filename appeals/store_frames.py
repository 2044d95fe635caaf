"""The store read as pandas frames: operators' corrections as training rows, stored appeals with their
corrections applied for trend reports. Tables and engines live in appeals.store."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from appeals.store import UTCDateTime, appeals_table, corrections_table


def _latest_corrections(engine: Engine) -> pd.DataFrame:
    """One row per corrected appeal: for each field the newest non-empty correction."""
    with engine.connect() as conn:
        frame = pd.read_sql(select(corrections_table).order_by(corrections_table.c.corrected_at,
                                                               corrections_table.c.id), conn)
    fields = ["topic", "topic_group", "department", "urgency"]
    if frame.empty:
        return pd.DataFrame(columns=["appeal_id", *fields, "operator_id", "corrected_at"])
    latest = frame.groupby("appeal_id", sort=False)[fields].last()  # last() skips None
    meta = frame.groupby("appeal_id", sort=False)[["operator_id", "corrected_at"]].last()
    return latest.join(meta).reset_index()


def corrections_frame(engine: Engine) -> pd.DataFrame:
    """Corrected appeals as training rows in the canonical record columns (source="feedback").

    Only corrected fields carry a label; the others are None, so a model never trains on its own guess.
    """
    latest = _latest_corrections(engine)
    columns = ["id", "text", "created_at", "channel", "municipality", "district", "address",
               "topic", "topic_group", "department", "urgency", "source", "source_split"]
    if latest.empty:
        return pd.DataFrame(columns=columns)
    with engine.connect() as conn:
        stored = pd.read_sql(select(appeals_table.c.id, appeals_table.c.text_masked, appeals_table.c.created_at,
                                    appeals_table.c.channel, appeals_table.c.municipality,
                                    appeals_table.c.district), conn)
    frame = latest.merge(stored, left_on="appeal_id", right_on="id", how="inner")
    frame = frame.rename(columns={"text_masked": "text"})
    frame["address"] = None
    frame["source"] = "feedback"
    frame["source_split"] = None
    return frame[columns].reset_index(drop=True)


def appeals_frame(engine: Engine, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Stored appeals with created_at in [start, end) for trend reports, corrections applied.

    Columns: id, created_at (the appeal's time, else when it was received), received_at, channel,
    municipality, district, topic, topic_group, department, urgency, needs_review, corrected,
    group_id, text (masked).
    """
    created = func.coalesce(appeals_table.c.created_at, appeals_table.c.received_at)
    query = select(appeals_table.c.id, created.label("created_at"), appeals_table.c.received_at,
                   appeals_table.c.channel, appeals_table.c.municipality, appeals_table.c.district,
                   appeals_table.c.topic, appeals_table.c.topic_group, appeals_table.c.department,
                   appeals_table.c.urgency, appeals_table.c.needs_review, appeals_table.c.group_id,
                   appeals_table.c.text_masked.label("text"))
    if start is not None:
        query = query.where(created >= UTCDateTime().process_bind_param(start, engine.dialect))
    if end is not None:
        query = query.where(created < UTCDateTime().process_bind_param(end, engine.dialect))
    with engine.connect() as conn:
        frame = pd.read_sql(query.order_by(created, appeals_table.c.id), conn)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="mixed")
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="mixed")
    frame["needs_review"] = frame["needs_review"].astype(bool)
    latest = _latest_corrections(engine).set_index("appeal_id")
    frame["corrected"] = frame["id"].isin(latest.index)
    for field in ("topic", "topic_group", "department", "urgency"):
        fix = frame["id"].map(latest[field]) if not latest.empty else pd.Series(None, index=frame.index)
        frame[field] = fix.where(fix.notna(), frame[field])
    return frame
