"""The stream simulator of `make eval` on a small made-up pool: no real data needed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from evaluation.simulate_stream import Pool, fresh_texts, load_simulation_config, simulate_stream

TOPICS = {"Дороги": 60, "Освещение": 40, "Мусор": 30, "Новое": 12, "Одинокая": 1}


@pytest.fixture(scope="module")
def pool() -> Pool:
    rows = [(f"{topic} {i}", topic, "Группа", "Город Пермь" if i % 2 else "Другое")
            for topic, n in TOPICS.items() for i in range(n)]
    frame = pd.DataFrame(rows, columns=["text", "topic", "topic_group", "department"])
    frame["home"] = frame["department"].map({"Город Пермь": "Пермь"})
    shares = frame["topic"].value_counts(normalize=True)
    return Pool(train=frame.iloc[:0], pool=frame, shares=shares, held_out=["Новое"])


@pytest.fixture(scope="module")
def sim():
    cfg = load_simulation_config()
    return cfg.model_copy(update={
        "weeks": 12, "weekly_volume": 400.0, "start": date(2025, 1, 6),
        "spikes": cfg.spikes.model_copy(update={"first_week": 6, "per_stream": 2, "min_cell_mean": 5.0})})


def test_fresh_texts_are_the_same_share_of_every_topic(pool):
    fresh = fresh_texts(np.random.default_rng(0), pool.pool, 0.3)
    topics = pool.pool["topic"]
    assert fresh[topics == "Новое"].sum() == 4
    assert fresh[topics == "Дороги"].sum() == 18
    assert fresh[topics == "Мусор"].sum() == 9
    assert not fresh[topics == "Одинокая"].any()  # one text: nothing to keep apart


def test_recent_weeks_of_known_topics_never_repeat_an_earlier_text(pool, sim):
    stream, truth = simulate_stream(pool, sim, 0)
    recent_from = pd.Timestamp(truth["held_out_from"])
    known = stream[stream["topic"] != "Новое"]
    early = set(known.loc[known["created_at"] < recent_from, "text"])
    late = known.loc[known["created_at"] >= recent_from]
    repeated = late[late["text"].isin(early)]
    # Only the topic with a single text has to repeat it.
    assert set(repeated["topic"]) <= {"Одинокая"}
    assert len(late) > 100 and late["topic"].nunique() >= 3


def test_the_held_out_topic_appears_only_in_the_last_weeks(pool, sim):
    stream, truth = simulate_stream(pool, sim, 0)
    held = stream[stream["topic"] == truth["held_out_topic"]]
    assert len(held) > 0 and held["text"].nunique() <= 4  # its fresh share only
    assert held["created_at"].min() >= pd.Timestamp(truth["held_out_from"])
    assert stream["created_at"].min() >= pd.Timestamp(truth["start"])


def test_the_same_index_gives_the_same_stream(pool, sim):
    first, _ = simulate_stream(pool, sim, 1)
    again, _ = simulate_stream(pool, sim, 1)
    other, _ = simulate_stream(pool, sim, 2)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) != len(other) or not first["text"].equals(other["text"])
