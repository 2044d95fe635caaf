"""Deadline arithmetic: calendar and working days, holidays, time zones, naive and aware inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from appeals.deadlines import DeadlinePolicy, Reaction, deadline, to_local
from appeals.urgency_config import load_urgency_config

PERM = ZoneInfo("Asia/Yekaterinburg")
HOLIDAYS = frozenset({date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5), date(2026, 1, 6),
                      date(2026, 1, 7), date(2026, 1, 8), date(2026, 1, 9), date(2026, 2, 23)})
CALENDAR = DeadlinePolicy(timezone="Asia/Yekaterinburg", day_kind="calendar", holidays=HOLIDAYS)
WORKING = DeadlinePolicy(timezone="Asia/Yekaterinburg", day_kind="working", holidays=HOLIDAYS,
                         working_weekends=frozenset({date(2026, 3, 14)}))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PERM)


@pytest.mark.parametrize(("created", "level", "policy", "expected"), [
    # critical: 24 clock hours whatever the day kind
    (local(2026, 3, 6, 17, 30), "critical", CALENDAR, local(2026, 3, 7, 17, 30)),
    (local(2026, 3, 6, 17, 30), "critical", WORKING, local(2026, 3, 7, 17, 30)),
    (local(2026, 12, 31, 23, 0), "critical", WORKING, local(2027, 1, 1, 23, 0)),
    # high: 3 days
    (local(2026, 3, 4, 10, 0), "high", CALENDAR, local(2026, 3, 7, 10, 0)),        # Wed → Sat
    (local(2026, 3, 4, 10, 0), "high", WORKING, local(2026, 3, 9, 10, 0)),         # Wed → Mon
    (local(2026, 3, 6, 9, 15), "high", WORKING, local(2026, 3, 11, 9, 15)),        # Fri → Wed
    (local(2026, 3, 7, 12, 0), "high", WORKING, local(2026, 3, 11, 12, 0)),        # Sat → Wed
    (local(2026, 3, 12, 8, 0), "high", WORKING, local(2026, 3, 16, 8, 0)),         # working Sat 14th counts
    (local(2025, 12, 30, 11, 0), "high", WORKING, local(2026, 1, 13, 11, 0)),      # New Year holidays
    (local(2026, 2, 20, 14, 0), "high", WORKING, local(2026, 2, 26, 14, 0)),       # 23 Feb skipped
    # normal: 30 days
    (local(2026, 3, 2, 10, 0), "normal", CALENDAR, local(2026, 4, 1, 10, 0)),
    (local(2026, 3, 2, 10, 0), "normal", WORKING, local(2026, 4, 10, 10, 0)),      # incl. Sat 14 March
])
def test_deadline_table(created: datetime, level: str, policy: DeadlinePolicy, expected: datetime) -> None:
    due = deadline(created, level, policy)
    assert due == expected
    assert due is not None and due.tzinfo is not None


def test_low_has_no_deadline() -> None:
    assert deadline(local(2026, 3, 2, 10, 0), "low", CALENDAR) is None


@pytest.mark.parametrize(("created", "expected_local"), [
    (datetime(2026, 3, 4, 10, 0), datetime(2026, 3, 7, 10, 0)),                      # naive = local time
    (datetime(2026, 3, 4, 5, 0, tzinfo=UTC), datetime(2026, 3, 7, 10, 0)),  # UTC+5 in Perm
    (datetime(2026, 3, 4, 21, 0, tzinfo=UTC), datetime(2026, 3, 8, 2, 0)),  # next local day
    (datetime(2026, 3, 4, 8, 0, tzinfo=ZoneInfo("Europe/Moscow")), datetime(2026, 3, 7, 10, 0)),
])
def test_time_zones(created: datetime, expected_local: datetime) -> None:
    due = deadline(created, "high", CALENDAR)
    assert due is not None
    assert due.utcoffset() == timedelta(hours=5)
    assert due.replace(tzinfo=None) == expected_local


def test_working_days_count_from_local_date() -> None:
    # 20:00 UTC on Friday is 01:00 on Saturday in Perm: counting starts after Saturday.
    friday_utc = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    assert to_local(friday_utc, WORKING).date() == date(2026, 3, 7)
    assert deadline(friday_utc, "high", WORKING) == local(2026, 3, 11, 1, 0)


def test_unknown_level_and_zone_are_readable_errors() -> None:
    with pytest.raises(ValueError, match="urgent"):
        deadline(local(2026, 3, 2, 10, 0), "urgent", CALENDAR)
    with pytest.raises(ValidationError, match="time zone"):
        DeadlinePolicy(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="amount"):
        Reaction(unit="days", amount=0)


def test_config_policy_matches_the_issue_defaults() -> None:
    cfg = load_urgency_config()
    reaction = cfg.deadline.reaction
    assert (reaction["critical"].amount, reaction["critical"].unit) == (24, "hours")
    assert (reaction["high"].amount, reaction["high"].unit) == (3, "days")
    assert (reaction["normal"].amount, reaction["normal"].unit) == (30, "days")
    assert reaction["low"].unit == "none"
    assert date(2026, 1, 9) in cfg.deadline.holidays and not cfg.deadline.is_working_day(date(2026, 1, 9))
    assert cfg.deadline.is_working_day(date(2025, 11, 1))   # a working Saturday by decree
