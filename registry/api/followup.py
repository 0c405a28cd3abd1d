"""The follow-up worklist: which participants' visits are due, in window and overdue."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from marshmallow import RAISE, fields, pre_load

from registry import clock
from registry.api.blueprint import RegistryBlueprint
from registry.api.schemas import PAGE_PARAMETERS, PageSchema
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.facts.followup import DueFilter, due_visit_views, due_visits
from registry.facts.schemas import DueListArgs, DueVisitSchema

blp = RegistryBlueprint("followup", __name__, description="Follow-up visits due")

DUE_PURPOSE = "follow-up worklist"


class DueQueryArgs(DueListArgs):
    """The worklist's filters; ``page`` and ``per_page`` are ``@blp.paginate``'s."""

    @pre_load
    def _leave_paging_to_paginate(self, data: Any, **kwargs: Any) -> Any:
        return {key: value for key, value in data.items() if key not in PAGE_PARAMETERS}


class DueVisitPageSchema(PageSchema):
    items = fields.List(fields.Nested(DueVisitSchema), required=True)


# Registered before the participant's own routes would not matter: Werkzeug ranks a
# static segment ("due") above a variable one, so this never reads as a participant id.
@blp.route("/participants/due", methods=["GET"])
@requires(Permission.VIEW_FOLLOW_UP)
@blp.arguments(DueQueryArgs, location="query", unknown=RAISE)
@blp.response(200, DueVisitPageSchema)
@blp.paginate()
def due(args: DueFilter, pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """Follow-up visits due (window open), in window (due date reached) and overdue
    (window closed lately, incomplete), most urgent first, with the scales still due.
    Clinicians: their own site's, with the patient banner's identifiers (each participant
    shown is audited, in one read for the page). Admins: every site's (``site`` for one),
    by registry id alone. Participants withdrawn from further data, or fully, are never
    listed."""
    user = required_user()
    today = clock.today()
    listed = due_visits(user, today=today, only=args)
    pagination_parameters.item_count = len(listed)
    first = pagination_parameters.first_item
    page = listed[first : first + pagination_parameters.page_size]
    return due_visit_views(page, user=user, by=acting_as(), purpose=DUE_PURPOSE, today=today)
