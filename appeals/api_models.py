"""Request and response types of the routing service; the OpenAPI document is generated from them.

Static bounds here are the hard ceiling; the deployment's limits (appeals.routing.Limits) may be
tighter and are checked by appeals.guard with the same error format.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appeals.schema import UrgencyLevel
from appeals.text import MAX_TEXT_CHARS

ID_PATTERN = r"^[\w\-.:/#@]+$"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _mark_nullable(schema: dict[str, Any]) -> None:
    """Say `nullable` beside an optional field's types: BentoML's OpenAPI keeps only the first type of
    an `anyOf`, so without it the document would promise a string where the answer may be null."""
    for prop in schema.get("properties", {}).values():
        if any(option.get("type") == "null" for option in prop.get("anyOf", [])):
            prop["nullable"] = True


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_extra=_mark_nullable)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_mark_nullable)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty or only whitespace; send the appeal's words")
    return value


def _plausible_time(value: datetime | None) -> datetime | None:
    """An appeal's time lies between 2000 and tomorrow; anything else is a client's mistake."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if aware < EARLIEST or aware > datetime.now(UTC) + timedelta(days=1):
        raise ValueError("must lie between 2000-01-01 and now (ISO 8601, e.g. 2026-01-15T09:30:00+05:00)")
    return value


class ClassifyRequest(_Strict):
    """One appeal as a portal sends it. Only `text` is required."""

    text: str = Field(max_length=MAX_TEXT_CHARS, description="The appeal as the citizen wrote it.")
    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN,
                           description="The portal's id; re-posting the same id does not store it twice.")
    created_at: datetime | None = Field(default=None, description="When the citizen sent it (ISO 8601).")
    channel: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500, description="Free-text address of the problem.")
    district: str | None = Field(default=None, max_length=200)
    municipality: str | None = Field(default=None, max_length=200)

    _text_not_blank = field_validator("text")(_not_blank)
    _created_plausible = field_validator("created_at")(_plausible_time)


class ClassifyBatchRequest(_Strict):
    appeals: list[ClassifyRequest] = Field(min_length=1, max_length=1000)


class LabelProba(_Out):
    label: str
    proba: float


class DepartmentOut(LabelProba):
    source: Literal["model", "rule"] = Field(description="'rule' when the deployment's department map decided.")


class UrgencyOut(_Out):
    level: str
    proba: float
    reaction_hours: int | None = Field(description="Reaction time the level implies; None: informational.")
    deadline: datetime | None = Field(description="created_at (or time received) + reaction time.")


class PlacesOut(_Out):
    municipality: str | None = None
    district: str | None = None
    settlement: str | None = None
    street: str | None = None
    house: str | None = None


class ClassifyResponse(_Out):
    id: str
    received_at: datetime
    topic: LabelProba
    topic_top3: list[LabelProba]
    topic_group: LabelProba
    department: DepartmentOut
    urgency: UrgencyOut
    places: PlacesOut
    text_masked: str
    needs_review: bool
    review_reasons: list[str]
    group_id: str | None = Field(default=None, description="Group of appeals about the same problem (dedupe index).")
    duplicate_of: str | None = Field(default=None, description="The first appeal of the group when this one repeats it.")
    group_size: int = 1
    already_stored: bool = Field(default=False, description="True when this id was stored before; nothing new stored.")
    model_versions: dict[str, str]


class FeedbackRequest(_Strict):
    """An operator's correction of a stored appeal; give at least one corrected field."""

    appeal_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    operator_id: str = Field(min_length=1, max_length=200)
    topic: str | None = Field(default=None, min_length=1, max_length=300)
    topic_group: str | None = Field(default=None, min_length=1, max_length=300)
    department: str | None = Field(default=None, min_length=1, max_length=300)
    urgency: UrgencyLevel | None = None
    comment: str | None = Field(default=None, max_length=2000)
    group_action: Literal["split", "merge"] | None = Field(
        default=None, description="split: take the appeal out of its duplicate group; merge: put its group "
                                  "into the group of `merge_with`")
    merge_with: str | None = Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _something_corrected(self) -> FeedbackRequest:
        if not any((self.topic, self.topic_group, self.department, self.urgency, self.group_action)):
            raise ValueError("give at least one of topic, topic_group, department, urgency, group_action")
        if (self.group_action == "merge") != (self.merge_with is not None):
            raise ValueError("merge_with is needed with group_action 'merge', and only then")
        if self.merge_with == self.appeal_id:
            raise ValueError("merge_with must name another appeal")
        return self


class FeedbackResponse(_Out):
    correction_id: int
    appeal_id: str
    corrected_at: datetime
    group_id: str | None = Field(default=None, description="the appeal's duplicate group after a split or merge")
    group_size: int | None = None


class Open311Request(_Strict):
    """GeoReport v2 'POST Service Request' fields. Personal fields are accepted and never stored."""

    description: str = Field(max_length=MAX_TEXT_CHARS)
    service_code: str | None = Field(default=None, max_length=300, description="Ignored: we classify the text.")
    jurisdiction_id: str | None = Field(default=None, max_length=200)
    api_key: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, max_length=500)
    address_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300)
    device_id: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=100)
    media_url: str | None = Field(default=None, max_length=2000)
    requested_datetime: datetime | None = None
    attribute: dict[str, str | list[str]] | None = None

    _description_not_blank = field_validator("description")(_not_blank)
    _requested_plausible = field_validator("requested_datetime")(_plausible_time)

    def to_classify(self, request_id: str) -> ClassifyRequest:
        return ClassifyRequest(text=self.description, id=request_id, created_at=self.requested_datetime,
                               channel="open311", address=self.address_string)


class Open311Created(_Out):
    service_request_id: str
    service_code: str
    service_name: str
    agency_responsible: str
    expected_datetime: datetime | None
    service_notice: str
    account_id: str | None = None


class Open311Service(_Out):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str = ""
    group: str = ""
