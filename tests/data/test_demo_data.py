"""The shipped demo dataset (data/demo_appeals.csv) meets the issue's requirements and is reproducible."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from appeals.datasets import load_any, load_dataset
from appeals.schema import URGENCY_LEVELS
from appeals.text import normalize_for_dedup

DATA = Path(__file__).resolve().parents[2] / "data"
CSV = DATA / "demo_appeals.csv"
COLUMNS = ["id", "text", "created_at", "channel", "municipality", "district", "address",
           "topic", "topic_group", "department", "urgency"]
PHONE_RE = re.compile(r"(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w.-]+")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    frame = pd.read_csv(CSV, dtype=str, keep_default_na=False, encoding="utf-8")
    frame["ts"] = pd.to_datetime(frame["created_at"], format="ISO8601")
    return frame


@pytest.fixture(scope="module")
def spec() -> dict:
    with (DATA / "demo_templates.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_columns_and_unique_ids(raw: pd.DataFrame) -> None:
    assert list(raw.columns[:-1]) == COLUMNS
    assert raw["id"].is_unique
    assert (raw["text"].str.strip() != "").all()


@pytest.mark.parametrize(("field", "minimum"), [
    ("topic", 15), ("topic_group", 6), ("department", 8), ("district", 10), ("channel", 5)])
def test_enough_distinct_labels(raw: pd.DataFrame, field: str, minimum: int) -> None:
    assert raw[field].nunique() >= minimum
    assert (raw[field] != "").all()


def test_size_urgency_levels_and_critical_share(raw: pd.DataFrame) -> None:
    assert len(raw) >= 600
    assert set(raw["urgency"]) == set(URGENCY_LEVELS)
    assert 0.08 <= (raw["urgency"] == "critical").mean() <= 0.12


def test_each_topic_has_one_group_and_every_class_is_learnable(raw: pd.DataFrame) -> None:
    assert (raw.groupby("topic")["topic_group"].nunique() == 1).all()
    assert raw["topic"].value_counts().min() >= 15


def test_dates_span_at_least_26_weeks_with_a_weekly_rhythm(raw: pd.DataFrame) -> None:
    weeks = raw["ts"].dt.to_period("W-SUN").nunique()
    assert weeks >= 26
    weekday = raw["ts"].dt.weekday
    assert (weekday < 5).sum() / 5 > 1.5 * (weekday >= 5).sum() / 2


def test_department_depends_on_place_for_district_work(raw: pd.DataFrame) -> None:
    yard = raw[raw["topic"] == "Уборка территории"]
    stems = yard["district"].str[:-2]
    assert all(dep.startswith(f"Администрация {stem}") for dep, stem in zip(yard["department"], stems, strict=True))
    assert (raw.groupby("topic")["department"].nunique() > 1).sum() >= 3


def test_every_street_lies_in_one_district(raw: pd.DataFrame) -> None:
    located = raw[raw["address"] != ""]
    street = located["address"].str.split(", д. ").str[0]
    assert (located.groupby(street)["district"].nunique() == 1).all()


def test_urgency_agrees_with_season(raw: pd.DataFrame) -> None:
    cold = raw["ts"].dt.month.isin([10, 11, 12, 1, 2, 3, 4])
    no_heat = raw["text"].str.contains("нет отопления", case=False) & (raw["topic"] == "Отопление")
    assert (raw.loc[no_heat, "urgency"] == "critical").all() and no_heat.sum() >= 5
    assert cold[no_heat].all()
    snow = raw["topic"] == "Уборка снега и наледи"
    assert raw.loc[snow, "ts"].dt.month.isin([11, 12, 1, 2, 3]).all()


def test_short_low_urgency_texts_exist(raw: pd.DataFrame) -> None:
    short = raw[raw["text"].str.split().str.len() <= 3]
    assert len(short) >= 3
    assert {"low"} <= set(short["urgency"])


def test_personal_data_is_present_and_fictional(raw: pd.DataFrame) -> None:
    phones = [p for text in raw["text"] for p in PHONE_RE.findall(text)]
    emails = [e for text in raw["text"] for e in EMAIL_RE.findall(text)]
    assert len(phones) >= 40 and len(emails) >= 10
    assert all(re.sub(r"\D", "", p)[1:7] == "900000" for p in phones)
    assert all(e.rstrip(".").endswith(("example.ru", "example.com", "example.org")) for e in emails)
    with_pd = raw["text"].str.contains(r"900|@|кв\. \d|зовут|[А-Я]\. ?[А-Я]\.", regex=True)
    assert 0.10 <= with_pd.mean() <= 0.25


def test_planted_spikes_stand_out(raw: pd.DataFrame, spec: dict) -> None:
    for spike in spec["spike"]:
        start = pd.Timestamp(spike["start"])
        rows = raw[(raw["topic"] == spike["topic"])
                   & ((raw["district"] == spike["district"]) if spike["district"] else True)]
        inside = rows["ts"].between(start, start + pd.Timedelta(days=spike["days"]), inclusive="left").sum()
        before = rows["ts"].between(start - pd.Timedelta(weeks=8), start, inclusive="left").sum()
        per_week_inside, per_week_before = inside / (spike["days"] / 7), before / 8
        assert per_week_inside >= 3 * (per_week_before + 1), spike


def test_burst_of_near_duplicates_at_one_address(raw: pd.DataFrame, spec: dict) -> None:
    burst = spec["burst"]
    start = pd.Timestamp(burst["start"])
    rows = raw[(raw["address"] == f"{burst['street']}, д. {burst['house']}")
               & raw["ts"].between(start, start + pd.Timedelta(days=2))]
    assert len(rows) >= burst["count"]
    assert set(rows["urgency"]) == {"critical"} and set(rows["topic"]) == {burst["topic"]}
    keys = rows["text"].map(normalize_for_dedup)
    assert keys.duplicated().sum() >= 1
    assert keys.nunique() >= burst["count"] - 2


def test_regenerating_gives_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "demo.csv"
    subprocess.run([sys.executable, str(DATA / "make_demo.py"), "--output", str(out)],
                   check=True, capture_output=True, timeout=120)
    assert out.read_bytes() == CSV.read_bytes()


def test_loads_through_load_any_without_warnings(raw: pd.DataFrame) -> None:
    result = load_any("demo")
    assert result.warnings == [] and result.skipped_rows == 0
    frame = result.frame
    assert len(frame) == len(raw)
    assert frame["urgency"].notna().all() and frame["topic"].notna().all()
    assert frame["created_at"].notna().all()


def test_loaded_dates_match_the_file(raw: pd.DataFrame) -> None:
    frame = load_any("demo").frame
    assert (pd.to_datetime(frame["created_at"]).to_numpy() == raw["ts"].to_numpy()).all()


@pytest.mark.realdata
@pytest.mark.slow
def test_no_text_copied_from_the_real_datasets(raw: pd.DataFrame, real_data_dir: Path) -> None:
    """No run of eight words of a demo text occurs in any real dataset."""
    n = 8
    demo_grams: set[tuple[str, ...]] = set()
    for text in raw["text"]:
        words = normalize_for_dedup(text).split()
        demo_grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    shared: set[tuple[str, ...]] = set()
    for name in ("perm_promobot_2023", "kursk_2022", "ryazan_nashdom_2019", "omsk_demo_feed_2026"):
        for text in load_dataset(name, real_data_dir).frame["text"]:
            words = normalize_for_dedup(text).split()
            shared.update(g for i in range(len(words) - n + 1) if (g := tuple(words[i:i + n])) in demo_grams)
    assert not shared, sorted(shared)[:5]
