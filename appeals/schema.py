"""The canonical appeal record that every loader produces and every later step reads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

UrgencyLevel = Literal["critical", "high", "normal", "low"]
URGENCY_LEVELS: tuple[str, ...] = ("critical", "high", "normal", "low")
LABEL_FIELDS: tuple[str, ...] = ("topic", "topic_group", "department", "urgency")
RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "text",
    "created_at",
    "channel",
    "municipality",
    "district",
    "address",
    *LABEL_FIELDS,
)


class Appeal(BaseModel):
    """One citizen appeal. Labels are optional: unlabelled appeals are scored, labelled ones train."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    text: str
    created_at: datetime | None = None
    channel: str | None = None
    municipality: str | None = None
    district: str | None = None
    address: str | None = None
    topic: str | None = None
    topic_group: str | None = None
    department: str | None = None
    urgency: UrgencyLevel | None = None

    @field_validator("channel", "municipality", "district", "address", "topic", "topic_group", "department")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None
