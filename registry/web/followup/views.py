"""The site's follow-up worklist: who is due a visit, in its window or overdue, with the
scales still to record and a link to record each (thin: the rules live in
``registry.assessments.schedule`` and ``registry.facts.followup``, which the API uses too).

Filters are query parameters (a status, cohort, visit, and for admins a site): none of them
identifies anyone.
"""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request
from sqlalchemy import select

from registry import clock
from registry.assessments.schedule import (
    DUE,
    IN_WINDOW,
    OVERDUE,
    SCHEDULE,
    WORKLIST_STATUSES,
)
from registry.auth.models import Site
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.db import session
from registry.facts.followup import due_visit_views, due_visits
from registry.facts.schemas import DueListArgs
from registry.participants.models import COHORTS
from registry.participants.queries import identifiable_to
from registry.participants.reference import reference
from registry.web.forms import page_and_filters
from registry.web.labels import choices

bp = Blueprint("followup_web", __name__, url_prefix="/participants")

PER_PAGE = 25
DUE_PURPOSE = "follow-up worklist"  # why identifiers were decrypted, for the audit log
STATUS_LABELS = {
    DUE: "Due (window open)",
    IN_WINDOW: "In window (due date passed)",
    OVERDUE: "Overdue (window closed)",
}
_FILTERS = ("status", "cohort", "visit", "site")


# Werkzeug ranks the static "/participants/due" above "/participants/<participant_id>",
# whichever blueprint registers first, so "due" is never read as a participant id.
@bp.route("/due")
@requires(Permission.VIEW_FOLLOW_UP)
def due() -> str:
    user = required_user()
    page, only = page_and_filters(DueListArgs(), _FILTERS)
    today = clock.today()
    listed = due_visits(user, today=today, only=only)
    first = (page - 1) * PER_PAGE
    rows = due_visit_views(
        listed[first : first + PER_PAGE],
        user=user,
        by=acting_as(),
        purpose=DUE_PURPOSE,
        today=today,
    )
    identifiable = identifiable_to(user)
    return render_template(
        "followup/due.html",
        rows=rows,
        total=len(listed),
        page=page,
        pages=max(1, math.ceil(len(listed) / PER_PAGE)),
        filters={name: request.args.get(name) or None for name in _FILTERS},
        identifiable=identifiable,
        today=today,
        status_labels=STATUS_LABELS,
        status_choices=choices(STATUS_LABELS, WORKLIST_STATUSES),
        cohort_choices={c: reference().cohorts[c].name for c in COHORTS},
        visit_choices={key: SCHEDULE.label(key) for key in SCHEDULE.visit_keys()},
        site_choices={}
        if identifiable
        else {site.code: site.name for site in session().scalars(select(Site).order_by(Site.code))},
        site_name=user.site.name if user.site else None,
        overdue_text=SCHEDULE.overdue_listed_for.in_words(),
    )
