"""Aggregation: input checks, counts per period, growth against previous period and baseline, shares."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from appeals.trends import (
    compare_periods,
    counts_over_time,
    headline,
    load_trends_config,
    prepare_frame,
    weekly_shares,
)


@pytest.fixture(scope="module")
def agg():
    return load_trends_config().aggregation


def make(rows: list[tuple[str, str, str | None]], **extra) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["created_at", "topic", "urgency"])
    for name, values in extra.items():
        frame[name] = values
    return prepare_frame(frame)[0]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"\['topic'\] missing.*created_at and topic"):
        prepare_frame(pd.DataFrame({"created_at": ["2025-01-01"]}), where="x.csv")


def test_unreadable_dates_are_counted_and_dropped():
    frame, warnings = prepare_frame(pd.DataFrame({"created_at": ["2025-01-06", "вчера", "07.01.2025"],
                                                  "topic": ["Ямы", "Ямы", "Свет"]}), where="x.csv")
    assert len(frame) == 2
    assert warnings and "x.csv" in warnings[0] and "1 rows" in warnings[0] and "вчера" in warnings[0]


@pytest.mark.parametrize(("freq", "expected_index", "expected_counts"), [
    ("W", ["2025-01-06", "2025-01-13", "2025-01-20"], [2, 0, 1]),
    ("M", ["2025-01-01"], [3]),
    ("D", ["2025-01-06", "2025-01-07"], [1, 0]),
])
def test_counts_over_time(freq, expected_index, expected_counts):
    frame = make([("2025-01-06T09:00", "Ямы", None), ("2025-01-12T23:00", "Ямы", None),
                  ("2025-01-20T10:00", "Ямы", None)])
    counts = counts_over_time(frame, freq)["total"]
    assert [d.date().isoformat() for d in counts.index[: len(expected_index)]] == expected_index
    assert counts.tolist()[: len(expected_counts)] == expected_counts


def test_counts_by_topic_fill_missing_weeks_with_zero():
    frame = make([("2025-01-06", "Ямы", None), ("2025-01-20", "Свет", None)])
    wide = counts_over_time(frame, "W", "topic")
    assert wide.loc["2025-01-13"].tolist() == [0, 0]
    assert set(wide.columns) == {"Ямы", "Свет"}


def test_baseline_windows_keep_the_weekdays(agg):
    # Mondays busy, Sundays quiet: a Monday-only period must be compared with earlier Mondays.
    rows = []
    start = date(2025, 1, 6)
    for week in range(10):
        monday = start + timedelta(weeks=week)
        rows += [(f"{monday}T10:00", "Ямы", None)] * 10
        rows += [(f"{monday + timedelta(days=6)}T10:00", "Ямы", None)] * 2
    frame = make(rows)
    monday = start + timedelta(weeks=9)
    table = compare_periods(frame, monday, monday, "topic", agg)
    assert table.loc["Ямы", "count"] == 10
    assert table.loc["Ямы", "previous"] == 2  # the Sunday before
    assert table.loc["Ямы", "baseline"] == pytest.approx(10)  # earlier Mondays
    assert table.loc["Ямы", "growth_baseline"] == pytest.approx(0)
    assert table.loc["Ямы", "growth_previous"] == pytest.approx(4.0)


def test_growth_against_previous_period(agg):
    rows = [("2025-02-03", "Ямы", None)] * 4 + [("2025-02-10", "Ямы", None)] * 6 + [("2025-02-10", "Свет", None)]
    table = compare_periods(make(rows), date(2025, 2, 10), date(2025, 2, 16), "topic", agg)
    assert table.loc["Ямы", "growth_previous"] == pytest.approx(0.5)
    assert pd.isna(table.loc["Свет", "growth_previous"])  # nothing before: no growth figure
    assert table["share"].sum() == pytest.approx(1.0)


def test_headline_shares(agg):
    rows = [("2025-02-03", "Ямы", "critical"), ("2025-02-04", "Ямы", "normal"),
            ("2025-02-05", "Свет", "low"), ("2025-02-06", "Свет", None)]
    frame = make(rows, needs_review=["true", "0", "1", ""], corrected=[False, False, True, False])
    head = headline(frame, date(2025, 2, 3), date(2025, 2, 9), agg)
    assert head["appeals"] == 4 and head["topics"] == 2
    assert head["critical"] == pytest.approx(0.25)
    assert head["review"] == pytest.approx(0.5)
    assert head["corrected"] == pytest.approx(0.25)


def test_weekly_shares(agg):
    rows = [("2025-02-03", "Ямы", "critical"), ("2025-02-04", "Ямы", "normal"), ("2025-02-11", "Ямы", "low")]
    table = weekly_shares(make(rows, corrected=[True, False, False]), agg)
    assert table["appeals"].tolist() == [2, 1]
    assert table["critical"].tolist() == [0.5, 0.0]
    assert table["corrected"].tolist() == [0.5, 0.0]


def test_config_is_frozen():
    cfg = load_trends_config()
    with pytest.raises(Exception, match="frozen"):
        cfg.spikes.false_alarm_rate = 0.5  # type: ignore[misc]


def test_unknown_shares_are_missing_not_zero(agg):
    frame = make([("2025-02-03", "Ямы", None), ("2025-02-04", "Ямы", None)])
    head = headline(frame, date(2025, 2, 3), date(2025, 2, 9), agg)
    assert head["critical"] is None and head["review"] is None and head["corrected"] is None


@pytest.mark.parametrize("key", ["semantic_weight", "split_above"])
def test_every_emerging_key_is_required(tmp_path, key):
    """trends.toml says every key is required: a config without one is refused, naming it."""
    from appeals.config import ConfigError
    from appeals.trends_config import default_config_path

    text = default_config_path().read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    path = tmp_path / "trends.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError, match=key):
        load_trends_config(path)
