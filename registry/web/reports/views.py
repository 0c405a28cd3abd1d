"""The representativeness pages for researchers and admins: each cohort against a reference
population, with charts; the printable datasheet and its downloads; and, for admins, the
datasheet's written sections and the reference populations. Thin: the figures are the
report and datasheet the API serves, and every write is the API's action.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from registry import clock
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.errors import NotFound, ValidationFailed
from registry.fields import load_or_fail
from registry.participants.reference import reference
from registry.reports.actions import load_reference, write_datasheet_section
from registry.reports.datasheet import datasheet, datasheet_markdown, report_csv
from registry.reports.queries import (
    available_references,
    comparators,
    written_sections,
)
from registry.reports.references import ReferencePopulation
from registry.reports.report import representativeness
from registry.reports.schemas import ReferenceArgs, ReportArgs, SectionArgs
from registry.web.forms import form_page
from registry.web.reports.display import comparison_charts, group_labels, page_helpers
from registry.web.reports.forms import (
    ChooseReportForm,
    ReferenceForm,
    SectionForm,
    reference_choices,
)

bp = Blueprint("reports_web", __name__, url_prefix="/reports")


bp.context_processor(page_helpers)


def _chosen_reference(cohort: str) -> tuple[ReferencePopulation, ReferencePopulation | None]:
    """The reference the address names (``?reference=``), or the cohort's default, and
    the one shown beside it; 404 if unknown."""
    given = {"reference": request.args["reference"]} if request.args.get("reference") else {}
    return comparators(cohort, load_or_fail(ReportArgs(), given).reference)


def _download(text: str, mimetype: str, filename: str) -> Response:
    return Response(
        text,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- choosing and reading a report ---------------------------------------------------------


@bp.route("/")
@requires(Permission.VIEW_REPRESENTATIVENESS)
def index() -> tuple[str, int] | BaseResponse:
    form = ChooseReportForm(request.args)
    form.reference.choices = [
        SelectChoice("", "The cohort's own comparator"),
        *reference_choices(available_references().values()),
    ]
    if request.args:  # the form was sent (an unchosen cohort sends nothing of its own)
        if form.validate():
            return redirect(
                url_for(".report", cohort=form.cohort.data, reference=form.reference.data or None)
            )
    else:
        form.reference.data = ""
    return form_page("reports/index.html", form)


@bp.route("/<cohort>")
@requires(Permission.VIEW_REPRESENTATIVENESS)
def report(cohort: str) -> str:
    primary, second = _chosen_reference(cohort)
    result = representativeness(cohort, primary, clock.today(), second=second)
    return render_template(
        "reports/report.html",
        report=result,
        charts=comparison_charts(result),
        reference_choices=reference_choices(available_references().values()),
    )


@bp.route("/<cohort>/representativeness.csv")
@requires(Permission.VIEW_REPRESENTATIVENESS)
def report_as_csv(cohort: str) -> Response:
    """The same CSV as the API's ``?format=csv``."""
    primary, second = _chosen_reference(cohort)
    result = representativeness(cohort, primary, clock.today(), second=second)
    return _download(report_csv(result), "text/csv", f"representativeness-{cohort}.csv")


# -- the datasheet --------------------------------------------------------------------------


@bp.route("/<cohort>/datasheet")
@requires(Permission.VIEW_REPRESENTATIVENESS)
def show_datasheet(cohort: str) -> str:
    """The datasheet (after STANDING Together) as a page to read or print to PDF: the
    Markdown datasheet's sections, in its order."""
    primary, second = _chosen_reference(cohort)
    sheet = datasheet(cohort, primary, second=second)
    return render_template(
        "reports/datasheet.html",
        sheet=sheet,
        report=sheet["report"],
        charts=comparison_charts(sheet["report"]),
        labels=group_labels(sheet["report"]),
    )


@bp.route("/<cohort>/datasheet.md")
@requires(Permission.VIEW_REPRESENTATIVENESS)
def datasheet_as_markdown(cohort: str) -> Response:
    primary, second = _chosen_reference(cohort)
    sheet = datasheet(cohort, primary, second=second)
    return _download(datasheet_markdown(sheet), "text/markdown", f"datasheet-{cohort}.md")


@bp.route("/<cohort>/datasheet/<section>", methods=["GET", "POST"])
@requires(Permission.MANAGE_REPORTS)
def edit_section(cohort: str, section: str) -> tuple[str, int] | BaseResponse:
    """A new version of one written section; the earlier versions are kept."""
    if cohort not in reference().cohorts:
        raise NotFound("There is no such cohort.")
    current = written_sections(cohort).get(section)
    if current is None:
        raise NotFound("The datasheet has no such section.")
    # The datasheet to return to compares with this reference (it checks the id itself).
    reference_id = request.args.get("reference") or None
    form = SectionForm(data={"text": current["text"] or ""})
    if form.validate_on_submit():
        try:
            args = load_or_fail(SectionArgs(), form.section_body())
            written = write_datasheet_section(cohort, section, args.text, by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash(f"{current['title']} saved as version {written.version}.", "info")
            return redirect(url_for(".show_datasheet", cohort=cohort, reference=reference_id))
    return form_page(
        "reports/edit_section.html",
        form,
        cohort=cohort,
        cohort_name=reference().cohorts[cohort].name,
        section=section,
        current=current,
        reference_id=reference_id,
    )


# -- reference populations (admins) ---------------------------------------------------------


@bp.route("/references", methods=["GET", "POST"])
@requires(Permission.MANAGE_REPORTS)
def references() -> tuple[str, int] | BaseResponse:
    form = ReferenceForm()
    if form.validate_on_submit():
        try:
            loaded = load_reference(
                load_or_fail(ReferenceArgs(), form.reference_body()), by=acting_as()
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash(
                f"Loaded {loaded.name} as {loaded.reference_id}, version {loaded.version}.", "info"
            )
            return redirect(url_for(".references"))
    return form_page(
        "reports/references.html", form, references=list(available_references().values())
    )
