"""An independent eligibility evaluator in plain Python, and a seeded database to check the
compiler against. Written from the criteria language's description, sharing nothing with
``registry.eligibility.compiler``: if both agree on a seeded cohort, both read it alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from registry import clock
from registry.audit.actions import Actor
from registry.auth.models import Site
from registry.consents.actions import withdraw_participant
from registry.consents.commands import Withdraw
from registry.db import session
from registry.demo.seed import seed_demo
from registry.participants.models import (
    NO_FURTHER_CONTACT,
    NO_FURTHER_DATA,
    Participant,
    ParticipantFacts,
)
from tests.conftest import isolated_app

Row = dict[str, Any]

# Fields whose (nullable) column is blanked for some participants, so NULL semantics are
# exercised on fields the demo seed always fills.
BLANKED_COLUMNS = (
    "sex",
    "gender_identity",
    "ethnicity",
    "ethnicity_group",
    "postcode_district",
    "diagnosis_icd10",
    "birth_month_start",
    "enrolled_on",
)
BLANK_EVERY = 13  # participant_pk % 13 == 0 loses those values
WITHDRAWN = 12  # participants withdrawn (no further contact / no further data)


@dataclass
class SeededRegistry:
    app: Flask
    rows: list[Row]  # each facts row, plus "site_code"
    today: dt.date


@contextmanager
def seeded_registry(tmp_path: Path, *, participants: int, seed: int) -> Iterator[SeededRegistry]:
    """A registry of its own with a synthetic cohort, some withdrawn, some values unknown."""
    with isolated_app(tmp_path) as (app, _url), app.test_request_context():
        actor = Actor.command_line()
        seed_demo(participants, seed=seed, by=actor, batch_size=200)
        db = session()
        for index, participant in enumerate(
            db.scalars(select(Participant).order_by(Participant.id).limit(WITHDRAWN))
        ):
            withdrawal = Withdraw(
                level=NO_FURTHER_CONTACT if index % 2 else NO_FURTHER_DATA,
                reason_code="participant_request",
                reason=None,
                requested_by="participant",
                consultee_type=None,
            )
            withdraw_participant(participant, withdrawal, by=actor)
        db.execute(
            update(ParticipantFacts)
            .where(ParticipantFacts.participant_pk % BLANK_EVERY == 0)
            .values(dict.fromkeys(BLANKED_COLUMNS))
        )
        db.commit()
        sites = {site_id: code for site_id, code in db.execute(select(Site.id, Site.code))}
        rows = [
            {**row, "site_code": sites[row["site_id"]]}
            for row in db.execute(select(ParticipantFacts.__table__)).mappings()
        ]
        yield SeededRegistry(app=app, rows=rows, today=clock.today())


# -- the evaluator -----------------------------------------------------------------------


def whole_years(start: dt.date, today: dt.date) -> int:
    return today.year - start.year - ((today.month, today.day) < (start.month, start.day))


def whole_months(start: dt.date, today: dt.date) -> int:
    return (today.year - start.year) * 12 + today.month - start.month - (today.day < start.day)


def field_value(row: Row, name: str, today: dt.date) -> Any:
    if name == "site":
        return row["site_code"]
    if name == "age":
        return (
            None
            if row["birth_month_start"] is None
            else whole_years(row["birth_month_start"], today)
        )
    if name == "months_since_onset":
        onset = row["psychosis_onset"]
        return None if onset is None else whole_months(onset, today)
    if name == "episode_months":
        start = row["episode_start"]
        return None if start is None else whole_months(start, today)
    if name.startswith("latest_score."):
        return row["score_" + name.removeprefix("latest_score.").lower()]
    if name.startswith("consent."):
        return row["consent_" + name.removeprefix("consent.")]
    if name == "maudsley_staging_score":
        return row["msm_score"]
    if name.startswith("followup."):
        return row["followup_" + name.removeprefix("followup.")]
    return row[name]


def _as_python(name: str, value: Any) -> Any:
    if name == "enrolled_on" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, list):
        return [_as_python(name, item) for item in value]
    return value


def clause_holds(row: Row, clause: Mapping[str, Any], today: dt.date) -> bool:
    name, op = clause["field"], clause["op"]
    actual = field_value(row, name, today)
    if op == "exists":
        return actual is not None
    if actual is None:  # unknown: every comparison is false, != and not_in too
        return False
    wanted = _as_python(name, clause["value"])
    match op:
        case "=":
            return bool(actual == wanted)
        case "!=":
            return bool(actual != wanted)
        case "<":
            return bool(actual < wanted)
        case "<=":
            return bool(actual <= wanted)
        case ">":
            return bool(actual > wanted)
        case ">=":
            return bool(actual >= wanted)
        case "between":
            return bool(wanted[0] <= actual <= wanted[1])
        case "in":
            return actual in wanted
        case "not_in":
            return actual not in wanted
        case "startswith":
            return str(actual).startswith(wanted)
    raise AssertionError(op)


def node_holds(row: Row, node: Mapping[str, Any], today: dt.date) -> bool:
    if "field" in node:
        return clause_holds(row, node, today)
    return groups_hold(row, node, today)


def groups_hold(row: Row, document: Mapping[str, Any], today: dt.date) -> bool:
    holds = True
    if "all" in document:
        holds = holds and all(node_holds(row, n, today) for n in document["all"])
    if "any" in document:
        holds = holds and any(node_holds(row, n, today) for n in document["any"])
    if "none" in document:
        holds = holds and not any(node_holds(row, n, today) for n in document["none"])
    return holds


def eligible(row: Row, document: Mapping[str, Any], *, audience: str, today: dt.date) -> bool:
    if not row["contactable"]:
        return False
    if audience == "partner" and not row["consent_commercial_partners"]:
        return False
    if document.get("cohort") is not None and row["cohort"] != document["cohort"]:
        return False
    return groups_hold(row, document, today)


def reference_count(
    rows: list[Row], document: Mapping[str, Any], *, audience: str, today: dt.date
) -> int:
    return sum(eligible(row, document, audience=audience, today=today) for row in rows)
