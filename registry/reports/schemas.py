"""Report request and response shapes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.input_rules import CommandSchema, Prose
from registry.participants.reference import reference
from registry.reports.actions import SECTION_MAX, WRITTEN_SECTIONS
from registry.reports.commands import DatasheetOptions, LoadReference, ReportOptions, WriteSection
from registry.reports.references import KINDS

CURRENT_YEAR_MAX = 2100


class ReportArgs(CommandSchema[ReportOptions]):
    command = ReportOptions

    reference = fields.String(
        validate=validate.Length(max=64),
        metadata={
            "description": "reference population id; default: the cohort's need-based "
            "reference (need-ep-birmingham, need-trd-birmingham)"
        },
    )
    format = fields.String(
        load_default="json", validate=validate.OneOf(("json", "csv"), error="Choose json or csv.")
    )


class DatasheetArgs(CommandSchema[DatasheetOptions]):
    command = DatasheetOptions

    reference = fields.String(validate=validate.Length(max=64))
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "md"), error="Choose json or md (Markdown)."),
    )


class ReferenceArgs(CommandSchema[LoadReference]):
    command = LoadReference

    reference_id = fields.String(required=True, metadata={"description": "e.g. icb-2021-bsol"})
    name = fields.String(required=True, validate=validate.Length(1, 200))
    geography = fields.String(required=True, validate=validate.Length(1, 200))
    geography_code = fields.String(validate=validate.Length(max=16), load_default=None)
    year = fields.Integer(
        strict=True, required=True, validate=validate.Range(1800, CURRENT_YEAR_MAX)
    )
    source = Prose(required=True, validate=validate.Length(1, 2000))
    shares_csv = Prose(
        required=True,
        metadata={
            "description": "attribute,group,share_percent,confirm rows, as shipped; or "
            "attribute,group,count,confirm rows (e.g. a caseload), shares computed from counts"
        },
    )
    kind = fields.String(
        load_default="census",
        validate=validate.OneOf(tuple(KINDS), error=f"Choose one of {', '.join(KINDS)}."),
        metadata={"description": "census (default), need-based or caseload"},
    )
    cohort = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(
            tuple(reference().cohorts), error=f"Choose one of {', '.join(reference().cohorts)}."
        ),
        metadata={"description": "the cohort it is the comparator for (EP or TRD), if one"},
    )


class SectionArgs(CommandSchema[WriteSection]):
    command = WriteSection

    text = Prose(required=True, validate=validate.Length(1, SECTION_MAX))


class ReferenceSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    geography = fields.String(required=True)
    geography_code = fields.String(allow_none=True)
    year = fields.Integer(required=True)
    source = fields.String(required=True)
    loaded = fields.Boolean(required=True)
    kind = fields.String(required=True)
    cohorts = fields.List(fields.String(), required=True)
    attributes = fields.List(fields.String(), required=True)


class ReferenceListSchema(Schema):
    items = fields.List(fields.Nested(ReferenceSchema), required=True)


class ReportSchema(Schema):
    cohort = fields.String(required=True)
    cohort_name = fields.String(required=True)
    report_date = fields.Date(required=True)
    intended_use = fields.Dict(required=True)
    reference = fields.Dict(required=True)
    second_reference = fields.Dict(allow_none=True)
    threshold = fields.Float(required=True)
    stages = fields.List(fields.String(), required=True)
    withdrawn_fully = fields.Integer(required=True)
    attributes = fields.List(fields.Dict(), required=True)
    retention = fields.Dict(
        required=True,
        metadata={
            "description": "retention at each follow-up visit (schedule.toml): of those whose "
            "window closed by the report date, how many completed it; each attrition "
            "attribute's groups carry the same by group, flagged `lower` when their 95% "
            "interval lies wholly below the cohort's rate"
        },
    )


class DatasheetSchema(Schema):
    cohort = fields.String(required=True)
    identity = fields.Dict(required=True)
    sections = fields.Dict(required=True)
    report = fields.Nested(ReportSchema, required=True)
    collection = fields.Dict(required=True)
    intersections = fields.List(fields.Dict(), required=True)
    missing_by_group = fields.Dict(required=True)
    flagged = fields.List(fields.Dict(), required=True)
    follow_up = fields.Dict(
        required=True,
        metadata={
            "description": "the follow-up schedule in words (each visit: when, window, "
            "scales, source) with the report's retention at each visit (`eligible`: due, "
            "window closed by the report date; `complete`; `partial`; `rate` with `rate_ci`), "
            "`any_due`, and `lower`: each group and visit the report marks as retained "
            "worse than the cohort (its 95% interval wholly below the cohort's rate)"
        },
    )
    definitions = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "each clinical definition the figures rest on, with its source"},
    )


class SectionSchema(Schema):
    cohort = fields.String(required=True)
    section = fields.String(required=True, validate=validate.OneOf(tuple(WRITTEN_SECTIONS)))
    version = fields.Integer(required=True)
    text = fields.String(required=True)
