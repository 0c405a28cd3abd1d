"""``registry demo seed``: synthetic cohorts enrolled through the one enrolment path, with
clinical records whose facts add up, the same people for the same seed, nothing real."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import clock
from registry.assessments.models import Assessment, TreatmentTrial
from registry.assessments.treatment import current_definition, treatment_key
from registry.audit.actions import Actor
from registry.cli import main
from registry.db import session
from registry.demo.seed import SyntheticPerson, synthetic_people
from registry.enrolment.commands import Enrol
from registry.enrolment.schemas import EnrolmentArgs, load_enrolment
from registry.facts.derive import SCORE_COLUMNS
from registry.participants.identity import read_identity
from registry.participants.models import Participant, ParticipantFacts

COUNT = 60
SEED = 7


def invoke(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def seeded(app: Flask) -> Iterator[str]:
    code, output = invoke(
        app, "demo", "seed", "--participants", str(COUNT), "--seed", str(SEED), "--batch-size", "25"
    )
    assert code == 0, output
    with app.test_request_context():
        yield output


def test_demo_seed_enrols_both_cohorts_with_facts_and_clinical_records(seeded: str) -> None:
    db = session()
    participants = db.scalars(select(Participant)).all()
    facts = db.scalars(select(ParticipantFacts)).all()
    trial_cohorts = db.scalars(select(Participant.cohort).join(TreatmentTrial).distinct()).all()

    assert seeded.splitlines()[-1].startswith(f"seeded {COUNT} participants (")
    assert len(participants) == COUNT
    assert {f.participant_pk for f in facts} == {p.id for p in participants}
    assert {p.cohort for p in participants} == {"EP", "TRD"}
    assert db.scalars(select(func.count()).select_from(Assessment)).one() >= COUNT
    assert trial_cohorts == ["TRD"]


def test_demo_seed_facts_agree_with_the_records(seeded: str) -> None:
    db = session()
    definition = current_definition()
    starts = db.execute(select(Participant.id, Participant.episode_start))
    episode = {pk: start for pk, start in starts}
    failed_treatments: dict[int, set[tuple[str, str]]] = {}
    for trial in db.scalars(select(TreatmentTrial)):
        if definition.counts_as_failed(trial, episode[trial.participant_pk]):
            failed_treatments.setdefault(trial.participant_pk, set()).add(treatment_key(trial))
    failed = Counter({pk: len(keys) for pk, keys in failed_treatments.items()})
    latest: dict[int, dict[str, int]] = {}
    for assessment in db.scalars(
        select(Assessment).order_by(Assessment.administered_on, Assessment.id)
    ):
        latest.setdefault(assessment.participant_pk, {})[assessment.instrument] = assessment.total

    facts = db.scalars(select(ParticipantFacts)).all()

    for row in facts:
        assert row.failed_adequate_trials == failed[row.participant_pk]
        assert row.failed_trials_definition == definition.label
        for code, column in SCORE_COLUMNS.items():
            assert getattr(row, column) == latest[row.participant_pk].get(code)
    trd = [row.failed_adequate_trials for row in facts if row.cohort == "TRD"]
    assert max(trd) >= 2


def test_demo_seed_audit_chain_verifies(app: Flask, seeded: str) -> None:
    code, output = invoke(app, "audit", "verify")

    assert code == 0, output


def test_demo_seed_nhs_numbers_are_all_test_numbers(seeded: str) -> None:
    actor = Actor.command_line()
    numbers = [
        read_identity(p, by=actor, purpose="test").nhs_number
        for p in session().scalars(select(Participant))
    ]

    assert len(set(numbers)) == COUNT
    assert all(number.startswith("999") for number in numbers)


def test_demo_seed_demographics_are_the_seeds(app: Flask, seeded: str) -> None:
    people = synthetic_people(
        COUNT,
        seed=SEED,
        today=clock.today(),
        settings=app.config["SETTINGS"],
        definition=current_definition(),
    )
    expected = Counter(
        (
            e.cohort,
            e.sex,
            e.ethnicity,
            e.imd_decile,
            (e.date_of_birth.year, e.date_of_birth.month),
            e.clinical.diagnosis_icd10,
        )
        for e in (person.enrolment for person in people)
    )

    stored = Counter(
        (
            p.cohort,
            p.sex,
            p.ethnicity,
            p.imd_decile,
            (p.birth_year, p.birth_month),
            p.diagnosis_icd10,
        )
        for p in session().scalars(select(Participant))
    )

    assert stored == expected


def test_demo_seed_again_with_the_same_seed_adds_no_one(app: Flask, seeded: str) -> None:
    code, output = invoke(app, "demo", "seed", "--participants", str(COUNT), "--seed", str(SEED))

    assert code == 0
    assert output.splitlines()[-1] == (
        f"seeded 0 participants (0 assessments, 0 treatment trials); already enrolled {COUNT}"
    )


def test_demo_seed_if_empty_skips_a_registry_with_participants(app: Flask, seeded: str) -> None:
    code, output = invoke(app, "demo", "seed", "--participants", "5", "--seed", "9", "--if-empty")

    assert code == 0
    assert "demo seed skipped" in output
    assert session().scalar(select(func.count()).select_from(Participant)) == COUNT


def test_synthetic_people_same_seed_same_people_and_valid(app_ctx: None, app: Flask) -> None:
    def people(seed: int) -> list[SyntheticPerson]:
        return synthetic_people(
            COUNT,
            seed=seed,
            today=clock.today(),
            settings=app.config["SETTINGS"],
            definition=current_definition(),
        )

    first, again, other = people(SEED), people(SEED), people(SEED + 1)

    assert first == again  # demographics, assessments item by item, trials
    assert [p.enrolment for p in first] != [p.enrolment for p in other]
    # What the schema makes of each as an API body: the generator makes only valid data.
    enrolments = [person.enrolment for person in first]
    assert [load_enrolment(_as_body(e)) for e in enrolments] == enrolments


def _as_body(enrolment: Enrol) -> dict[str, Any]:
    """The enrolment as an API body: a clinical detail it has not got is left out (its
    dump says null, which the schema refuses)."""
    body: dict[str, Any] = EnrolmentArgs().dump(enrolment)
    body["clinical"] = {key: value for key, value in body["clinical"].items() if value is not None}
    return body
