"""Reaction deadlines: from the moment an appeal arrived and its urgency level to the time to act by.

Rules (all in `DeadlinePolicy`, read from the `[deadline]` table of training/configs/urgency.toml):
- a reaction in hours is clock time (an emergency does not wait for Monday);
- a reaction in days counts calendar days, or working days when `day_kind = "working"`: weekends and
  the listed holidays are skipped, listed working weekends count, and the deadline is the same local
  clock time on the N-th working day after the day of arrival;
- a naive `created_at` is local time of the deployment (`timezone`); an aware one is converted to it;
  the deadline comes back aware, in the deployment's time zone;
- a level whose reaction unit is `none` (by default `low`) has no deadline: None.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DayKind = Literal["calendar", "working"]


class Reaction(BaseModel):
    """How long a level may wait: `amount` `unit`s, or no deadline when unit is "none"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(default=0, ge=0)
    unit: Literal["hours", "days", "none"] = "none"

    @model_validator(mode="after")
    def _amount_needed(self) -> Reaction:
        if self.unit != "none" and self.amount <= 0:
            raise ValueError(f"a reaction in {self.unit} needs amount > 0")
        return self


DEFAULT_REACTIONS: dict[str, Reaction] = {
    "critical": Reaction(amount=24, unit="hours"),
    "high": Reaction(amount=3, unit="days"),
    "normal": Reaction(amount=30, unit="days"),
    "low": Reaction(unit="none"),
}


class DeadlinePolicy(BaseModel):
    """Deployment rules for deadlines: time zone, calendar or working days, holidays, reactions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Moscow"
    day_kind: DayKind = "calendar"
    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()
    reaction: dict[str, Reaction] = Field(default_factory=lambda: dict(DEFAULT_REACTIONS))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as "
                             f"'Asia/Yekaterinburg'") from exc
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays


def to_local(moment: datetime, policy: DeadlinePolicy) -> datetime:
    """`moment` as an aware datetime in the deployment's zone (naive input is taken as local)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=policy.zone)
    return moment.astimezone(policy.zone)


def add_working_days(start: datetime, days: int, policy: DeadlinePolicy) -> datetime:
    """The same local clock time on the `days`-th working day after `start`'s date."""
    current = start.date()
    left = days
    while left > 0:
        current += timedelta(days=1)
        if policy.is_working_day(current):
            left -= 1
    return datetime.combine(current, start.timetz())


def deadline(created_at: datetime, level: str, policy: DeadlinePolicy) -> datetime | None:
    """When an appeal of `level` that arrived at `created_at` must be reacted to (None: no deadline)."""
    if level not in policy.reaction:
        raise ValueError(f"urgency level {level!r} has no reaction time in the deadline policy; "
                         f"known levels: {sorted(policy.reaction)}")
    reaction = policy.reaction[level]
    if reaction.unit == "none":
        return None
    local = to_local(created_at, policy)
    if reaction.unit == "hours":
        # Clock hours: add in UTC so a DST change in the zone cannot shift the result.
        return (local.astimezone(ZoneInfo("UTC")) + timedelta(hours=reaction.amount)).astimezone(policy.zone)
    if policy.day_kind == "working":
        return add_working_days(local, reaction.amount, policy)
    return datetime.combine(local.date() + timedelta(days=reaction.amount), local.timetz())
