"""How dates, codes and the registry's vocabularies read on every page: registered once, as
Jinja globals of the app, so every template calls them the same way (``long_date(day)``)
and no blueprint carries its own copy. What only one area's pages say stays with that area.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g
from sqlalchemy import select

from registry import clock
from registry.assessments.instruments import instrument
from registry.auth.models import Site
from registry.auth.permissions import Permission
from registry.consents.items import CONSENT_ITEM_TEXT
from registry.dates_in_words import long_date, long_month
from registry.db import session
from registry.eligibility.describe import describe
from registry.eligibility.disclosure import ROUND_TO, SMALL, THRESHOLD
from registry.participants.queries import format_nhs_number
from registry.participants.reference import reference
from registry.participants.schemas import age_on
from registry.web.labels import (
    CONSULTEE_LABELS,
    LEVELS,
    MODALITY_LABELS,
    OUTCOME_LABELS,
    REASONS,
    REQUESTERS,
    level_label,
)


def site_name(code: str | None) -> str:
    """ "Queen Elizabeth Hospital (RXT)": the site's name, with the code staff also use. The
    sites are read once a request (there are a few dozen)."""
    if not code:
        return ""
    names: dict[str, str] | None = g.get("site_names")
    if names is None:
        names = {row.code: row.name for row in session().execute(select(Site.code, Site.name))}
        g.site_names = names
    name = names.get(code)
    return f"{name} ({code})" if name else code


def at_time(value: dt.datetime | str | None) -> str:
    """An instant as "27 November 2026, 10:13:30 UTC" (audit times are ISO strings)."""
    if value is None:
        return ""
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is not None:
        instant = instant.astimezone(dt.UTC)
    return f"{instant.day} {instant:%B %Y, %H:%M:%S} UTC"


def years_old(birth: dt.date | None) -> str:
    """An age today, in whole years, as a banner says it ("36")."""
    return "" if birth is None else str(age_on(birth, clock.today()))


def short_name(code: str) -> str:
    """A rating scale's short name ("PHQ-9") for its code."""
    return instrument(code).short_name


def mark_page_has_errors() -> str:
    """Called by every error summary (templates/macros.html) as the page's content renders,
    before the layout writes the <title>: so "Error: " is one rule, not a line per page."""
    g.page_has_errors = True
    return ""


def page_has_errors() -> bool:
    return bool(g.get("page_has_errors"))


def page_globals() -> dict[str, Any]:
    """What every template may call or read."""
    return {
        "long_date": long_date,
        "long_month": long_month,
        "site_name": site_name,
        "years_old": years_old,
        "at_time": at_time,
        "short_name": short_name,
        "mark_page_has_errors": mark_page_has_errors,
        "page_has_errors": page_has_errors,
        "format_nhs_number": format_nhs_number,
        "level_label": level_label,
        "levels": LEVELS,
        "reasons": REASONS,
        "requesters": REQUESTERS,
        "consultee_labels": CONSULTEE_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "modality_labels": MODALITY_LABELS,
        "item_text": CONSENT_ITEM_TEXT,
        "reference": reference(),
        "permissions": Permission,
        # Criteria in one sentence of words, wherever a page shows them (issue #22).
        "describe_criteria": describe,
        # How a partner's figures are controlled, as the pages explain it.
        "threshold": THRESHOLD,
        "round_to": ROUND_TO,
        "small": SMALL,
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(page_globals())
