"""Response and remission in the facts row: the ratings read for them, and their columns.

``refresh_facts`` (one participant) and the bulk refresh (thousands) both read ratings with
``ratings_of`` and turn them into columns with ``outcome_columns``, so the two cannot
disagree; the rules themselves are ``registry.assessments.outcomes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from registry.assessments.models import Assessment
from registry.assessments.outcomes import Outcome, Rating, outcome_of
from registry.db import session

OUTCOME_COLUMNS = (
    "outcome_scale",
    "outcome_baseline_total",
    "outcome_baseline_on",
    "outcome_latest_total",
    "outcome_latest_on",
    "response",
    "remission",
    "outcome_definitions",
)


def ratings_of(participant_pks: Sequence[int]) -> dict[int, list[Rating]]:
    """Each participant's assessments, oldest first (then in entry order), in one query.

    Through the session, not its connection, so an assessment added but not yet flushed
    is flushed first and counted (as the ORM query this replaced did)."""
    ratings: dict[int, list[Rating]] = {pk: [] for pk in participant_pks}
    rows = session().execute(
        select(
            Assessment.participant_pk,
            Assessment.instrument,
            Assessment.administered_on,
            Assessment.total,
            Assessment.items,
        )
        .where(Assessment.participant_pk.in_(ratings), Assessment.voided_at.is_(None))
        .order_by(Assessment.administered_on, Assessment.id)
    )
    for pk, code, administered_on, total, items in rows:
        ratings[pk].append(Rating(code, administered_on, total, itemised=items is not None))
    return ratings


def latest_totals(ratings: Sequence[Rating]) -> dict[str, int]:
    """The latest total of each instrument in a series read by ``ratings_of``."""
    return {rating.instrument: rating.total for rating in ratings}


def outcome_columns(participant: Mapping[str, Any], ratings: Sequence[Rating]) -> dict[str, Any]:
    """The facts row's outcome columns for a participant given as their column values."""
    episode_start: dt.date | None = participant.get("episode_start")
    outcome: Outcome = outcome_of(
        ratings, cohort=participant.get("cohort"), episode_start=episode_start
    )
    return {
        "outcome_scale": outcome.scale,
        "outcome_baseline_total": outcome.baseline_total,
        "outcome_baseline_on": outcome.baseline_on,
        "outcome_latest_total": outcome.latest_total,
        "outcome_latest_on": outcome.latest_on,
        "response": outcome.response,
        "remission": outcome.remission,
        "outcome_definitions": outcome.definitions,
    }
