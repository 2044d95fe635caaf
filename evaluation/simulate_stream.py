"""Stream simulator for the trend targets: real labelled appeals given dates and districts.

Appeals of the real Perm data (the grouped `pool` part, never seen by the topic model) are drawn
week by week: a weekly volume with noise, topic shares from the whole dataset with a slow random
drift, a weekday rhythm, districts from the municipal executors or drawn at random. Spikes of
+50 % .. +300 % for one or two weeks are planted in chosen topics or topic x district cells by
drawing extra appeals of that topic, and one topic (held out of the topic model) appears only in
the last weeks. Every stream comes with its ground truth.

    python -m evaluation.simulate_stream --out streams/ --streams 3   # data: APPEALS_DATA_DIR or --data-dir
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from appeals.config import load_config, project_root

CONFIG_PATH = project_root() / "training" / "configs" / "trends_eval.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlantConfig(_Frozen):
    per_stream: int
    magnitudes: list[float]
    durations: list[int]
    min_cell_mean: float
    first_week: int
    district_share: float


class HeldOutConfig(_Frozen):
    candidates: int
    min_texts: int
    max_texts: int
    min_f1: float
    weeks: int
    fresh_share: float


class SimulationConfig(_Frozen):
    dataset: str
    seed: int
    streams: int
    weeks: int
    start: date
    weekly_volume: float
    volume_noise: float
    topic_drift: float
    weekday_profile: list[float]
    district_weights: dict[str, float]
    municipal_districts: dict[str, str]
    pool_share: float
    val_share: float
    spikes: PlantConfig
    held_out: HeldOutConfig

    @property
    def recent_from(self) -> int:
        """The first of the last `held_out.weeks` weeks: the held-out topic and the fresh texts begin there."""
        return self.weeks - self.held_out.weeks


def load_simulation_config(path: Path | str | None = None) -> SimulationConfig:
    return load_config(Path(path) if path else CONFIG_PATH, SimulationConfig)


@dataclass
class Pool:
    """`train` for the topic model, `pool` to draw streams from (disjoint groups of texts)."""

    train: pd.DataFrame
    pool: pd.DataFrame
    shares: pd.Series  # topic -> share of all appeals of the dataset
    held_out: list[str]  # candidate topics to hold out, in order


def train_topic_model(train: pd.DataFrame, held_out: str | None, seed: int) -> Any:
    """A quick TF-IDF + logistic (SGD) topic model on lemmas, without the `held_out` topic."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    part = train[(train["topic"] != held_out) & train["topic"].notna()]
    model = make_pipeline(
        TfidfVectorizer(min_df=2, sublinear_tf=True, max_features=50_000),
        SGDClassifier(loss="log_loss", alpha=5e-5, max_iter=5, tol=None, random_state=seed))
    return model.fit(part["lemmas"], part["topic"])


def held_out_candidates(train: pd.DataFrame, val: pd.DataFrame, sizes: pd.Series,
                        cfg: SimulationConfig) -> list[str]:
    """Topics of a middle size that the quick model recognises on `val` (F1 >= min_f1), shuffled."""
    from sklearn.metrics import f1_score

    model = train_topic_model(train, None, cfg.seed)
    labels = sorted(set(val["topic"].dropna()) & set(model.classes_))
    f1 = pd.Series(f1_score(val["topic"], model.predict(val["lemmas"]), labels=labels, average=None,
                            zero_division=0), index=labels)
    fit = [t for t in labels if cfg.held_out.min_texts <= sizes.get(t, 0) <= cfg.held_out.max_texts
           and f1[t] >= cfg.held_out.min_f1]
    rng = np.random.default_rng(cfg.seed)
    return [str(t) for t in rng.permutation(np.array(sorted(fit), dtype=object))[: cfg.held_out.candidates]]


def load_pool(data_dir: Path, cfg: SimulationConfig) -> Pool:
    """Grouped split of the dataset, lemmas for the topic model, held-out candidates."""
    from appeals.datasets import load_dataset
    from appeals.nlp import lemmatize_many
    from appeals.splits import make_split

    frame = load_dataset(cfg.dataset, data_dir).frame
    split, collapsed = make_split(frame, cfg.dataset, target="topic", seed=cfg.seed,
                                  val_size=cfg.val_share, test_size=cfg.pool_share)
    train, val, pool = (split.frame_part(collapsed, part) for part in ("train", "val", "test"))
    for part in (train, val, pool):
        part["lemmas"] = lemmatize_many(part["text"])
    pool = pool.assign(home=pool["department"].map(cfg.municipal_districts))
    shares = frame["topic"].value_counts(normalize=True)
    shares = shares[shares.index.isin(pool["topic"].unique())]
    held = held_out_candidates(train, val, collapsed["topic"].value_counts(), cfg)
    return Pool(train=train, pool=pool.reset_index(drop=True), shares=shares / shares.sum(), held_out=held)


def weekly_rates(rng: np.random.Generator, shares: pd.Series, cfg: SimulationConfig) -> np.ndarray:
    """Expected appeals per (week, topic): noisy volume x drifting shares."""
    volume = cfg.weekly_volume * np.exp(rng.normal(0, cfg.volume_noise, cfg.weeks))
    walk = np.cumsum(rng.normal(0, cfg.topic_drift, (cfg.weeks, len(shares))), axis=0)
    mix = shares.to_numpy()[None, :] * np.exp(walk)
    return volume[:, None] * mix / mix.sum(axis=1, keepdims=True)


def fresh_texts(rng: np.random.Generator, pool: pd.DataFrame, share: float) -> np.ndarray:
    """Per pool text, whether it is kept for the last weeks: `share` of each topic's texts (at least
    one, and never all of a topic with two or more). A real stream does not repeat an old text in the
    new weeks, so the recent appeals of known topics must not be earlier ones again; the held-out topic
    draws from the same share of its texts, so its texts come as often as the others' in those weeks."""
    topics = pool["topic"].to_numpy()
    fresh = np.zeros(len(pool), dtype=bool)
    for topic in pd.unique(topics):
        members = np.flatnonzero(topics == topic)
        if len(members) < 2:
            continue
        n = int(np.clip(round(share * len(members)), 1, len(members) - 1))
        fresh[rng.choice(members, size=n, replace=False)] = True
    return fresh


def draw_rows(rng: np.random.Generator, pool: pd.DataFrame, topic: str, weeks: np.ndarray,
              fresh: np.ndarray, fresh_from: int, district: str | None = None) -> pd.DataFrame:
    """Appeals of `topic` drawn (with replacement) from the pool for the given week numbers: weeks from
    `fresh_from` on draw only the `fresh` texts, earlier weeks only the others (a topic with texts on
    one side only draws from all of them)."""
    in_topic = pool["topic"].to_numpy() == topic
    picked = np.empty(len(weeks), dtype=np.int64)
    late = weeks >= fresh_from
    for side, rows_of in ((False, ~late), (True, late)):
        if not rows_of.any():
            continue
        members = np.flatnonzero(in_topic & (fresh == side))
        if not len(members):
            members = np.flatnonzero(in_topic)
        picked[rows_of] = rng.choice(members, size=int(rows_of.sum()))
    rows = pd.DataFrame({"pool_index": picked, "week": weeks})
    rows["district"] = district
    return rows


def assign_dates(rng: np.random.Generator, rows: pd.DataFrame, start: date,
                 cfg: SimulationConfig) -> pd.Series:
    profile = np.array(cfg.weekday_profile) / sum(cfg.weekday_profile)
    day = rng.choice(7, size=len(rows), p=profile)
    seconds = rng.integers(7 * 3600, 21 * 3600, size=len(rows))
    offset = pd.to_timedelta(rows["week"].to_numpy() * 7 + day, unit="D") + pd.to_timedelta(seconds, unit="s")
    return pd.Timestamp(start) + pd.Series(offset, index=rows.index)


def assign_districts(rng: np.random.Generator, rows: pd.DataFrame, pool: pd.DataFrame,
                     cfg: SimulationConfig) -> pd.Series:
    home = pool["home"].to_numpy()[rows["pool_index"].to_numpy()]
    names = list(cfg.district_weights)
    weights = np.array(list(cfg.district_weights.values()))
    drawn = rng.choice(names, size=len(rows), p=weights / weights.sum())
    chosen = np.where(pd.isna(home), drawn, home)
    planted = rows["district"].to_numpy()
    return pd.Series(np.where(pd.isna(planted), chosen, planted), index=rows.index)


def base_rows(rng: np.random.Generator, pool: Pool, held_out: str, fresh: np.ndarray,
              cfg: SimulationConfig) -> pd.DataFrame:
    rates = weekly_rates(rng, pool.shares, cfg)
    counts = rng.poisson(rates)
    parts = []
    for k, topic in enumerate(pool.shares.index):
        weeks = np.repeat(np.arange(cfg.weeks), counts[:, k])
        if topic == held_out:
            weeks = weeks[weeks >= cfg.recent_from]
        parts.append(draw_rows(rng, pool.pool, str(topic), weeks, fresh, cfg.recent_from))
    rows = pd.concat(parts, ignore_index=True)
    rows["district"] = assign_districts(rng, rows, pool.pool, cfg)
    return rows


def choose_spikes(rng: np.random.Generator, rows: pd.DataFrame, pool: pd.DataFrame, held_out: str,
                  cfg: SimulationConfig) -> list[dict]:
    """Cells with enough volume, distinct topics, a start week, a duration and a magnitude each."""
    plant = cfg.spikes
    topics = pool["topic"].to_numpy()[rows["pool_index"].to_numpy()]
    early = rows["week"].to_numpy() < plant.first_week
    cells = pd.DataFrame({"topic": topics, "district": rows["district"]})[early]
    topic_mean = cells.groupby("topic").size() / plant.first_week
    cell_mean = cells.groupby(["topic", "district"]).size() / plant.first_week
    spikes: list[dict] = []
    used = {held_out}
    for i in range(plant.per_stream):
        at_district = rng.random() < plant.district_share
        means = cell_mean if at_district else topic_mean
        ok = [key for key, m in means.items() if m >= plant.min_cell_mean
              and (key[0] if at_district else key) not in used]
        if not ok:
            continue
        key = ok[rng.integers(len(ok))]
        topic, district = key if at_district else (key, None)
        used.add(topic)
        spikes.append({"topic": topic, "district": district,
                       "week": int(rng.integers(plant.first_week, cfg.weeks - 1)),
                       "weeks": int(rng.choice(plant.durations)),
                       "magnitude": plant.magnitudes[i % len(plant.magnitudes)]})
    return spikes


def plant_spikes(rng: np.random.Generator, rows: pd.DataFrame, pool: pd.DataFrame,
                 spikes: list[dict], fresh: np.ndarray, cfg: SimulationConfig) -> pd.DataFrame:
    """Add extra appeals: Poisson(magnitude x the cell's weekly count over the 8 weeks before)."""
    topics = pool["topic"].to_numpy()[rows["pool_index"].to_numpy()]
    extra = []
    for spike in spikes:
        in_cell = topics == spike["topic"]
        if spike["district"] is not None:
            in_cell &= rows["district"].to_numpy() == spike["district"]
        before = (rows["week"] >= spike["week"] - 8) & (rows["week"] < spike["week"])
        spike["expected"] = float((in_cell & before.to_numpy()).sum() / 8)
        for w in range(spike["week"], min(spike["week"] + spike["weeks"], cfg.weeks)):
            n = rng.poisson(spike["expected"] * spike["magnitude"])
            part = draw_rows(rng, pool, spike["topic"], np.full(n, w), fresh, cfg.recent_from, spike["district"])
            if spike["district"] is None:
                part["district"] = assign_districts(rng, part, pool, cfg)
            extra.append(part)
    return pd.concat([rows, *extra], ignore_index=True)


def simulate_stream(pool: Pool, cfg: SimulationConfig, index: int) -> tuple[pd.DataFrame, dict]:
    """Stream number `index`: (appeals with created_at, topic, district, …, pool_index; ground truth)."""
    rng = np.random.default_rng([cfg.seed, index])
    start = cfg.start + timedelta(weeks=index)
    held_out = pool.held_out[index % len(pool.held_out)]
    fresh = fresh_texts(np.random.default_rng([cfg.seed, index, 1]), pool.pool, cfg.held_out.fresh_share)
    rows = base_rows(rng, pool, held_out, fresh, cfg)
    spikes = choose_spikes(rng, rows, pool.pool, held_out, cfg)
    rows = plant_spikes(rng, rows, pool.pool, spikes, fresh, cfg)
    rows["created_at"] = assign_dates(rng, rows, start, cfg)
    source = pool.pool.iloc[rows["pool_index"].to_numpy()].reset_index(drop=True)
    stream = pd.DataFrame({"created_at": rows["created_at"].to_numpy(), "topic": source["topic"],
                           "topic_group": source["topic_group"], "department": source["department"],
                           "district": rows["district"].to_numpy(), "text": source["text"],
                           "pool_index": rows["pool_index"].to_numpy()})
    stream = stream.sort_values("created_at", kind="stable").reset_index(drop=True)
    for spike in spikes:
        spike["start"] = (start + timedelta(weeks=spike.pop("week"))).isoformat()
    truth = {"stream": index, "start": start.isoformat(), "weeks": cfg.weeks, "appeals": len(stream),
             "spikes": spikes, "held_out_topic": held_out,
             "held_out_from": (start + timedelta(weeks=cfg.recent_from)).isoformat()}
    return stream, truth


def main() -> None:
    import argparse

    from appeals.config import require_data_dir

    parser = argparse.ArgumentParser(description="Write simulated appeal streams and their ground truth.")
    parser.add_argument("--out", type=Path, required=True, help="folder for stream_<i>.csv.gz + truth_<i>.json")
    parser.add_argument("--streams", type=int, default=None, help="how many (default: the config's)")
    parser.add_argument("--data-dir", default=None, help="real datasets (default $APPEALS_DATA_DIR)")
    args = parser.parse_args()
    cfg = load_simulation_config()
    pool = load_pool(require_data_dir(args.data_dir), cfg)
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.streams or cfg.streams):
        stream, truth = simulate_stream(pool, cfg, i)
        stream.drop(columns="pool_index").to_csv(args.out / f"stream_{i}.csv.gz", index=False)
        (args.out / f"truth_{i}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), "utf-8")
        print(f"stream {i}: {len(stream)} appeals, {len(truth['spikes'])} spikes, "
              f"held out {truth['held_out_topic']!r}")


if __name__ == "__main__":
    main()
