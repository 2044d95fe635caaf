"""The spike detector on hand-made series: flat, seasonal, spike, slow growth, tiny counts."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from appeals.spikes import Alert, alerts_json, detect_spikes, score_pairs, score_series, upper_tail
from appeals.trends import load_trends_config, prepare_frame


@pytest.fixture(scope="module")
def cfg():
    return load_trends_config().spikes


def flags_of(series, cfg, season: int = 1, alpha: float | None = None) -> np.ndarray:
    _, _, flags = score_series(np.asarray(series, dtype=float), cfg, alpha or cfg.false_alarm_rate, season)
    return flags[:, 0]


def test_poisson_tail_matches_scipy_when_not_overdispersed():
    mu = np.array([3.0, 10.0, 40.0])
    observed = np.array([7, 18, 55])
    assert np.allclose(upper_tail(observed, mu, mu), stats.poisson.sf(observed - 1, mu), rtol=1e-6)


def test_overdispersion_makes_the_tail_heavier():
    assert upper_tail(np.array([30]), np.array([20.0]), np.array([60.0]))[0] > \
        upper_tail(np.array([30]), np.array([20.0]), np.array([20.0]))[0]


@pytest.mark.parametrize(("name", "series", "season"), [
    ("flat", [20] * 30, 1),
    ("flat noisy", np.random.default_rng(1).poisson(25, 40), 1),
    ("slow growth 2 % a week", np.round(20 * 1.02 ** np.arange(40)), 1),
    ("weekday rhythm, daily", np.tile([30, 28, 27, 26, 25, 8, 5], 10), 7),
    ("tiny counts", [0, 1, 0, 0, 2, 1, 0, 0, 1, 0, 3, 0, 4, 0, 5], 1),
])
def test_no_alert_without_a_spike(cfg, name, series, season):
    assert not flags_of(series, cfg, season).any(), name


def test_weekend_spike_needs_the_weekday_lag(cfg):
    daily = np.tile([30, 28, 27, 26, 25, 8, 5], 10)
    saturday = 7 * 8 + 5
    daily[saturday] = 30  # a weekday's count on a Saturday
    assert flags_of(daily, cfg, season=7)[saturday]
    assert not flags_of(daily, cfg, season=1)[saturday]  # lost among the weekdays


@pytest.mark.parametrize(("base", "extra", "found"), [
    (20, 40, True),    # +200 %
    (40, 40, True),    # +100 %
    (60, 30, True),    # +50 % of a large count
    (20, 4, False),    # +20 %
])
def test_spike_on_a_flat_series(cfg, base, extra, found):
    series = np.full(30, base)
    series[20] += extra
    flags = flags_of(series, cfg)
    assert bool(flags[20]) is found
    assert flags.sum() == int(found)


def test_expected_is_the_trailing_mean(cfg):
    series = np.array([10, 12, 8, 10, 10, 14, 6, 10, 10, 40], dtype=float)
    expected, pvalue, flags = score_series(series, cfg, cfg.false_alarm_rate)
    assert expected[9, 0] == pytest.approx(series[1:9].mean())
    assert flags[9, 0] and pvalue[9, 0] < 1e-6
    assert np.isnan(expected[: cfg.min_baseline_weeks, 0]).all()


def test_two_week_spike_is_found_in_both_weeks(cfg):
    series = np.full(30, 30)
    series[20:22] += 45
    assert flags_of(series, cfg)[20:22].all()


def test_a_lasting_new_level_stops_alerting(cfg):
    series = np.array([20] * 20 + [60] * 20)
    flags = flags_of(series, cfg)
    assert flags[20] and not flags[-5:].any()


@pytest.mark.parametrize(("observed", "found"), [(7, False), (9, True)])
def test_minimum_count_before_any_alert(cfg, observed, found):
    series = np.array([0] * 12 + [observed])
    assert bool(flags_of(series, cfg)[-1]) is found


def test_false_alarm_rate_on_poisson_noise(cfg):
    counts = np.random.default_rng(7).poisson(30, (60, 300))
    _, _, flags = score_series(counts, cfg, cfg.false_alarm_rate)
    rate = flags[cfg.dispersion_weeks:].mean()
    assert rate <= cfg.false_alarm_rate


def test_two_week_rise_too_small_for_one_week_is_found_over_two(cfg):
    # +40 % for two weeks on 25 a week: about 2 standard deviations a week, 2.8 over the two
    series = np.full(30, 25.0)
    series[20:22] = 35
    assert not flags_of(series, cfg, alpha=0.02)[20:22].any()
    expected, pvalue, flags = score_pairs(series, cfg, 0.02, 0.02)
    assert flags[:, 0].nonzero()[0].tolist() == [21]  # raised at the end of the second week, once
    assert expected[21, 0] == pytest.approx(50.0) and pvalue[21, 0] < 0.02


def test_two_week_test_is_silent_where_one_week_already_alerted(cfg):
    series = np.full(30, 25.0)
    series[20] = 60  # the one-week test flags it; the pairs holding week 20 must not alert again
    assert flags_of(series, cfg)[20]
    _, _, flags = score_pairs(series, cfg, 0.2, cfg.false_alarm_rate)
    assert not flags[20:22, 0].any()


def test_a_lasting_rise_alerts_without_overlaps_and_then_stops(cfg):
    series = np.array([25.0] * 20 + [35.0] * 16)
    _, _, flags = score_pairs(series, cfg, 0.02, 0.02)
    raised = flags[:, 0].nonzero()[0]
    assert raised[0] == 21 and (np.diff(raised) >= 2).all()  # no two alerts share a week
    assert not flags[-6:, 0].any()  # the new level has become the norm


def test_two_week_false_alarm_rate_on_poisson_noise(cfg):
    counts = np.random.default_rng(11).poisson(30, (60, 300))
    _, _, flags = score_pairs(counts, cfg, cfg.false_alarm_rate, cfg.false_alarm_rate)
    assert flags[cfg.dispersion_weeks:].mean() <= cfg.false_alarm_rate


def _frame_from_weekly(weekly: dict[tuple[str, str], list[int]], start: date) -> pd.DataFrame:
    rows = []
    for (topic, district), counts in weekly.items():
        for week, n in enumerate(counts):
            for i in range(n):
                day = start + timedelta(weeks=week, days=i % 5)
                rows.append({"created_at": f"{day.isoformat()}T10:00:00", "topic": topic, "district": district})
    return prepare_frame(pd.DataFrame(rows))[0]


def test_detect_spikes_names_topic_district_and_week(cfg):
    start = date(2025, 1, 6)  # a Monday
    quiet = [12] * 20
    spiked = [12] * 14 + [40] + [12] * 5
    frame = _frame_from_weekly({("Ямы", "Северный"): spiked, ("Ямы", "Южный"): quiet,
                                ("Свет", "Северный"): quiet}, start)
    alerts = detect_spikes(frame, cfg)
    assert {(a.topic, a.district) for a in alerts} == {("Ямы", None), ("Ямы", "Северный")}
    alert = next(a for a in alerts if a.district == "Северный")
    assert alert.period_start == start + timedelta(weeks=14)
    assert alert.period_end == alert.period_start + timedelta(days=6)
    assert alert.observed == 40 and alert.expected == pytest.approx(12.0)


def test_two_week_alert_covers_both_weeks(cfg):
    start = date(2025, 1, 6)
    rising = [25] * 14 + [35, 35] + [25] * 4
    frame = _frame_from_weekly({("Ямы", "Северный"): rising}, start)
    alerts = detect_spikes(frame, cfg.model_copy(update={"pair_alpha_share": 0.5, "false_alarm_rate": 0.08}))
    assert [(a.period_start, a.period_end, a.observed) for a in alerts if a.district is None] == [
        (start + timedelta(weeks=14), start + timedelta(weeks=16) - timedelta(days=1), 70)]
    assert not detect_spikes(frame, cfg.model_copy(update={"pair_alpha_share": 0.0, "false_alarm_rate": 0.08}))


def test_alerts_json_contract():
    alert = Alert(topic="Ямы", district=None, period_start=date(2025, 3, 3), period_end=date(2025, 3, 9),
                  observed=40, expected=12.5, score=7.2)
    data = json.loads(alerts_json([alert]))
    assert data == [{"topic": "Ямы", "district": None, "period_start": "2025-03-03",
                     "period_end": "2025-03-09", "observed": 40, "expected": 12.5, "score": 7.2}]
