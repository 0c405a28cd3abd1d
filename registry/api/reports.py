"""Representativeness reports, the datasheet, and reference populations."""

from __future__ import annotations

from typing import Any

from flask import Response

from registry import clock
from registry.api.blueprint import RegistryBlueprint
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.reports.actions import load_reference, write_datasheet_section
from registry.reports.commands import DatasheetOptions, LoadReference, ReportOptions, WriteSection
from registry.reports.datasheet import datasheet, datasheet_markdown, report_csv
from registry.reports.queries import available_references, comparators, reference_population
from registry.reports.report import representativeness
from registry.reports.schemas import (
    DatasheetArgs,
    DatasheetSchema,
    ReferenceArgs,
    ReferenceListSchema,
    ReferenceSchema,
    ReportArgs,
    ReportSchema,
    SectionArgs,
    SectionSchema,
)

blp = RegistryBlueprint("reports", __name__, description="Representativeness and datasheets")


@blp.route("/cohorts/<cohort>/representativeness", methods=["GET"])
@requires(Permission.VIEW_REPRESENTATIVENESS)
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportSchema)
def report(args: ReportOptions, cohort: str) -> Any:
    """Who is in the cohort, who is missing and who drops out, against a reference
    population (by default the cohort's need-based one) with a second beside it: counts,
    shares with 95% Wilson intervals, representation ratios with their intervals and a
    status judged on the interval against the configured threshold ("under-represented"
    when its upper bound is below, "uncertain" when it contains it), and missingness.
    ``?format=csv`` for a spreadsheet."""
    primary, second = comparators(cohort, args.reference)
    result = representativeness(cohort, primary, clock.today(), second=second)
    if args.format == "csv":
        return Response(
            report_csv(result),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="representativeness-{cohort}.csv"'
            },
        )
    return result


@blp.route("/cohorts/<cohort>/datasheet", methods=["GET"])
@requires(Permission.VIEW_REPRESENTATIVENESS)
@blp.arguments(DatasheetArgs, location="query")
@blp.response(200, DatasheetSchema)
def show_datasheet(args: DatasheetOptions, cohort: str) -> Any:
    """The cohort's datasheet (after the STANDING Together recommendations);
    ``?format=md`` for Markdown."""
    primary, second = comparators(cohort, args.reference)
    sheet = datasheet(cohort, primary, second=second)
    if args.format == "md":
        return Response(datasheet_markdown(sheet), mimetype="text/markdown")
    return sheet


@blp.route("/cohorts/<cohort>/datasheet/sections/<section>", methods=["PUT"])
@requires(Permission.MANAGE_REPORTS)
@blp.arguments(SectionArgs)
@blp.response(200, SectionSchema)
def write_section(args: WriteSection, cohort: str, section: str) -> dict[str, Any]:
    """Admins: a new version of one written section (summary, intended uses, ...)."""
    written = write_datasheet_section(cohort, section, args.text, by=acting_as())
    return {"cohort": cohort, "section": section, "version": written.version, "text": written.text}


@blp.route("/reference-populations", methods=["GET"])
@requires(Permission.VIEW_REPRESENTATIVENESS)
@blp.response(200, ReferenceListSchema)
def references() -> dict[str, Any]:
    """The reference populations reports can compare against."""
    return {"items": [_reference_view(ref) for ref in available_references().values()]}


@blp.route("/reference-populations", methods=["POST"])
@requires(Permission.MANAGE_REPORTS)
@blp.arguments(ReferenceArgs)
@blp.response(201, ReferenceSchema)
def add_reference(args: LoadReference) -> dict[str, Any]:
    """Admins: load a reference population (a new version if the id exists), e.g. an
    ICB's catchment or an EIP caseload, as a CSV of shares in the shipped shape or of
    counts, with its kind and the cohort it is for; checked whole first."""
    loaded = load_reference(args, by=acting_as())
    return _reference_view(reference_population(loaded.reference_id))


def _reference_view(ref: Any) -> dict[str, Any]:
    return {
        "id": ref.id,
        "name": ref.name,
        "geography": ref.geography,
        "geography_code": ref.geography_code,
        "year": ref.year,
        "source": ref.source,
        "loaded": ref.loaded,
        "kind": ref.kind,
        "cohorts": list(ref.cohorts),
        "attributes": sorted(ref.shares),
    }
