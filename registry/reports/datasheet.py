"""The datasheet for a cohort, after the STANDING Together recommendations (computed
sections plus the sections admins write), and the report as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import current_app, render_template

from registry import clock
from registry.assessments.drugs import drug_list
from registry.assessments.instruments import INSTRUMENT_CODES, instrument
from registry.assessments.outcomes import DEFINITIONS as OUTCOMES
from registry.assessments.schedule import SCHEDULE, Visit
from registry.assessments.treatment import current_definition, maudsley_source
from registry.csv_cells import defused
from registry.participants.reference import reference
from registry.reports.queries import collection, crosstab, missing_by_ethnic_group, written_sections
from registry.reports.references import ReferencePopulation
from registry.reports.report import (
    ATTRITION_ATTRIBUTES,
    MISSING_LABELS,
    STAGES,
    representativeness,
)

CUSTODIAN = "MHMTC Research Registry team"
ACCESS_ROUTE = (
    "Researchers: exact counts and pseudonymised records through the registry's API and "
    "pages, under an approved data-access grant. Industry partners: disclosure-controlled "
    "counts only (0-9 shown as <10, others to the nearest 5). Identifiable data never "
    "leaves the clinical teams."
)
INTERSECTIONS = (
    ("ethnicity_group", "sex"),
    ("ethnicity_group", "imd_quintile_iod2019"),
    ("ethnicity_group", "imd_quintile_iod2025"),
)
MISSINGNESS_BY_GROUP = (
    "sex", "gender_identity", "age_band", "imd_quintile_iod2019", "imd_quintile_iod2025"
)  # fmt: skip


def datasheet(
    cohort: str,
    ref: ReferencePopulation,
    today: dt.date | None = None,
    second: ReferencePopulation | None = None,
) -> dict[str, Any]:
    today = today or clock.today()
    report = representativeness(cohort, ref, today, second)
    sections = written_sections(cohort)
    edition = max((s["version"] for s in sections.values()), default=0)
    rule = reference().cohorts[cohort]
    return {
        "cohort": cohort,
        "cohort_name": rule.name,
        "today": today,
        "identity": {
            "name": f"MHMTC Research Registry: {rule.name} ({cohort}) cohort",
            "version": f"{today.isoformat()}.{edition}",
            "date": today,
            "custodian": CUSTODIAN,
            "access_route": ACCESS_ROUTE,
        },
        "selection_rule": rule.source,
        "definitions": clinical_definitions(cohort),
        "attrition_attributes": ATTRITION_ATTRIBUTES,
        "report": report,
        "sections": sections,
        "collection": collection(cohort),
        "intersections": [_intersection(cohort, rows, cols, today) for rows, cols in INTERSECTIONS],
        "missing_by_group": missing_by_ethnic_group(cohort, MISSINGNESS_BY_GROUP, today),
        "follow_up": follow_up(cohort, report),
        "flagged": [
            {
                "attribute": a["label"],
                "group": g["label"],
                "ratio": g["ratio"],
                "ratio_ci": g["ratio_ci"],
                "status": g["status"],
            }
            for a in report["attributes"]
            for g in a["groups"]
            if g["flagged"]
        ],
        # Each comparator's published figures, with their sources and confirm marks.
        "weights": {
            r.id: [
                {
                    "attribute": w.attribute,
                    "group": w.group,
                    "ratio": w.ratio,
                    "source": w.source,
                    "confirm": w.confirm,
                    "note": w.note,
                }
                for w in r.weights
            ]
            for r in (ref, second)
            if r is not None and r.weights
        },
    }


def clinical_definitions(cohort: str) -> list[dict[str, str]]:
    """Each definition a figure about this cohort rests on, as configured now, with its
    source: the diagnostic set's protocol choices, the scales, and for TRD the treatment
    history's rules and response and remission."""
    settings = current_app.config["SETTINGS"]
    rule = reference().cohorts[cohort]
    choices = "; ".join(
        f"{name.replace('_', ' ')} ({', '.join(o.prefixes)}): "
        f"{'included' if getattr(settings, o.setting) else 'excluded'}"
        for name, o in rule.optional.items()
    )
    found = [
        {
            "name": "Diagnostic set",
            "text": f"ICD-10 codes starting {', '.join(rule.diagnosis_prefixes)}"
            + (f". Protocol choices: {choices}" if choices else ""),
            "source": rule.source,
        }
    ]
    found += [
        {
            "name": f"{scale.short_name} ({scale.name})",
            "text": f"Scale version {scale.version}; totals {scale.total_min} to "
            f"{scale.total_max}" + ("; item scores not stored" if not scale.items_storable else ""),
            "source": " ".join(scale.source.split()),
        }
        for scale in map(instrument, INSTRUMENT_CODES)
    ]
    if cohort != "TRD":
        return found
    definition = current_definition()
    drugs = drug_list()
    found += [
        {
            "name": "Failed adequate treatments",
            "text": f"{definition.label}: {' '.join(definition.description.split())}",
            "source": " ".join(definition.source.split()),
        },
        {
            "name": "Drug list",
            "text": f"Version {drugs.version}",
            "source": drugs.source,
        },
        {
            "name": "Maudsley Staging Method",
            "text": "Staged from the recorded history at the latest depression rating",
            "source": maudsley_source(),
        },
        {
            "name": "Response",
            "text": f"Definitions version {OUTCOMES.version}: the latest total at least "
            f"{OUTCOMES.reduction_percent}% below baseline",
            "source": " ".join(OUTCOMES.response_source.split()),
        },
    ]
    found += [
        {
            "name": f"Remission on {instrument(scale.code).short_name}",
            "text": f"Latest total at most {scale.remission_at_most}"
            + (" (to confirm)" if scale.confirm else ""),
            "source": " ".join(scale.source.split()),
        }
        for scale in OUTCOMES.scales
    ]
    return found


# The report's retention figures the datasheet repeats, for the cohort and for a group.
_FIGURES = ("eligible", "complete", "partial", "rate", "rate_ci")


def follow_up(cohort: str, report: dict[str, Any]) -> dict[str, Any]:
    """The follow-up schedule in words beside the report's retention at each visit, and
    every group the report marks as retained worse than the cohort at a visit (its own
    figures and its own rule: the group's 95% interval wholly below the cohort's rate)."""
    protocol = SCHEDULE.protocol(cohort)
    retention = {v["visit"]: v for v in report["retention"]["visits"]}
    visits = [
        {
            "visit": visit.visit,
            "label": visit.label,
            "when": _when(visit),
            "window": _window(visit),
            "scales": [instrument(code).short_name for code in visit.scales],
            "source": visit.source,
            "to_confirm": visit.confirm,
            **{key: retention[visit.visit][key] for key in _FIGURES},
        }
        for visit in protocol.visits
    ]
    lower = [
        {
            "attribute": attribute["name"],
            "attribute_label": attribute["label"],
            "group": group,
            "label": label,
            "visit": visit["visit"],
            "visit_label": visit["label"],
            **{key: by_visit[visit["visit"]][key] for key in _FIGURES},
            "cohort_rate": visit["rate"],
        }
        for attribute in report["attributes"]
        if attribute["name"] in ATTRITION_ATTRIBUTES
        for group, label, by_visit in _retention_rows(attribute)
        for visit in visits
        if by_visit[visit["visit"]]["lower"]
    ]
    return {
        "schedule": report["retention"]["schedule"],
        "source": " ".join(protocol.source.split()),
        "visits": visits,
        "any_due": any(v["eligible"] for v in visits),
        "lower": lower,
    }


def _retention_rows(attribute: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, label, retention by visit) for each group and each kind of missing value,
    as the report's retention tables list them."""
    return [
        *((g["group"], g["label"], g["retention"]) for g in attribute["groups"]),
        *((kind, MISSING_LABELS[kind], m["retention"]) for kind, m in attribute["missing"].items()),
    ]


def _when(visit: Visit) -> str:
    due = visit.due.in_words()
    return f"{due} after enrolment" if due else "At enrolment"


def _window(visit: Visit) -> str:
    before, after = visit.before.in_words(), visit.after.in_words()
    if before == after:
        return f"{before} either side of the due date" if before else "the due date only"
    start = f"{before} before the due date" if before else "the due date"
    return f"from {start} to {after + ' after' if after else 'the due date'}"


def _intersection(cohort: str, rows: str, columns: str, today: dt.date) -> dict[str, Any]:
    table = crosstab(cohort, rows, columns, today)
    values = sorted({value for row in table.values() for value in row})
    return {"rows": rows, "columns": columns, "column_values": values, "table": table}


def datasheet_markdown(sheet: dict[str, Any]) -> str:
    return render_template("reports/datasheet.md", **sheet)


_RETENTION_CELLS = ("eligible", "complete", "partial", "retention", "retention_ci_low",
                    "retention_ci_high", "lower_retention")  # fmt: skip


def _retention_header(report: dict[str, Any]) -> list[str]:
    """Per follow-up visit: who was due it (window closed by the report date), who completed
    it, partly, the retention and its interval, and whether it is lower than the cohort's."""
    return [
        f"{v['visit']}_{cell}" for v in report["retention"]["visits"] for cell in _RETENTION_CELLS
    ]


def _retention_cells(report: dict[str, Any], group: dict[str, Any]) -> list[Any]:
    """A group's retention cells: blank for attributes the attrition section leaves out."""
    cells: list[Any] = []
    for visit in report["retention"]["visits"]:
        figures = group.get("retention", {}).get(visit["visit"])
        if figures is None:
            cells += [None] * len(_RETENTION_CELLS)
            continue
        ci = figures["rate_ci"] or [None, None]
        counts = [figures["eligible"], figures["complete"], figures["partial"]]
        cells += [*counts, _round(figures["rate"]), _round(ci[0]), _round(ci[1]), figures["lower"]]
    return cells


def report_csv(report: dict[str, Any]) -> str:
    """One row per attribute and group (missing values included), every stage's count,
    and the representation figures; text cells a spreadsheet would run as formulas get a
    leading apostrophe (``registry.csv_cells``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    second_ref = report.get("second_reference")
    writer.writerow(
        ["cohort", "reference", "attribute", "group", "label", *STAGES, "share", "share_ci_low",
         "share_ci_high", "reference_share", "reference_to_confirm", "ratio", "ratio_ci_low",
         "ratio_ci_high", "flagged", "status", "second_reference", "second_reference_share",
         "second_reference_to_confirm", "second_ratio", "second_ratio_ci_low",
         "second_ratio_ci_high", "second_status", *_retention_header(report)]
    )  # fmt: skip
    for attribute in report["attributes"]:
        for group in attribute["groups"]:
            ratio_ci = group["ratio_ci"] or [None, None]
            second = group.get("second") or {}
            writer.writerow(
                defused(
                    [report["cohort"], report["reference"]["id"], attribute["name"],
                     group["group"], group["label"], *group["counts"].values(),
                     _round(group["share"]), *map(_round, group["share_ci"]),
                     _round(group["reference_share"]), group["reference_to_confirm"],
                     _round(group["ratio"]), *map(_round, ratio_ci), group["flagged"],
                     group.get("status"), second_ref["id"] if second_ref else None,
                     _round(second.get("reference_share")),
                     second.get("reference_to_confirm", False), _round(second.get("ratio")),
                     *map(_round, second.get("ratio_ci") or [None, None]),
                     second.get("status"), *_retention_cells(report, group)]
                )
            )  # fmt: skip
        for kind, missing in attribute["missing"].items():
            writer.writerow(
                defused(
                    [report["cohort"], report["reference"]["id"], attribute["name"], kind,
                     kind.replace("_", " "), *missing["by_stage"].values(),
                     _round(missing["share"]), *map(_round, missing["share_ci"]),
                     None, False, None, None, None, False, None,
                     second_ref["id"] if second_ref else None, None, False, None, None, None,
                     None, *_retention_cells(report, missing)]
                )
            )  # fmt: skip
    return out.getvalue()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
