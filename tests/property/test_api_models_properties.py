"""Properties of the service's request models (appeals.api_models) and request guard (appeals.guard).

Whatever JSON a client sends, validation either accepts it or raises pydantic's ValidationError that
names the field; the guard's body decoding raises only its own ClientError (a 4xx). Anything else would
surface as a 5xx.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

api_models = pytest.importorskip("appeals.api_models")
from pydantic import BaseModel, ValidationError  # noqa: E402

from appeals.text import MAX_TEXT_CHARS  # noqa: E402
from tests.property.strategies import texts  # noqa: E402

REQUESTS: tuple[type[BaseModel], ...] = (api_models.ClassifyRequest, api_models.ClassifyBatchRequest,
                                         api_models.FeedbackRequest, api_models.Open311Request)
FIELDS = sorted({name for model in REQUESTS for name in model.model_fields})
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                | texts | st.sampled_from(["2026-01-15T09:30:00+05:00", "0001-01-01T00:00:00+14:00", "9999-12-31",
                                           "critical", "", " ", "1e400", "-1"]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4),
                           max_leaves=12)
objects = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)


def _validate(model: type[BaseModel], value: object) -> None:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        assert exc.errors(), "a ValidationError must name at least one field"


@pytest.mark.parametrize("model", REQUESTS, ids=lambda m: m.__name__)
@given(value=json_values | objects)
def test_any_json_value_validates_or_names_the_field(model: type[BaseModel], value: object) -> None:
    _validate(model, value)


@given(appeals=st.lists(objects, max_size=3))
def test_batch_of_anything_validates_or_names_the_field(appeals: list) -> None:
    _validate(api_models.ClassifyBatchRequest, {"appeals": appeals})


@pytest.mark.parametrize("model", REQUESTS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("depth", [50, 5_000, 200_000])
def test_deeply_nested_json_is_a_validation_error(model: type[BaseModel], depth: int) -> None:
    body = '{"text": ' + "[" * depth + "]" * depth + ', "appeals": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    with pytest.raises(ValidationError):
        model.model_validate_json(body)


@pytest.mark.parametrize(("model", "field"), [(api_models.ClassifyRequest, "text"),
                                              (api_models.Open311Request, "description")])
@given(extra=st.integers(min_value=1, max_value=100_000), unit=st.sampled_from(["я", "a", "1", " ", "👍"]))
def test_text_over_the_limit_is_rejected_naming_the_field(model: type[BaseModel], field: str, extra: int,
                                                          unit: str) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate({field: unit * (MAX_TEXT_CHARS + extra)})
    assert [e["loc"] for e in info.value.errors()] == [(field,)]
    assert str(MAX_TEXT_CHARS) in info.value.errors()[0]["msg"]


def _guard():  # type: ignore[no-untyped-def]
    return pytest.importorskip("appeals.guard")


@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()) |
       texts.map(str.encode), content_type=st.sampled_from(["application/json", "", "text/plain",
                                                             "application/x-www-form-urlencoded"]),
       open311=st.booleans())
@example(body=b'{"text": "\\u0000"}', content_type="application/json", open311=False)
@example(body=b'{"text": "\\ud800"}', content_type="application/json", open311=False)
@example(body=b"[" * 100_000, content_type="application/json", open311=False)
@example(body=b"description=%FF%FE&attribute[a]=1&attribute[", content_type="application/x-www-form-urlencoded",
         open311=True)
def test_guard_decodes_any_body_or_answers_4xx(body: bytes, content_type: str, open311: bool) -> None:
    guard = _guard()
    try:
        guard.decode_body(body, content_type, open311)
    except guard.ClientError as exc:
        assert 400 <= exc.status < 500 and exc.details


@pytest.mark.parametrize("route", ["/classify", "/classify_batch", "/feedback", "/open311/v2/requests.json"])
@given(value=objects)
def test_guard_checks_on_any_object_are_4xx(route: str, value: dict) -> None:
    guard = _guard()
    from appeals.routing import load_routing_config

    spec = guard.ROUTES[route]
    try:
        payload = spec.model.model_validate(value)
    except ValidationError as exc:
        assert all(e["field"] for e in guard.field_errors(exc))
        return
    problems = guard.check_limits(payload, load_routing_config().limits)
    assert all(p["field"] and p["msg"] for p in problems)
