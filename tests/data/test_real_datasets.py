"""The real datasets load with the row and label counts that SOURCES.md gives (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appeals.datasets import load_dataset
from appeals.splits import collapse_duplicates

pytestmark = pytest.mark.realdata


def test_perm(real_data_dir: Path) -> None:
    res = load_dataset("perm_promobot_2023", real_data_dir)
    frame = res.frame
    assert len(frame) == 18_371 and res.skipped_rows == 0  # this copy holds 18,371 of 23,128 rows
    assert frame["topic"].nunique() == 195
    assert frame["topic_group"].nunique() == 26
    assert frame["department"].nunique() == 10
    # each topic belongs to exactly one group
    assert frame.groupby("topic")["topic_group"].nunique().max() == 1
    _, report = collapse_duplicates(frame)
    assert report.duplicate_groups > 0 and report.conflicts["topic"] > 0


def test_kursk(real_data_dir: Path) -> None:
    frame = load_dataset("kursk_2022", real_data_dir).frame
    train = frame[frame["source_split"] == "train"]
    test = frame[frame["source_split"] == "test"]
    assert len(train) == 2_000 and len(test) == 1_000
    assert train["topic"].nunique() == 161 and train["department"].nunique() == 75
    assert test["topic"].nunique() == 119 and test["department"].nunique() == 64
    counts = train["topic_group"].value_counts()
    assert counts["ЖКХ и благоустройство"] == 954 and counts["Дороги, парковки и пешеходные переходы"] == 478
    assert counts["Тестовая категория"] == 1 and len(counts) == 17
    assert test["topic_group"].notna().sum() == 981  # test rows whose topic was seen in train


def test_ryazan(real_data_dir: Path) -> None:
    res = load_dataset("ryazan_nashdom_2019", real_data_dir)
    frame = res.frame
    assert len(frame) == 1_788 and res.skipped_rows == 1  # one empty text, counted
    assert frame["topic_group"].nunique() == 30 and frame["topic"].nunique() == 163
    assert frame["topic_group"].value_counts()["Многоквартирные дома"] == 453
    assert frame["department"].isna().sum() == 1


def test_omsk_feed(real_data_dir: Path) -> None:
    frame = load_dataset("omsk_demo_feed_2026", real_data_dir).frame
    assert len(frame) == 150
    assert frame["created_at"].min().year == 2024 and frame["created_at"].max().year == 2026
