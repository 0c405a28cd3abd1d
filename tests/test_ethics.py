"""The one ethics-reference rule: every common spelling of an IRAS ID or a REC reference is
stored one way, by both the recruitment request and the data-access grant."""

from __future__ import annotations

import pytest
from marshmallow import Schema

from registry.errors import ValidationFailed
from registry.ethics import ETHICS_REFERENCE_MESSAGE, EthicsReference, normalised_ethics_reference
from registry.exports.schemas import GrantArgs
from registry.recruitment.schemas import RequestArgs


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("123456", "IRAS 123456"),
        ("1004567", "IRAS 1004567"),
        ("IRAS 123456", "IRAS 123456"),
        ("IRAS ID: 1004567", "IRAS 1004567"),
        ("iras-123456", "IRAS 123456"),
        ("  IRAS ID 1004567 ", "IRAS 1004567"),
        ("iras no. 1004567", "IRAS 1004567"),
        ("22/WM/0123", "22/WM/0123"),
        ("22/wm/0123", "22/WM/0123"),
        ("22 / WM / 0123", "22/WM/0123"),
    ],
)
def test_common_spellings_are_stored_one_way(typed: str, stored: str) -> None:
    assert normalised_ethics_reference(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "12345", "12345678", "IRAS", "IRAS-12", "ABC", "2/WM/0123", "22/W/0123", "REC"]
)
def test_anything_else_is_refused(typed: str) -> None:
    assert normalised_ethics_reference(typed) is None


def test_the_refusal_gives_an_example_of_each() -> None:
    class Body(Schema):
        ref = EthicsReference(required=True)

    errors = Body().validate({"ref": "IRAS-12"})

    assert errors == {"ref": [ETHICS_REFERENCE_MESSAGE]}
    assert "IRAS 1004567" in ETHICS_REFERENCE_MESSAGE and "22/WM/0123" in ETHICS_REFERENCE_MESSAGE


@pytest.mark.parametrize("schema", [RequestArgs, GrantArgs])
def test_both_schemas_use_the_rule(schema: type[Schema]) -> None:
    field = schema().fields["ethics_reference"]

    assert isinstance(field, EthicsReference)
    assert field.deserialize("IRAS ID: 1004567") == "IRAS 1004567"
    with pytest.raises(Exception) as refused:
        field.deserialize("IRAS-12")
    assert not isinstance(refused.value, ValidationFailed)  # marshmallow's, put at the field
