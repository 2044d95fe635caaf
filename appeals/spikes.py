"""Spike detection: is this week's count of a topic (or topic x district) higher than expected?

Expected = the mean of the trailing weeks (same weekday for daily series). The observed count is
tested against a negative binomial whose variance is mu + od * mu^2 + mu / n: overdispersion `od`
estimated from the series' own longer history (method of moments, bounded), plus the uncertainty of
a mean estimated from n weeks. Weeks flagged as spikes are replaced by their expected value before
they enter later baselines (for up to `masked_weeks` weeks in a row), so a two-week spike does not
hide its own second week while a lasting new level still becomes the norm.

A second test looks at two-week sums against the sums of earlier weeks: a rise too small to stand
out in one week can be clear over two (+50 % on a cell of 25 appeals a week is about 2.5 standard
deviations in one week, 3.5 over two). It raises an alert covering both weeks, at the end of the
second, only where neither week was flagged on its own. The one-week and two-week tests share the
false-alarm rate (`pair_alpha_share` goes to the two-week test).
The score is -log10 of the one-sided p-value.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from appeals.trends import SpikeConfig, counts_over_time


class Alert(BaseModel):
    """One alert of alerts.json: a contract other tools read; do not rename the fields."""

    model_config = ConfigDict(frozen=True)

    topic: str
    district: str | None
    period_start: date
    period_end: date
    observed: int
    expected: float
    score: float


def upper_tail(observed: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P(X >= observed) under a negative binomial with mean mu and variance var (Poisson if var <= mu)."""
    observed = np.asarray(observed, dtype=float)
    mu = np.asarray(mu, dtype=float)
    var = np.maximum(np.asarray(var, dtype=float), mu * (1 + 1e-9))
    size = mu**2 / (var - mu)
    prob = mu / var
    with np.errstate(divide="ignore", invalid="ignore"):
        nb = stats.nbinom.sf(observed - 1, size, prob)
    return np.where(observed <= 0, 1.0, np.clip(nb, 0.0, 1.0))


def _overdispersion(history: np.ndarray, cfg: SpikeConfig) -> np.ndarray:
    mean = history.mean(axis=0)
    var = history.var(axis=0, ddof=1) if len(history) > 1 else np.zeros_like(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        od = np.where(mean > 0, (var - mean) / np.maximum(mean, 1e-9) ** 2, cfg.min_overdispersion)
    return np.clip(od, cfg.min_overdispersion, cfg.max_overdispersion)


def score_series(counts: np.ndarray, cfg: SpikeConfig, alpha: float | np.ndarray,
                 season: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected counts, p-values and alert flags for a (periods x series) count matrix.

    `season` is the lag between comparable periods: 1 for weeks, 7 for days (weekday seasonality).
    Periods without `min_baseline_weeks` comparable periods before them get NaN and no alert.
    """
    expected, pvalue, flags, _ = _score_single(counts, cfg, alpha, season)
    return expected, pvalue, flags


def _score_single(counts: np.ndarray, cfg: SpikeConfig, alpha: float | np.ndarray,
                  season: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`score_series` plus the cleaned counts (flagged periods replaced by their expected value)."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim == 1:
        counts = counts[:, None]
    clean = counts.copy()
    expected = np.full(counts.shape, np.nan)
    pvalue = np.full(counts.shape, np.nan)
    flags = np.zeros(counts.shape, dtype=bool)
    run = np.zeros(counts.shape[1], dtype=int)
    for t in range(counts.shape[0]):
        lags = t - season * np.arange(1, cfg.dispersion_weeks + 1)
        lags = lags[lags >= 0]
        if len(lags) < cfg.min_baseline_weeks:
            continue
        base = clean[lags[: cfg.baseline_weeks]]
        mu = np.maximum(base.mean(axis=0), cfg.expected_floor)
        var = mu + _overdispersion(clean[lags], cfg) * mu**2 + mu / len(base)
        expected[t] = mu
        pvalue[t] = upper_tail(counts[t], mu, var)
        flags[t] = ((pvalue[t] < alpha) & (counts[t] >= cfg.min_observed)
                    & (counts[t] - mu >= cfg.min_excess))
        run = np.where(flags[t], run + 1, 0)
        # a spike is kept out of later baselines, a lasting new level is let in after a while
        clean[t] = np.where(flags[t] & (run <= cfg.masked_weeks), mu, counts[t])
    return expected, pvalue, flags, clean


def score_pairs(counts: np.ndarray, cfg: SpikeConfig, alpha: float | np.ndarray,
                single_alpha: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected two-week sums, p-values and flags for the weeks t-1 and t (row t) of a weekly count
    matrix. A pair is flagged only when neither of its weeks is flagged by the one-week test at
    `single_alpha` and the pair before it is not flagged (one alert per rise). The baseline is the
    mean of the two-week sums of the cleaned series ending before week t-1."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim == 1:
        counts = counts[:, None]
    _, _, single, clean = _score_single(counts, cfg, single_alpha, 1)
    return _score_pairs(counts, clean, single, cfg, alpha)


def _score_pairs(counts: np.ndarray, clean: np.ndarray, single: np.ndarray, cfg: SpikeConfig,
                 alpha: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`score_pairs` on a 2-D count matrix, given the one-week pass's cleaned counts and flags."""
    pairs = np.vstack((np.zeros((1, counts.shape[1])), counts[1:] + counts[:-1]))  # row t: weeks t-1, t
    clean_pairs = np.vstack((np.zeros((1, counts.shape[1])), clean[1:] + clean[:-1]))
    expected = np.full(counts.shape, np.nan)
    pvalue = np.full(counts.shape, np.nan)
    flags = np.zeros(counts.shape, dtype=bool)
    for t in range(1, counts.shape[0]):
        ends = t - 2 - np.arange(cfg.dispersion_weeks)  # pairs ending two or more weeks before t
        ends = ends[ends >= 1]
        if len(ends) < cfg.min_baseline_weeks:
            continue
        base = clean_pairs[ends[: cfg.baseline_weeks]]
        mu = np.maximum(base.mean(axis=0), 2 * cfg.expected_floor)
        # overlapping sums: about half as many independent ones as there are sums in the baseline
        var = mu + _overdispersion(clean_pairs[ends], cfg) * mu**2 + 2 * mu / len(base)
        expected[t] = mu
        pvalue[t] = upper_tail(pairs[t], mu, var)
        flags[t] = ((pvalue[t] < alpha) & (pairs[t] >= cfg.min_observed) & (pairs[t] - mu >= cfg.min_excess)
                    & ~single[t] & ~single[t - 1] & ~flags[t - 1])
    return expected, pvalue, flags


def score(pvalue: float, cfg: SpikeConfig) -> float:
    return round(float(min(-np.log10(max(pvalue, 1e-300)), cfg.max_score)), 3)


def _alerts_from(weekly: pd.DataFrame, cfg: SpikeConfig, alpha: float | np.ndarray,
                 district_level: bool) -> list[Alert]:
    """One-week alerts at `alpha` x (1 - pair_alpha_share), two-week alerts at the rest."""
    counts = weekly.to_numpy().astype(float)
    expected, pvalue, single, clean = _score_single(counts, cfg, alpha * (1 - cfg.pair_alpha_share), 1)
    alerts = _alerts(weekly, counts, expected, pvalue, single, 1, cfg, district_level)
    if cfg.pair_alpha_share > 0:  # row t of the pair arrays: weeks t-1 and t; shifted to start at t-1
        expected, pvalue, flags = _score_pairs(counts, clean, single, cfg, alpha * cfg.pair_alpha_share)
        alerts += _alerts(weekly, counts[1:] + counts[:-1], expected[1:], pvalue[1:], flags[1:], 2, cfg,
                          district_level)
    return alerts


def _alerts(weekly: pd.DataFrame, observed: np.ndarray, expected: np.ndarray, pvalue: np.ndarray,
            flags: np.ndarray, weeks: int, cfg: SpikeConfig, district_level: bool) -> list[Alert]:
    """Alerts of the flagged cells: row t of the arrays covers `weeks` weeks starting at weekly row t."""
    alerts = []
    for t, k in zip(*np.nonzero(flags), strict=True):
        start = weekly.index[t].date()
        key = weekly.columns[k]
        topic, district = (key if district_level else (key, None))
        alerts.append(Alert(topic=str(topic), district=None if district is None else str(district),
                            period_start=start, period_end=start + timedelta(days=7 * weeks - 1),
                            observed=int(observed[t, k]), expected=round(float(expected[t, k]), 2),
                            score=score(float(pvalue[t, k]), cfg)))
    return alerts


def _complete_weeks(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the first week when the data starts mid-week and the last one when it ends mid-week."""
    first, last = frame["created_at"].min(), frame["created_at"].max()
    lo = first.normalize() if first.weekday() == 0 else first.normalize() + pd.Timedelta(days=7 - first.weekday())
    hi = last.normalize() + pd.Timedelta(days=1) if last.weekday() == 6 else (
        last.normalize() - pd.Timedelta(days=last.weekday()))
    return frame[(frame["created_at"] >= lo) & (frame["created_at"] < hi)]


def topic_district_weekly(frame: pd.DataFrame, cfg: SpikeConfig) -> pd.DataFrame:
    """Weekly counts per (topic, district) for the cells whose mean weekly count allows a test."""
    cells = frame.dropna(subset=["district"])
    if cells.empty:
        return pd.DataFrame()
    key = cells["topic"].astype(str) + "\x1f" + cells["district"].astype(str)
    weekly = counts_over_time(cells.assign(cell=key.astype("category")), "W", "cell")
    weekly = weekly.loc[:, weekly.mean() >= cfg.min_district_mean]
    if weekly.empty:
        return pd.DataFrame()
    weekly.columns = pd.MultiIndex.from_tuples([tuple(c.split("\x1f", 1)) for c in weekly.columns])
    return weekly


def detect_spikes(frame: pd.DataFrame, cfg: SpikeConfig, since: date | None = None,
                  until: date | None = None) -> list[Alert]:
    """Alerts per topic and per topic x district over the complete weeks of a prepared frame."""
    frame = _complete_weeks(frame)
    if frame.empty:
        return []
    weekly = counts_over_time(frame, "W", "topic")
    share = cfg.district_alpha_share
    cells = topic_district_weekly(frame, cfg)
    alpha_topic = cfg.false_alarm_rate * (1 - share if len(cells.columns) else 1.0)
    alerts = _alerts_from(weekly, cfg, alpha_topic, district_level=False)
    if len(cells.columns):
        per_topic = pd.Series([c[0] for c in cells.columns]).value_counts()
        tests = np.array([per_topic[c[0]] for c in cells.columns], dtype=float)
        alerts += _alerts_from(cells, cfg, cfg.false_alarm_rate * share / tests, district_level=True)
    alerts = [a for a in alerts if (since is None or a.period_end >= since)
              and (until is None or a.period_start <= until)]
    return sorted(alerts, key=lambda a: (a.period_start, -a.score, a.topic, a.district or ""))


def alerts_json(alerts: list[Alert]) -> str:
    """alerts.json: a list of objects with topic, district, period_start, period_end, observed, expected, score."""
    return json.dumps([a.model_dump(mode="json") for a in alerts], ensure_ascii=False, indent=1)
