"""Data-access grant and export shapes: input (``…Args``) and output (``…Schema``) apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry import clock
from registry.consents.items import CONSENT_ITEMS
from registry.ethics import EthicsReference
from registry.exports.catalogue import (
    BOOLEAN,
    DATE,
    INTEGER,
    KEY_COLUMN,
    KEY_DESCRIPTION,
    NUMBER,
    TABLES,
    VARIABLES,
    ExportColumn,
)
from registry.exports.commands import (
    AddResearcher,
    CreateGrant,
    ExtractOptions,
    FhirPage,
    RenewGrant,
)
from registry.exports.extract import FORMATS
from registry.exports.models import DATE_MONTH, DATE_POLICIES, DATE_SHIFT, TITLE_MAX
from registry.exports.rows import ROW_TABLES
from registry.input_rules import CommandSchema
from registry.participants.models import COHORTS

MAX_SHIFT_DAYS = 365
# A data-sharing agreement longer than this is a standing licence, not a study's access.
MAX_TERM = dt.timedelta(days=5 * 366)
MAX_PER_PAGE = 500


def _choices(values: Any, what: str) -> validate.OneOf:
    return validate.OneOf(list(values), error=f"Not {what}: choose from {{choices}}.")


class GrantArgs(CommandSchema[CreateGrant]):
    command = CreateGrant

    title = fields.String(
        required=True,
        validate=validate.Length(1, TITLE_MAX, error="Give a title of 1 to {max} characters."),
    )
    # An IRAS ID or REC reference, stored in one spelling (registry/ethics.py).
    ethics_reference = EthicsReference(required=True)
    cohorts = fields.List(
        fields.String(validate=_choices(COHORTS, "a cohort")),
        required=True,
        validate=validate.Length(min=1, error="Approve at least one cohort."),
    )
    variables = fields.List(
        fields.String(
            validate=validate.OneOf(
                list(VARIABLES),
                error="Not a variable in the catalogue (GET /api/v1/grants/variables).",
            )
        ),
        required=True,
        validate=validate.Length(min=1, error="Approve at least one variable."),
        metadata={"description": "catalogue keys, e.g. participants.sex, assessments.total"},
    )
    consent_items = fields.List(
        fields.String(validate=_choices(CONSENT_ITEMS, "a consent item")),
        load_default=list,
        metadata={
            "description": "items each participant must currently have granted, e.g. "
            "future_research; registry_storage always is"
        },
    )
    date_policy = fields.String(
        load_default=DATE_MONTH,
        validate=_choices(DATE_POLICIES, "a date policy"),
        metadata={
            "description": "month: YYYY-MM; shift: each participant's dates moved by "
            "a secret offset of 1 to max_shift_days days"
        },
    )
    max_shift_days = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, MAX_SHIFT_DAYS, error="Give 1 to {max} days."),
    )
    expires_on = fields.Date(required=True, metadata={"description": "last day of access"})
    researchers = fields.List(
        fields.String(validate=validate.Length(1, 254)),
        load_default=list,
        metadata={"description": "researchers' account emails"},
    )
    renews = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "an earlier grant of the same study: its pseudonyms carry over"},
    )

    @validates_schema(skip_on_field_errors=False)
    def _terms(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        shift = data.get("max_shift_days")
        if data.get("date_policy") == DATE_SHIFT and shift is None:
            errors["max_shift_days"] = ["Say how many days dates may be shifted by."]
        if data.get("date_policy") == DATE_MONTH and shift is not None:
            errors["max_shift_days"] = ["Only the shift policy shifts dates."]
        if problem := _expiry_problem(data.get("expires_on")):
            errors["expires_on"] = [problem]
        if errors:
            raise ValidationError(errors)


def _expiry_problem(expires: dt.date | None) -> str | None:
    """A new grant's expiry and a renewal's obey one rule."""
    today = clock.today()
    if expires is not None and expires < today:
        return "A grant cannot expire in the past."
    if expires is not None and expires - today > MAX_TERM:
        return "A grant can run for at most five years."
    return None


class RenewalArgs(CommandSchema[RenewGrant]):
    command = RenewGrant

    expires_on = fields.Date(required=True, metadata={"description": "the new last day of access"})

    @validates_schema
    def _term(self, data: dict[str, Any], **kwargs: Any) -> None:
        if problem := _expiry_problem(data.get("expires_on")):
            raise ValidationError({"expires_on": [problem]})


class ResearcherArgs(CommandSchema[AddResearcher]):
    command = AddResearcher

    email = fields.String(
        required=True,
        validate=validate.Length(1, 254),
        metadata={"description": "the researcher's account email"},
    )


class ExportArgs(CommandSchema[ExtractOptions]):
    command = ExtractOptions

    format = fields.String(
        load_default="csv",
        validate=_choices(FORMATS, "a format"),
        metadata={"description": "csv, or parquet when the server has pyarrow"},
    )


class FhirArgs(CommandSchema[FhirPage]):
    """Bundles are larger pages than a list's: their own bounds, not ``PageArgs``'."""

    command = FhirPage

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"participants per Bundle, at most {MAX_PER_PAGE}"},
    )


# -- responses -------------------------------------------------------------------------------


class ResearcherSchema(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)


class ExportRecordSchema(Schema):
    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    format = fields.String(required=True)
    channel = fields.String(required=True)
    participants = fields.Integer(required=True)
    manifest_sha256 = fields.String(required=True)


class GrantSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the grant's public id"})
    title = fields.String(required=True)
    ethics_reference = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active, expired or revoked"})
    cohorts = fields.List(fields.String(), required=True)
    variables = fields.List(fields.String(), required=True)
    consent_items = fields.List(fields.String(), required=True)
    date_policy = fields.String(required=True)
    max_shift_days = fields.Integer(allow_none=True)
    catalogue_version = fields.String(required=True)
    expires_on = fields.Date(required=True)
    renews = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)
    researchers = fields.List(fields.Nested(ResearcherSchema), required=True)
    exports = fields.List(
        fields.Nested(ExportRecordSchema),
        required=True,
        metadata={"description": "the 20 most recent extracts"},
    )


class GrantListSchema(Schema):
    items = fields.List(fields.Nested(GrantSchema), required=True)


class CatalogueVariableSchema(Schema):
    key = fields.String(required=True)
    description = fields.String(required=True)
    columns = fields.List(fields.String(), required=True)


class CatalogueTableSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    variables = fields.List(fields.Nested(CatalogueVariableSchema), required=True)


class VariableCatalogueSchema(Schema):
    version = fields.String(required=True)
    tables = fields.List(fields.Nested(CatalogueTableSchema), required=True)


class GeneralisedDate(fields.Field[dt.date | str]):
    """A date as the grant's policy gives it: ``YYYY-MM``, or the shifted day."""

    def _serialize(self, value: dt.date | str | None, attr: str | None, obj: Any, **kw: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value


GENERALISED_DATE = "YYYY-MM under the month policy; YYYY-MM-DD, shifted, under the shift policy"


def _row_field(column: ExportColumn) -> fields.Field[Any]:
    metadata: dict[str, Any] = {"description": column.description}
    if column.kind == DATE:
        metadata = {"type": "string", "description": f"{column.description}: {GENERALISED_DATE}"}
        return GeneralisedDate(allow_none=True, metadata=metadata)
    if column.kind == BOOLEAN:
        return fields.Boolean(allow_none=True, metadata=metadata)
    if column.kind == INTEGER:
        return fields.Integer(allow_none=True, metadata=metadata)
    if column.kind == NUMBER:
        return fields.Float(allow_none=True, metadata=metadata)
    return fields.String(allow_none=True, metadata=metadata)


# A participant as a researcher on a grant sees them: the study pseudonym and the columns
# of the extract's participants and consent files, each present only when the grant
# approves its variable. Built from the catalogue, so it names exactly those columns.
GrantParticipantSchema = Schema.from_dict(
    {
        KEY_COLUMN: fields.String(required=True, metadata={"description": KEY_DESCRIPTION}),
        **{
            column.name: _row_field(column)
            for table in TABLES
            if table.name in ROW_TABLES
            for variable in table.variables
            for column in variable.columns
        },
    },
    name="GrantParticipantSchema",
)
