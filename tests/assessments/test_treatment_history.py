"""The treatment history (issue #19): distinct failed adequate treatments under EU-PEARL as
the registry reads it, the Maudsley Staging Method, and the trial body clients already send.

The worked cases follow the situations the EU-PEARL consensus (Sforzini et al., Mol
Psychiatry 2022) rules on: a drug tried twice, a trial stopped at week 3 for side effects, an
augmentation, adherence that was not adequate, a trial before the current episode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.assessments.drugs import drug_list, find_drug, suggestions
from registry.assessments.treatment import (
    TrialDefinition,
    definitions,
    maudsley,
)
from registry.db import session
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import ApiUser, enrol

EPISODE = dt.date(2025, 6, 1)
EU_PEARL = definitions()["eu-pearl-2022"]
OPERATIONAL = definitions()["operational-6-weeks"]


@dataclass(frozen=True)
class T:
    """A trial as the rules read it; by default one EU-PEARL counts as failed."""

    drug: str | None = "sertraline"
    modality: str = "antidepressant"
    started_on: dt.date = dt.date(2025, 7, 1)
    adequate_dose: bool = True
    weeks: int = 8
    outcome: str = "non_response"
    adherence: str = "adequate"
    response_percent: int | None = None


@dataclass(frozen=True)
class R:
    instrument: str
    administered_on: dt.date
    band: str


def failed(trials: list[T], definition: TrialDefinition = EU_PEARL) -> int:
    return definition.failed_treatments(trials, EPISODE)


# -- EU-PEARL, worked cases -------------------------------------------------------------------


def test_two_different_antidepressants_that_failed_are_two() -> None:
    assert failed([T("sertraline"), T("venlafaxine", started_on=dt.date(2025, 10, 1))]) == 2


def test_the_same_drug_tried_twice_is_one_failed_treatment() -> None:
    again = T("sertraline", started_on=dt.date(2026, 1, 1), weeks=10)
    assert failed([T("sertraline"), again]) == 1
    assert failed([T("sertraline"), again, T("mirtazapine")]) == 2


@pytest.mark.parametrize("outcome", ["intolerance", "non_response"])
def test_stopping_at_week_3_is_not_a_failure(outcome: str) -> None:
    assert failed([T("citalopram", weeks=3, outcome=outcome)]) == 0
    assert failed([T("citalopram", weeks=4, outcome=outcome)]) == int(outcome == "non_response")


def test_an_augmentation_is_a_treatment_of_its_own() -> None:
    """Adding lithium to sertraline after sertraline alone failed: two treatments."""
    alone = T("sertraline")
    augmented = T("lithium", modality="augmentation", started_on=dt.date(2025, 10, 1))
    combined = T("mirtazapine", modality="combination", started_on=dt.date(2026, 1, 1))
    assert failed([alone, augmented]) == 2
    assert failed([alone, augmented, combined]) == 3
    # Lithium added again is the same augmentation.
    assert failed([alone, augmented, T("lithium", modality="augmentation")]) == 2


@pytest.mark.parametrize(
    ("adherence", "counted"), [("adequate", 1), ("unknown", 1), ("partial", 0), ("poor", 0)]
)
def test_adherence_that_was_not_adequate_is_no_failure(adherence: str, counted: int) -> None:
    assert failed([T(adherence=adherence)]) == counted


def test_a_trial_before_the_current_episode_is_not_counted() -> None:
    assert failed([T(started_on=dt.date(2025, 5, 1)), T("venlafaxine")]) == 1


def test_non_drug_treatments_are_recorded_not_counted() -> None:
    ect = T(None, modality="ect", weeks=6)
    therapy = T(None, modality="psychological_therapy", weeks=16)
    assert failed([ect, therapy]) == 0


def test_an_improvement_percentage_decides_over_the_category() -> None:
    # 20% better is non-response under EU-PEARL (<25%) whatever the category said.
    assert failed([T(outcome="partial_response", response_percent=20)]) == 1
    assert failed([T(outcome="non_response", response_percent=30)]) == 0
    # The operational rule: less than 50% after 6 weeks.
    assert failed([T(outcome="response", response_percent=40)], OPERATIONAL) == 1
    assert failed([T(weeks=5)], OPERATIONAL) == 0


def test_each_count_names_its_definition_and_version() -> None:
    assert EU_PEARL.label == "eu-pearl-2022@2"
    assert OPERATIONAL.label == "operational-6-weeks@2"


def test_the_six_week_rule_is_not_attributed_to_the_ema() -> None:
    """The EMA 2013 guideline sets no "6 weeks, <50%" thresholds."""
    assert OPERATIONAL.source.startswith("The registry's operational definition")
    assert "not from the EMA" in OPERATIONAL.source
    assert "Sforzini" in EU_PEARL.source


# -- the Maudsley Staging Method ------------------------------------------------------------


def drugs(n: int, **kwargs: Any) -> list[T]:
    return [T(f"drug{i}", **kwargs) for i in range(n)]


RATED = [R("MADRS", dt.date(2025, 12, 1), "moderate")]  # 6 months into the episode


@pytest.mark.parametrize(
    ("failures", "points"),
    [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (10, 4), (11, 5)],
)
def test_maudsley_failures_component(failures: int, points: int) -> None:
    staging = maudsley(drugs(failures), EPISODE, RATED, EU_PEARL)
    # duration 1 (6 months) + severity 3 (moderate)
    assert staging.score == points + 1 + 3


def test_maudsley_augmentation_and_ect_each_add_one() -> None:
    base = drugs(2)
    lithium = T("lithium", modality="augmentation", outcome="response")
    ect = T(None, modality="ect", outcome="response")
    assert maudsley(base, EPISODE, RATED, EU_PEARL).score == 5
    assert maudsley([*base, lithium], EPISODE, RATED, EU_PEARL).score == 6
    assert maudsley([*base, lithium, ect], EPISODE, RATED, EU_PEARL).score == 7


@pytest.mark.parametrize(
    ("rated_on", "points"),
    [
        (dt.date(2026, 6, 1), 1),  # 12 months
        (dt.date(2026, 7, 1), 2),  # 13 months
        (dt.date(2027, 6, 1), 2),  # 24 months
        (dt.date(2027, 7, 1), 3),  # 25 months
    ],
)
def test_maudsley_duration_is_counted_to_the_latest_rating(rated_on: dt.date, points: int) -> None:
    staging = maudsley(drugs(1), EPISODE, [R("PHQ9", rated_on, "moderate")], EU_PEARL)
    assert staging.score == 1 + points + 3


@pytest.mark.parametrize(
    ("instrument", "band", "points"),
    [
        ("PHQ9", "minimal", 1),
        ("PHQ9", "mild", 2),
        ("PHQ9", "moderate", 3),
        ("PHQ9", "moderately severe", 3),
        ("MADRS", "severe", 4),
        ("HAMD17", "none", 1),
        ("QIDS_SR16", "very severe", 4),
    ],
)
def test_maudsley_severity_from_the_scale_band(instrument: str, band: str, points: int) -> None:
    staging = maudsley(drugs(1), EPISODE, [R(instrument, dt.date(2025, 12, 1), band)], EU_PEARL)
    assert staging.score == 1 + 1 + points


def test_maudsley_worked_total_and_band() -> None:
    """3 failed antidepressants (2), lithium augmentation (1), ECT (1), 18 months (2),
    severe on the MADRS (4): 10, moderate; psychosis is not recorded, and the note says so."""
    history = [
        *drugs(3),
        T("lithium", modality="augmentation", outcome="partial_response"),
        T(None, modality="ect", outcome="response"),
    ]
    ratings = [
        R("PHQ9", dt.date(2026, 1, 1), "mild"),
        R("MADRS", dt.date(2026, 12, 1), "severe"),
    ]
    staging = maudsley(history, EPISODE, ratings, EU_PEARL)
    assert (staging.score, staging.band) == (10, "moderate")
    assert "psychotic features are not recorded" in staging.note
    assert "December 2026" in staging.note


@pytest.mark.parametrize(
    ("trials", "episode", "ratings", "reason"),
    [
        ([T(outcome="response")], EPISODE, RATED, "no failed antidepressant treatment"),
        (drugs(2), None, RATED, "episode's start is not recorded"),
        (drugs(2), EPISODE, [R("GAD7", dt.date(2025, 12, 1), "severe")], "no depression rating"),
    ],
)
def test_maudsley_is_not_staged_without_a_component(
    trials: list[T], episode: dt.date | None, ratings: list[R], reason: str
) -> None:
    staging = maudsley(trials, episode, ratings, EU_PEARL)
    assert staging.score is None
    assert reason in staging.note


# -- the coded drug list ---------------------------------------------------------------------


def test_drug_names_synonyms_brands_and_codes_match() -> None:
    sertraline = find_drug("sertraline")
    assert sertraline is not None and sertraline.vtm == "777521008"
    assert sertraline.drug_class.bnf == "4.3.3"
    for spelling in ("  SERTRALINE ", "Lustral", "777521008"):
        assert find_drug(spelling) is sertraline
    assert find_drug("dothiepin") is find_drug("dosulepin")
    assert find_drug("priadel") is find_drug("lithium")
    assert suggestions("sertaline") == ["sertraline"]
    assert drug_list().version


def test_every_uncoded_drug_is_flagged_to_confirm() -> None:
    """An empty code is allowed only where the data file says it is to confirm."""
    import tomllib
    from importlib import resources

    text = resources.files("registry.assessments").joinpath("data/drugs.toml").read_text()
    for drug in tomllib.loads(text)["drugs"]:
        assert drug["vtm"] or drug.get("confirm") is True, drug["name"]


# -- through the API ---------------------------------------------------------------------------

URL = "/api/v1/participants"
OLD_BODY = {
    "drug": "sertraline",
    "started_on": "2025-07",
    "adequate_dose": True,
    "weeks": 8,
    "outcome": "non_response",
}


@pytest.fixture
def trd(client: FlaskClient, clinician: ApiUser, consent_forms: None) -> str:
    return enrol(client, clinician, "TRD")


def post(client: FlaskClient, user: ApiUser, participant_id: str, **body: Any) -> Any:
    return client.post(f"{URL}/{participant_id}/treatment-trials", json=body, headers=user.headers)


def test_the_old_body_is_accepted_with_the_documented_defaults(
    client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    response = post(client, clinician, trd, **OLD_BODY)

    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert recorded["drug"] == "sertraline"
    assert recorded["drug_code"] == "777521008"
    assert recorded["drug_class"] == "BNF 4.3.3 Selective serotonin re-uptake inhibitors"
    assert (recorded["modality"], recorded["adherence"]) == ("antidepressant", "unknown")
    assert recorded["ended_on"] is None and recorded["not_recovered"] is None
    assert (recorded["counts_as_failed"], recorded["failed_adequate_trials"]) == (True, 1)
    assert recorded["failed_trials_definition"] == "eu-pearl-2022@2"


def test_a_brand_name_is_stored_as_its_drug(
    client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    recorded = post(client, clinician, trd, **{**OLD_BODY, "drug": "Lustral"}).get_json()
    assert (recorded["drug"], recorded["drug_code"]) == ("sertraline", "777521008")


def test_an_unknown_drug_is_refused_with_the_closest_names(
    app: Flask, client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    response = post(client, clinician, trd, **{**OLD_BODY, "drug": "sertaline"})

    assert response.status_code == 422
    (message,) = response.get_json()["error"]["fields"]["drug"]
    assert "Did you mean sertraline?" in message
    assert "sertaline" not in message  # what was typed is not echoed


def test_a_repeated_drug_counts_once(client: FlaskClient, clinician: ApiUser, trd: str) -> None:
    post(client, clinician, trd, **OLD_BODY)
    again = post(client, clinician, trd, **{**OLD_BODY, "started_on": "2025-11"}).get_json()

    assert again["counts_as_failed"] is True
    assert again["failed_adequate_trials"] == 1


def test_the_full_history_is_recorded_and_listed(
    client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    body = {
        **OLD_BODY,
        "drug": "lithium carbonate",
        "modality": "augmentation",
        "dose": 800,
        "dose_unit": "mg",
        "ended_on": "2025-10",
        "adherence": "adequate",
        "response_percent": 15,
        "stop_reason": "ineffective",
    }
    recorded = post(client, clinician, trd, **body)
    ect = post(
        client,
        clinician,
        trd,
        modality="ect",
        started_on="2025-11",
        adequate_dose=True,
        weeks=4,
        outcome="response",
        dose=12,
        dose_unit="sessions",
    )
    listed = client.get(f"{URL}/{trd}/treatment-trials", headers=clinician.headers)

    assert recorded.status_code == 201, recorded.get_json()
    assert ect.status_code == 201, ect.get_json()
    assert ect.get_json()["failed_adequate_trials"] == 1  # ECT is not counted
    first, second = listed.get_json()
    assert (first["drug"], first["modality"], first["dose"], first["dose_unit"]) == (
        "lithium",
        "augmentation",
        800,
        "mg",
    )
    assert (first["ended_on"], first["response_percent"], first["stop_reason"]) == (
        "2025-10",
        15,
        "ineffective",
    )
    assert (second["modality"], second["drug"]) == ("ect", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"modality": "ect"}, "drug"),  # ECT takes no drug
        ({"drug": None}, "drug"),
        ({"ended_on": "2025-06"}, "ended_on"),  # before it started
        ({"dose": 100}, "dose_unit"),
        ({"adherence": "good"}, "adherence"),
        ({"modality": "ketamine"}, "modality"),
        ({"response_percent": 150}, "response_percent"),
        ({"stop_reason": "felt better, moved away"}, "stop_reason"),
    ],
)
def test_a_bad_trial_is_refused_at_its_field(
    client: FlaskClient, clinician: ApiUser, trd: str, body: dict[str, Any], field: str
) -> None:
    response = post(client, clinician, trd, **{**OLD_BODY, **body})

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"].get(field)


def test_a_drug_modality_without_a_drug_is_refused(
    client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    body = {k: v for k, v in OLD_BODY.items() if k != "drug"}
    response = post(client, clinician, trd, **body)

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["drug"] == ["Give the drug."]


def test_the_maudsley_score_is_in_the_facts_row(
    app: Flask, client: FlaskClient, clinician: ApiUser, trd: str
) -> None:
    assessed = client.post(
        f"{URL}/{trd}/assessments",
        json={"instrument": "PHQ9", "administered_on": "2026-01-15", "total": 22},
        headers=clinician.headers,
    )
    assert assessed.status_code == 201
    post(client, clinician, trd, **OLD_BODY)
    last = post(client, clinician, trd, **{**OLD_BODY, "drug": "venlafaxine"}).get_json()

    # 2 failures (1), no augmentation or ECT, June 2025 to January 2026 (1), PHQ-9 severe (4)
    assert last["maudsley_staging_score"] == 6
    with app.app_context():
        db = session()
        pk = db.scalar(select(Participant.id).where(Participant.participant_id == trd))
        facts = db.get(ParticipantFacts, pk)
        assert facts is not None
        assert (facts.msm_score, facts.failed_adequate_trials) == (6, 2)
    assert "PHQ9 of January 2026" in last["maudsley_staging_note"]
