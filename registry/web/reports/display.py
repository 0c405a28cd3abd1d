"""How the representativeness report and the datasheet read on the web pages: figures as
text, labels for stages and missing values, and each attribute's comparison chart.

Pure functions over the dicts ``representativeness`` and ``datasheet`` return, so the pages
show exactly what the API and the Markdown datasheet give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app

from registry.participants.models import NO_FURTHER_CONTACT, NO_FURTHER_DATA
from registry.reports.report import ATTRITION_ATTRIBUTES, MISSING_LABELS, attributes
from registry.reports.stats import UNCERTAIN, UNDER_REPRESENTED
from registry.web.charts import Comparison, ComparisonChart, comparison_chart, percent
from registry.web.labels import level_label

STAGE_LABELS = {
    "enrolled": "Enrolled",
    "contactable": "Contactable",
    "approached": "Approached about a study",
    "consented_to_study": "Consented to a study",
    "withdrawn_no_further_contact": f"Withdrawn ({level_label(NO_FURTHER_CONTACT)})",
    "withdrawn_no_further_data": f"Withdrawn ({level_label(NO_FURTHER_DATA)})",
}
STATUS_LABELS = {
    UNDER_REPRESENTED: "Under-represented",
    UNCERTAIN: "Uncertain",
}


def interval(bounds: Sequence[float] | None) -> str:
    """A share's 95% interval: its bounds as percentages, an en dash between."""
    return "" if bounds is None else f"{percent(bounds[0])}\N{EN DASH}{percent(bounds[1])}"


def ratio(value: float | None) -> str:
    return "\N{EM DASH}" if value is None else f"{value:.2f}"


def ratio_interval(bounds: Sequence[float] | None) -> str:
    return "" if bounds is None else f"{ratio(bounds[0])}\N{EN DASH}{ratio(bounds[1])}"


def intended_ages(intended_use: Mapping[str, int | None]) -> str:
    low, high = intended_use["min_age"], intended_use["max_age"]
    return f"{low} and over" if high is None else f"{low} to {high}"


def comparison_charts(report: Mapping[str, Any]) -> dict[str, ComparisonChart]:
    """attribute name -> its chart against the reference, for attributes the reference
    describes."""
    return {
        attribute["name"]: comparison_chart(
            [
                Comparison(
                    group=g["group"],
                    label=g["label"],
                    share=g["share"],
                    ci_low=g["share_ci"][0],
                    ci_high=g["share_ci"][1],
                    reference_share=g["reference_share"],
                    reference_to_confirm=g["reference_to_confirm"],
                    flagged=g["flagged"],
                )
                for g in attribute["groups"]
            ]
        )
        for attribute in report["attributes"]
        if attribute["has_reference"]
    }


def group_labels(report: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """attribute name -> group code -> label, missing values included (for the
    datasheet's intersections, which the report gives by code)."""
    return {
        attribute["name"]: {
            **{g["group"]: g["label"] for g in attribute["groups"]},
            **MISSING_LABELS,
        }
        for attribute in report["attributes"]
    }


def page_helpers() -> dict[str, Any]:
    """What the report and datasheet templates may call."""
    return {
        "percent": percent,
        "interval": interval,
        "ratio": ratio,
        "ratio_interval": ratio_interval,
        "intended_ages": intended_ages,
        "attribute_labels": {attribute.name: attribute.label for attribute in attributes()},
        "stage_labels": STAGE_LABELS,
        "missing_labels": MISSING_LABELS,
        "attrition_attributes": ATTRITION_ATTRIBUTES,
        "status_labels": STATUS_LABELS,
        "threshold_text": f"{current_app.config['SETTINGS'].representation_threshold:g}",
    }
