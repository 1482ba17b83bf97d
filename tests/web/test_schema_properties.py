"""Property tests of the API's request schemas: whatever JSON arrives, loading either
returns data or raises ValidationError (a 400), never anything that would be a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from esl_controller.web import report_schemas, schemas
from esl_controller.web.bounded_fields import INT64_MAX, INT64_MIN, BoundedInteger

BODY_SCHEMAS: list[type[Schema]] = [
    schemas.FlashRequestSchema,
    schemas.UserCreateSchema,
    schemas.SyncRequestSchema,
    schemas.PlayerCreateSchema,
    schemas.PlaylistTextSchema,
    schemas.AdvertiserCreateSchema,
    schemas.CampaignInputSchema,
    schemas.CampaignStatusSchema,
    schemas.CreativeInputSchema,
    schemas.OverrideCreateSchema,
    report_schemas.ReportScheduleCreateSchema,
]
QUERY_SCHEMAS: list[type[Schema]] = [
    schemas.LabelQuerySchema,
    schemas.IncidentQuerySchema,
    schemas.SyncRunQuerySchema,
    schemas.TriggerQuerySchema,
    report_schemas.ReportQuerySchema,
    report_schemas.VerifyQuerySchema,
    report_schemas.ReportDeliveryQuerySchema,
    report_schemas.RevenueQuerySchema,
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: far beyond 64 bits
    | st.floats()  # NaN and infinities too
    | st.text(max_size=30)
    | st.sampled_from(["1e999999999", "NaN", "-0", "0001-01-01T00:00:00+01:00", "9" * 400])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)


def bodies_for(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(sorted(field.data_key or name for name, field in schema.fields.items()))
    return st.dictionaries(keys | st.text(max_size=5), json_values, max_size=8)


def query_for(schema: Schema) -> st.SearchStrategy[dict[str, str]]:
    keys = st.sampled_from(sorted(field.data_key or name for name, field in schema.fields.items()))
    values = st.text(max_size=30) | st.integers().map(str) | st.sampled_from(["9" * 5000])
    return st.dictionaries(keys, values, max_size=6)


def loads_or_refuses(schema: Schema, document: dict[str, Any]) -> None:
    try:
        schema.load(document)
    except ValidationError as exc:
        assert exc.messages  # says what is wrong


@pytest.mark.parametrize("schema_class", BODY_SCHEMAS, ids=lambda cls: cls.__name__)
def test_body_schemas_load_or_refuse_any_json(schema_class: type[Schema]):
    schema = schema_class()

    @settings(max_examples=60, deadline=None)
    @given(bodies_for(schema))
    def check(document: dict[str, Any]) -> None:
        loads_or_refuses(schema, document)

    check()


@pytest.mark.parametrize("schema_class", QUERY_SCHEMAS, ids=lambda cls: cls.__name__)
def test_query_schemas_load_or_refuse_any_query_string(schema_class: type[Schema]):
    schema = schema_class()

    @settings(max_examples=60, deadline=None)
    @given(query_for(schema))
    def check(query: dict[str, str]) -> None:
        loads_or_refuses(schema, query)

    check()


class Bounded(Schema):
    any_int = BoundedInteger()
    page = BoundedInteger(minimum=1, maximum=500)


@settings(max_examples=300, deadline=None)
@given(st.integers(), st.booleans())
def test_bounded_integer_accepts_exactly_its_range(value: int, as_text: bool):
    document = {"any_int": str(value) if as_text else value}
    accepted = INT64_MIN <= value <= INT64_MAX
    try:
        assert Bounded().load(document) == {"any_int": value}
        assert accepted
    except ValidationError as exc:
        assert not accepted
        assert "Must be" in exc.messages["any_int"][0]


@settings(max_examples=200, deadline=None)
@given(st.integers())
def test_narrower_bounds_are_kept(value: int):
    try:
        Bounded().load({"page": value})
        assert 1 <= value <= 500
    except ValidationError:
        assert not 1 <= value <= 500


def test_bounds_are_stated_in_the_openapi_properties():
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("Bounded", schema=Bounded)
    properties = spec.to_dict()["components"]["schemas"]["Bounded"]["properties"]
    assert properties["any_int"]["minimum"] == INT64_MIN
    assert properties["any_int"]["maximum"] == INT64_MAX
    assert (properties["page"]["minimum"], properties["page"]["maximum"]) == (1, 500)
